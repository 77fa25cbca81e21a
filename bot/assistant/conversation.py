"""The owner's assistant, channel-neutral: an inbound message in, replies out.

`handle_message` runs inside the caller's unit of work. What a stranger can make costly is bounded before any
of it: a message longer than MAX_MESSAGE_CHARS is refused unread, a chat over its rate is told once and then
ignored, and the line is parsed before the transaction's first statement. Charts and spreadsheets are drawn
after the caller commits (`render=False`, then `messages.rendered`), so no write lock waits on them.
Everything it remembers between messages (the linked businesses, the business being worked on, an
invoice half-typed) lives in the database, so any server process can take any message and a restart
loses nothing. Every command checks the chat's link and role, and every
query below is filtered by the business the chat is linked to: a chat can never reach another's data.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import date, datetime, time
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from bot.assistant import followup, requests, verifying, wording
from bot.assistant import sources as _sources  # noqa: F401 - registers the payment.conflict renderer
from bot.assistant.catalogue import N_, Lang, kes, lang_of, month, ntr, tr
from bot.assistant.daraja_checks import pull_lines
from bot.assistant.grammar import (
    HELP_TEXT,
    Chat,
    ChooseBusiness,
    CreateInvoice,
    CustomerLookup,
    Export,
    Help,
    ListInvoices,
    Match,
    Settings,
    Start,
    Summary,
    Undo,
    Unmatched,
)
from bot.assistant.intents import Reconcile, RecordPayment, RequestPayment, SetLanguage, VerifyReceipt, to_command
from bot.assistant.limits import ChatRateLimit, Verdict
from bot.assistant.messages import Choice, Document, InboundMessage, Reply, rendered
from bot.assistant.questions import question
from bot.assistant.reading import Reading
from bot.assistant.summaries import GO_THROUGH, SCHEDULE_KEYS, scheduled_time, set_scheduled_time, summary_reply
from bot.assistant.understanding import read_message
from bot.bookkeeping import actions, exports, manual
from bot.bookkeeping.invoices import create_customer, create_invoice, find_customers
from bot.bookkeeping.payments import match_settings, set_unpinned_practice
from bot.ledger.chat_input import InputError, plain_number, read_amount, read_date
from bot.ledger.money import format_kes
from bot.ledger.summaries import Period, period_bounds
from bot.storage.businesses import business_language, set_business_language
from bot.storage.chats import (
    LinkedBusiness,
    chat_state,
    first_time_seen,
    linked_businesses,
    pending_of,
    redeem_link_code,
    set_pending,
)
from bot.storage.customers import customer_balances, customer_credit
from bot.storage.db import Session
from bot.storage.decisions import decision_of
from bot.storage.invoices import invoice_lines
from bot.storage.payments import payment_of, payments_needing_owner
from bot.storage.tables import BusinessRow, ChatStateRow, CustomerRow

OWNER_ONLY = (Undo, Match, Export, Settings)  # staff record the cash they take and may /request
MAX_MESSAGE_CHARS = 2000  # every command fits in a tenth of this; the parse never sees more
TOO_LONG = Reply(f"That message is too long for me. Send one command at a time (up to {MAX_MESSAGE_CHARS:,} "
                 "characters).")
SLOW_DOWN = Reply("You are sending messages faster than I can answer. Wait a few seconds, then send again.")
NAIROBI = ZoneInfo("Africa/Nairobi")
NEW_CUSTOMER = "n"  # choice data for "a new customer with this name"


@dataclass(frozen=True)
class Turn:
    """One message being answered: who wrote, for which business, in what role, on which day."""

    session: Session
    msg: InboundMessage
    state: ChatStateRow
    now: datetime
    links: list[LinkedBusiness]
    business: LinkedBusiness | None
    reading: Reading | None = None  # the typed line, read before the transaction (against Nairobi's date)

    @property
    def slash(self) -> bool:
        return not self.msg.slash_optional

    @property
    def role(self) -> str:
        return self.business.role if self.business else "staff"

    @property
    def business_id(self) -> int:
        assert self.business is not None
        return self.business.business_id

    @property
    def today(self) -> date:
        tz = ZoneInfo(self.business.timezone if self.business else "Africa/Nairobi")
        return self.now.astimezone(tz).date()

    @property
    def actor(self) -> str:
        return f"{self.msg.channel}:{self.msg.chat_id}"

    @property
    def lang(self) -> Lang:
        """The chat's language: chosen (/language) or read from its first messages, else the business's
        default setting, else English."""
        if self.state.language in ("en", "sw"):
            return lang_of(self.state.language)
        if self.business is None:
            return "en"
        row = self.session.get(BusinessRow, self.business.business_id)
        return business_language(row.settings_json if row is not None else None)

    def pending(self) -> dict[str, Any]:
        return pending_of(self.state)

    def remember(self, pending: dict[str, Any]) -> None:
        set_pending(self.session, self.state, pending, self.now)


def handle_message(session: Session, msg: InboundMessage, now: datetime, *, limit: ChatRateLimit | None = None,
                   render: bool = True) -> list[Reply]:
    """Answer one inbound message. A redelivered message (same external id) gets no answer. With
    `render=False` charts and files are left to `messages.rendered`, to be drawn after the commit."""
    if len(msg.text) > MAX_MESSAGE_CHARS:
        return [TOO_LONG]
    verdict = limit.check(f"{msg.channel}:{msg.chat_id}", now) if limit is not None else Verdict.ALLOWED
    if verdict is not Verdict.ALLOWED:
        return [SLOW_DOWN] if verdict is Verdict.SLOW_DOWN else []
    # pure: read before the first write, against Nairobi's date (read again in _answer if the business's differs)
    reading = read_message(msg.text, now.astimezone(NAIROBI).date()) if msg.choice is None else None
    if msg.external_id and not first_time_seen(session, msg.channel, msg.external_id, now):
        return []
    state = chat_state(session, msg.channel, msg.chat_id, now)
    state.last_inbound_at = now
    session.add(state)
    links = linked_businesses(session, msg.channel, msg.chat_id)
    current = next((b for b in links if b.business_id == state.business_id), links[0] if len(links) == 1 else None)
    turn = Turn(session, _numbered_choice(msg, state), state, now, links, current, reading)
    replies = _answer(turn)
    _offer_numbers(turn, replies)
    return rendered(replies) if render else replies


def _answer(turn: Turn) -> list[Reply]:
    if turn.msg.choice:
        return _on_choice(turn, turn.msg.choice)
    reading = turn.reading
    if reading is None or reading.day != turn.today:  # read again for a business outside Nairobi's day
        reading = read_message(turn.msg.text, turn.today)
    if reading.intent == "start":
        return _start(turn, Start(reading.args.get("code")))
    _notice_language(turn, reading)
    if not turn.links:
        return [_unlinked(reading.lang)]
    if turn.business is None and reading.intent != "business":
        return _choose_business(turn, ChooseBusiness())
    pending = turn.pending()
    if pending.get("ask"):
        completed = _answered(turn, pending["ask"], reading)
        if completed is not None:
            return completed
    if pending.get("invoice") is not None and reading.intent is None and reading.why == "chat":
        return _continue_invoice(turn, pending["invoice"], turn.msg.text)
    if pending.get("invoice") is not None or pending.get("ask"):
        turn.remember({})  # a new request abandons the half-read one
    pasted = _pasted(turn)
    if pasted is not None:
        return pasted
    return _act(turn, reading)


_LANG_NAMES = {"en": "en", "english": "en", "kiingereza": "en", "sw": "sw", "swahili": "sw", "kiswahili": "sw"}
_NO_INVOICES = {"open": N_("No open invoices."), "overdue": N_("No overdue invoices."), "all": N_("No invoices yet.")}
_INVOICES_TITLE = {"open": N_("Open invoices:"), "overdue": N_("Overdue invoices:"), "all": N_("All invoices:")}


def _unlinked(lang: Lang) -> Reply:
    return Reply(tr(lang, "Hi! This is Hesabu, M-Pesa bookkeeping for your business.\n"
                          "To start, ask the business owner for a link code and send: /start CODE"))


def _notice_language(turn: Turn, reading: Reading) -> None:
    """A chat with no language yet takes the one its person clearly writes in; the answer to this message is
    in the language the message is clearly in (the chat's otherwise)."""
    if turn.state.language is None and reading.sure and reading.intent != "language":
        turn.state.language = reading.lang
        turn.session.add(turn.state)


def _reply_lang(turn: Turn, reading: Reading) -> Lang:
    return reading.lang if reading.sure else turn.lang


def _answered(turn: Turn, asked: dict[str, Any], reading: Reading) -> list[Reply] | None:
    """The message as the answer to the question asked last; None when it is a new request instead."""
    piece = followup.PIECES.get(str(asked.get("ask")))
    if reading.intent is not None and not (piece == "receipt" and reading.intent == "verify"):
        return None
    if reading.why == "ask" and reading.partial is not None:
        return None  # another half request ("create an invoice for Mary"): it replaces this one
    done = followup.answer(asked, turn.msg.text, turn.today)
    if done is None:
        if reading.why == "ask":
            return None  # another half request: it replaces this one
        asked = {**asked, "lang": _reply_lang(turn, reading)}
        sorry = tr(lang_of(asked.get("lang")), "Sorry, I couldn't read that.")
        return [Reply(f"{sorry}\n{question(_asked_reading(asked), turn.role)}", _question_choices(asked))]
    turn.remember({})
    return _act(turn, done)


def _asked_reading(asked: dict[str, Any]) -> Reading:
    return Reading(None, dict(asked.get("args") or {}), lang_of(asked.get("lang")), str(asked.get("ask")),
                   str(asked.get("intent")))


def _question_choices(asked: dict[str, Any]) -> tuple[Choice, ...]:
    if asked.get("ask") != "debt_or_payment":
        return ()
    lang = lang_of(asked.get("lang"))
    return (Choice(tr(lang, "New invoice"), "a:invoice"), Choice(tr(lang, "Payment received"), "a:paid"))


def _act(turn: Turn, reading: Reading) -> list[Reply]:
    """A complete reading goes to its handler; a half one is kept and asked about; chat gets a friendly word."""
    if reading.intent is None:
        reading = replace(reading, lang=_reply_lang(turn, reading))
        asked = followup.pending_question(reading)
        if asked is not None:
            turn.remember({"ask": asked})
            return [Reply(question(reading, turn.role), _question_choices(asked))]
        if reading.ask == "unknown_command":
            return [Reply(question(reading, turn.role)), *_help(turn, Help())]
        return [Reply(question(reading, turn.role))]
    command = to_command(reading)
    if isinstance(command, OWNER_ONLY) and turn.role != "owner":
        return [Reply(tr(turn.lang, "Only the business owner can do that. Ask them, or send help for what you "
                                    "can do."))]
    return _HANDLERS[type(command)](turn, command)


# --- linking and businesses -------------------------------------------------------------------------


def _start(turn: Turn, command: Start) -> list[Reply]:
    if command.code is None:
        return [_help(turn, Help())[0]] if turn.links else [_unlinked(turn.lang)]
    outcome = redeem_link_code(turn.session, turn.msg.channel, turn.msg.chat_id, command.code,
                               turn.msg.sender_name, turn.now)
    if not outcome.ok or outcome.business is None:
        why = {"used": "That code has already been used. Ask the owner for a new one (hesabu link-code).",
               "expired": "That code has expired. Ask the owner for a new one (hesabu link-code)."}.get(
            outcome.reason, "That code is not valid. Ask the owner for a new one (hesabu link-code).")
        return [Reply(tr(turn.lang, why))]
    linked = replace(turn, business=outcome.business)
    lang = linked.lang
    role = tr(lang, "owner") if outcome.business.role == "owner" else tr(lang, "staff")
    return [Reply(tr(lang, "Linked to {business} as {role}.", business=outcome.business.name, role=role)),
            _help(linked, Help())[0]]


def _choose_business(turn: Turn, command: ChooseBusiness) -> list[Reply]:
    if command.number is not None and 1 <= command.number <= len(turn.links):
        chosen = turn.links[command.number - 1]
        turn.state.business_id = chosen.business_id
        turn.session.add(turn.state)
        return [Reply(tr(turn.lang, "Now working on {business}.", business=chosen.name))]
    lines = [f"{i}. {b.name} ({b.role})" for i, b in enumerate(turn.links, start=1)]
    choices = tuple(Choice(b.name[:40], f"b:{i}") for i, b in enumerate(turn.links, start=1))
    return [Reply(tr(turn.lang, "Which business?") + "\n" + "\n".join(lines), choices)]


def _help(turn: Turn, _command: Help | Chat) -> list[Reply]:
    role = "owner" if turn.role == "owner" else "staff"
    return [wording.help_reply(HELP_TEXT[role], turn.slash, turn.lang)]


# --- invoices ---------------------------------------------------------------------------------------


def _invoice(turn: Turn, command: CreateInvoice) -> list[Reply]:
    draft = {"customer": command.customer, "phone": command.customer_phone,
             "amount": str(command.amount) if command.amount is not None else None,
             "description": command.description, "due": command.due,
             "ask_due": "due" in command.missing}
    return _advance_invoice(turn, draft)


def _continue_invoice(turn: Turn, draft: dict[str, Any], text: str) -> list[Reply]:
    asked = draft.get("asked")
    if asked == "customer":
        draft["customer"] = text.strip()
    elif asked == "amount":
        amount = read_amount(text)
        if isinstance(amount, InputError):
            return [wording.input_problem(amount)]
        draft["amount"] = str(amount)
    elif asked == "due":
        draft["due"], draft["ask_due"] = text.strip(), False
    return _advance_invoice(turn, draft)


def _advance_invoice(turn: Turn, draft: dict[str, Any]) -> list[Reply]:
    for part, missing in (("customer", not (draft.get("customer") or draft.get("phone"))),
                          ("amount", draft.get("amount") is None), ("due", draft.get("ask_due"))):
        if missing:
            turn.remember({"invoice": {**draft, "asked": part}})
            return [wording.ask_for(part, turn.lang)]
    due = read_date(draft["due"], turn.today) if draft.get("due") else None
    if isinstance(due, InputError):
        turn.remember({"invoice": {**draft, "asked": "due", "due": None}})
        return [wording.input_problem(due)]
    customer_id = draft.get("customer_id") or _resolve_customer(turn, draft)
    if isinstance(customer_id, list):
        return customer_id
    return _create_invoice(turn, draft, int(customer_id), due)


def _resolve_customer(turn: Turn, draft: dict[str, Any]) -> int | list[Reply]:
    """One customer by that phone or name: use them; none: add them; several: ask which."""
    text = draft.get("phone") or draft.get("customer") or ""
    found = find_customers(turn.session, turn.business_id, text)
    if len(found) == 1:
        return found[0].id
    if found and not draft.get("new_customer"):
        turn.remember({"invoice": {**draft, "asked": "which"}})
        choices = [Choice(f"{c.name} {c.account_code or ''}".strip()[:40], f"i:{c.id}") for c in found[:5]]
        choices.append(Choice("A new customer", f"i:{NEW_CUSTOMER}"))
        return [Reply(f"{len(found)} customers match {wording.safe_text(text)!r}. Which one?", tuple(choices))]
    name = draft.get("customer") or ""
    if not any(ch.isalpha() for ch in name):
        name = f"Customer {str(draft.get('phone') or '')[-3:]}"
    created = create_customer(turn.session, turn.business_id, name, [draft["phone"]] if draft.get("phone") else [])
    if not created.ok or created.customer_id is None:
        return [wording.problem(created.message, "/invoice Mary Wanjiku 2500")]
    return created.customer_id


def _create_invoice(turn: Turn, draft: dict[str, Any], customer_id: int, due: date | None) -> list[Reply]:
    amount = Decimal(draft["amount"])
    made = create_invoice(turn.session, turn.business_id, customer_id, amount, turn.today, due,
                          draft.get("description") or "")
    turn.remember({})
    if not made.ok:
        return [wording.problem(made.message, "/invoice Mary Wanjiku 2500")]
    business = turn.business
    assert business is not None
    row = turn.session.get(CustomerRow, customer_id)
    customer = row.name if row is not None else (draft.get("customer") or "")
    return [wording.invoice_created(made.number, customer, amount, due, business.shortcode,
                                    till=business.kind == "till", today=turn.today, lang=turn.lang)]


def _list_invoices(turn: Turn, command: ListInvoices) -> list[Reply]:
    lines = invoice_lines(turn.session, turn.business_id, command.which, turn.today)
    if not lines:
        return [Reply(tr(turn.lang, _NO_INVOICES[command.which]))]
    rows = [f"{i.number} {wording.short_name(i.customer)} {kes(i.open_balance)}"
            + (" " + tr(turn.lang, "due {day}", day=wording.day_text(i.due, turn.today, turn.lang)) if i.due else "")
            for i in lines]
    return [Reply(tr(turn.lang, _INVOICES_TITLE[command.which]) + "\n" + "\n".join(rows))]


# --- payments ---------------------------------------------------------------------------------------


def _unmatched(turn: Turn, _command: Unmatched) -> list[Reply]:
    payments = payments_needing_owner(turn.session, turn.business_id)
    if not payments:
        return [Reply(tr(turn.lang, "Every payment is matched. Nothing needs you."))]
    rows = [f"{p.trans_id} {format_kes(p.amount)} {wording.short_name(p.payer_name)} "
            f"{wording.safe_text(p.reference) or '(no account)'}" for p in payments]
    hint = "/match RECEIPT INVOICE" if turn.slash else "match RECEIPT INVOICE"
    return [Reply(tr(turn.lang, "Payments that need you:") + "\n" + "\n".join(rows) + "\n"
                  + tr(turn.lang, "Match one: {hint}", hint=hint))]


def _match(turn: Turn, command: Match) -> list[Reply]:
    result = actions.match_by_hand(turn.session, turn.business_id, command.trans_id, command.invoices, turn.actor)
    return [_action_reply(result, turn.lang)]


def _undo(turn: Turn, _command: Undo) -> list[Reply]:
    return [Reply(_said(actions.undo_last(turn.session, turn.business_id, turn.actor, turn.now)))]


def _action_reply(result: actions.ActionResult, lang: Lang = "en") -> Reply:
    if not result.ok:
        return Reply(_said(result))
    return Reply(_said(result), (Choice(tr(lang, "Undo"), "u"),))


def _said(result: actions.ActionResult) -> str:
    text = wording.safe_text(result.message)
    return (text[:1].upper() + text[1:]) if result.ok else f"Sorry, {text}."


def _on_choice(turn: Turn, data: str) -> list[Reply]:
    """A tapped button (or a number answered on WhatsApp)."""
    business_number = plain_number(data[2:]) if data.startswith("b:") else None
    if business_number is not None:
        return _choose_business(turn, ChooseBusiness(business_number))
    if not turn.links or turn.business is None:
        return [_unlinked(turn.lang)]
    if data.startswith("i:"):
        return _pick_customer(turn, data[2:])
    if data.startswith("a:"):
        asked = turn.pending().get("ask")
        done = followup.answer(asked, data[2:], turn.today) if asked else None
        if done is None:
            return [Reply(tr(turn.lang, "That question has expired. Send the request again."))]
        turn.remember({})
        return _act(turn, done)
    if data == GO_THROUGH:  # the summary's "Go through them": staff may look too
        return _unmatched(turn, Unmatched())
    if data in (requests.CONFIRM_OVERDUE, requests.CANCEL_OVERDUE):  # staff may ask customers to pay too
        return _confirm_overdue(turn, data)
    if turn.role != "owner":
        return [Reply(tr(turn.lang, "Only the business owner can confirm or change matches."))]
    if data == "u":
        return _edited(turn, _undo(turn, Undo())[0])
    chosen = wording.read_choice(data)
    if chosen is None:
        return [Reply(tr(turn.lang, "That button is no longer valid. Send /unmatched to see what needs you."))]
    if chosen.action == "x":
        return _edited(turn, _action_reply(actions.ignore_payment(turn.session, turn.business_id,
                                                                   chosen.payment_id, turn.actor), turn.lang))
    if chosen.action == "o":
        return _ask_other_invoice(turn, chosen.payment_id)
    return _edited(turn, _confirm(turn, chosen.payment_id, chosen.invoice_id or 0))


def _confirm(turn: Turn, payment_id: int, invoice_id: int) -> Reply:
    decision = decision_of(turn.session, turn.business_id, payment_id)
    index = next((i for i, s in enumerate(decision.suggestions if decision else ())
                  if any(str(a.invoice_id) == str(invoice_id) for a in s.allocations)), None)
    if index is None:
        return Reply(tr(turn.lang, "That suggestion is no longer on offer. Send /unmatched to see what needs you."))
    return _action_reply(actions.confirm_suggestion(turn.session, turn.business_id, payment_id, index, turn.actor),
                         turn.lang)


def _ask_other_invoice(turn: Turn, payment_id: int) -> list[Reply]:
    payment = payment_of(turn.session, turn.business_id, payment_id)
    if payment is None:
        return [Reply(tr(turn.lang, "That payment was not found."))]
    hint = "/match" if turn.slash else "match"
    return [Reply(tr(turn.lang, "Which invoice did {receipt} pay? Send:", receipt=payment.trans_id)
                  + f"\n{hint} {payment.trans_id} INV-0001")]


def _pick_customer(turn: Turn, choice: str) -> list[Reply]:
    draft = turn.pending().get("invoice")
    if draft is None:
        return [Reply(tr(turn.lang, "That question has expired. Send /invoice again."))]
    if choice == NEW_CUSTOMER:
        return _advance_invoice(turn, {**draft, "new_customer": True})
    customer_id = plain_number(choice)
    if customer_id is None or not _customer_exists(turn, customer_id):
        return [Reply(tr(turn.lang, "That customer was not found. Send /invoice again."))]
    return _advance_invoice(turn, {**draft, "customer_id": customer_id})


def _customer_exists(turn: Turn, customer_id: int) -> bool:
    row = turn.session.get(CustomerRow, customer_id)
    return row is not None and row.business_id == turn.business_id  # another business's customer is "not found"


def _edited(turn: Turn, reply: Reply) -> list[Reply]:
    """After a tap, the alert itself is edited to show the outcome."""
    return [replace(reply, edit_ref=turn.msg.message_ref)] if turn.msg.message_ref else [reply]


# --- looking things up ------------------------------------------------------------------------------


def _summary(turn: Turn, command: Summary) -> list[Reply]:
    """The full summary of the period (same content as the scheduled one) with its 14-day chart."""
    start, end = command.period_range(turn.today)
    return [summary_reply(turn.session, _business_row(turn), Period(start, end), turn.today, lang=turn.lang)]


def _business_row(turn: Turn) -> BusinessRow:
    row = turn.session.get(BusinessRow, turn.business_id)
    assert row is not None
    return row


def _customer(turn: Turn, command: CustomerLookup) -> list[Reply]:
    found = find_customers(turn.session, turn.business_id, command.phone or command.query)
    if not found:
        return [Reply(tr(turn.lang, "No customer matches {query}.", query=repr(wording.safe_text(command.query))))]
    owed = customer_balances(turn.session, turn.business_id, [c.id for c in found])
    rows = []
    for c in found[:5]:
        credit = customer_credit(turn.session, turn.business_id, c.id)
        code = f" {c.account_code}" if c.account_code else ""
        who = c.name + code
        line = tr(turn.lang, "{name}: owes {amount}", name=who, amount=kes(owed.get(c.id, Decimal(0))))
        rows.append(line + (tr(turn.lang, ", credit {amount}", amount=kes(credit)) if credit else ""))
    return [Reply("\n".join(rows))]


def _settings(turn: Turn, command: Settings) -> list[Reply]:
    """`/settings` shows them; `/settings summary 20:30` (or 8pm, off) and `/settings digest 7:00` change when
    the daily summary and the morning digest come, in the business's local time."""
    business = _business_row(turn)
    if command.key in SCHEDULE_KEYS and command.value:
        problem = set_scheduled_time(business, command.key, command.value)
        if problem:
            return [wording.problem(problem, "/settings summary 20:30")]
        turn.session.add(business)
    elif command.key == "language" and command.value:
        chosen = _LANG_NAMES.get(command.value.strip().casefold())
        if chosen is None:
            return [wording.problem(tr(turn.lang, "choose en or sw"), "/settings language sw", turn.lang)]
        set_business_language(business, chosen)
        turn.session.add(business)
    elif command.key == "practice" and command.value:
        problem = set_unpinned_practice(business, command.value)
        if problem:
            return [wording.problem(problem, "/settings practice ask", turn.lang)]
        turn.session.add(business)
    elif command.key is not None and command.key != "practice":
        return [wording.problem(f"there is no setting {command.key!r}", "/settings summary 20:30")]
    kind = "Till" if business.kind == "till" else "Paybill"
    lang = turn.lang
    shortcode = turn.business.shortcode if turn.business else ""
    times = {what: scheduled_time(business.settings_json, what) for what in SCHEDULE_KEYS}
    shown = {what: at.strftime("%H:%M") if at else tr(lang, "off") for what, at in times.items()}
    language = tr(lang, "English") if business_language(business.settings_json) == "en" else tr(lang, "Kiswahili")
    practice = (tr(lang, "Payments that pin no invoice: ask me") if match_settings(business).unpinned == "ask"
                else tr(lang, "Payments that pin no invoice: oldest invoices first"))
    return [Reply("\n".join((business.name, f"{kind} {shortcode}",
                             tr(lang, "Timezone {zone}", zone=business.timezone),
                             tr(lang, "Daily summary {time}", time=shown["summary"]),
                             tr(lang, "Morning digest {time}", time=shown["digest"]),
                             tr(lang, "Language {language}", language=language), practice,
                             *pull_lines(turn.session, turn.business_id, ZoneInfo(business.timezone), turn.now),
                             tr(lang, "Change: /settings summary 20:30 or /settings language sw"),
                             tr(lang, "Change: /settings practice ask or /settings practice oldest"))))]


def _export(turn: Turn, command: Export) -> list[Reply]:
    """The month's payments as CSV and XLSX files (and the QuickBooks or Xero bank layout when asked)."""
    start, end = command.period_range(turn.today)
    business = _business_row(turn)
    tz = ZoneInfo(business.timezone)
    since, until = period_bounds(Period(start, end), tz)
    shortcode = turn.business.shortcode if turn.business else ""
    records = exports.payment_records(turn.session, turn.business_id, shortcode, tz, since, until)
    total = sum((Decimal(r["amount"]) for r in records), Decimal("0.00"))
    name = f"payments-{start:%Y-%m}"
    # the files are written from the records already read, after the caller's transaction (Reply.later)
    named = month(start, turn.lang)
    counted = ntr(turn.lang, "{month}: {n} payment, {total}", "{month}: {n} payments, {total}", len(records),
                  month=named, total=kes(total))
    replies = [_file_later(counted, f"{name}.csv", "text/csv", lambda: exports.to_csv(records).encode()),
               _file_later(tr(turn.lang, "{month} for Excel", month=named), f"{name}.xlsx", XLSX,
                           lambda: exports.to_xlsx(records, f"{start:%b %Y}"))]
    layout = command.layout
    if layout is not None:
        replies.append(_file_later(tr(turn.lang, "{month} for {layout} (bank statement import)", month=named,
                                      layout=layout.capitalize()),
                                   f"{layout}-{start:%Y-%m}.csv", "text/csv",
                                   lambda: str(exports.render(records, layout)).encode()))
    return replies


def _request(turn: Turn, command: RequestPayment) -> list[Reply]:
    """`/request INV-0042 [PHONE]`: an STK push for the invoice (owner and staff); `/request overdue` asks
    every customer with an overdue invoice, after a confirmation."""
    if not command.overdue:
        return [requests.ask_to_pay(turn.session, turn.business_id, command.invoice or "", command.phone,
                                    turn.actor, turn.now, turn.lang)]
    reply, invoice_ids = requests.ask_overdue(turn.session, turn.business_id, turn.today, turn.lang)
    if invoice_ids:
        turn.remember({"request_overdue": invoice_ids})
    return [reply]


def _confirm_overdue(turn: Turn, data: str) -> list[Reply]:
    invoice_ids = turn.pending().get("request_overdue")
    turn.remember({})
    if not invoice_ids:
        return [Reply("That question has expired. Send /request overdue again.")]
    if data == requests.CANCEL_OVERDUE:
        return _edited(turn, Reply(requests.say("bulk_cancelled", turn.lang)))
    return _edited(turn, requests.confirm_overdue(turn.session, turn.business_id, [int(i) for i in invoice_ids],
                                                  turn.actor, turn.today, turn.now, turn.lang))


XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _file_later(text: str, filename: str, mime: str, write: Callable[[], bytes]) -> Reply:
    return Reply(text, later=lambda: Reply(text, document=Document(filename, write(), mime)))


def _chat(turn: Turn, command: Chat) -> list[Reply]:
    return [Reply(tr(turn.lang, "I did not understand that. Here is what I can do:")), *_help(turn, Help())]


def _lang(turn: Turn) -> Lang:
    """The language of this message when it is clear, else the chat's."""
    return _reply_lang(turn, turn.reading) if turn.reading is not None else turn.lang


def _verify(turn: Turn, command: VerifyReceipt) -> list[Reply]:
    return [verifying.verify_payment(turn.session, turn.business_id, command.receipt, command.amount, _lang(turn))]


def _reconcile(turn: Turn, _command: Reconcile) -> list[Reply]:
    """`/reconcile [DATE]`: today unless a day is named (`yesterday`, `2/10`, `2026-10-02`)."""
    _, _, rest = turn.msg.text.strip().partition(" ")
    day = read_date(rest, turn.today, allow_past=True) if rest.strip() else turn.today
    if isinstance(day, InputError):
        return [Reply(f"{day.reason}. {day.example}")]
    tz = ZoneInfo(turn.business.timezone if turn.business else "Africa/Nairobi")
    start = datetime.combine(day, time.min, tzinfo=tz)
    return [verifying.reconcile_day(turn.session, turn.business_id, start, _lang(turn))]


def _pasted(turn: Turn) -> list[Reply] | None:
    """A pasted or forwarded M-PESA message (or a photo of one) is checked against the book; recorded only where the
    business takes pasted SMS as a source (settings "sms": {"record_pasted": true}) and the owner pasted it."""
    attachment = turn.msg.attachment
    if attachment is not None and attachment.kind == "photo" and not turn.msg.text.strip():
        return [verifying.photo_of_message(_lang(turn))]
    if "confirmed" not in turn.msg.text.lower() and "received" not in turn.msg.text.lower():
        return None  # cheap test first: every M-PESA payment message says one of these
    business = turn.session.get(BusinessRow, turn.business_id)
    record = turn.role == "owner" and business is not None and _takes_pasted_sms(business)
    reply = verifying.pasted_message(turn.session, turn.business_id, turn.msg.text, _lang(turn), turn.now,
                                     record=record)
    return [reply] if reply is not None else None


def _takes_pasted_sms(business: BusinessRow) -> bool:
    try:
        sms = json.loads(business.settings_json or "{}").get("sms", {})
    except (ValueError, AttributeError):
        return False
    return isinstance(sms, dict) and sms.get("record_pasted") is True


def _coming(turn: Turn, command: VerifyReceipt | Reconcile) -> list[Reply]:
    """Read right, not built yet here: say so."""
    if isinstance(command, VerifyReceipt):
        return [Reply(tr(turn.lang, "Checking an M-Pesa code is coming soon. Meanwhile see /unmatched."))]
    return [Reply(tr(turn.lang, "Reconciling is coming soon."))]


def _record(turn: Turn, command: RecordPayment) -> list[Reply]:
    """`Mary amelipa 2000 cash`: a payment received outside M-Pesa, matched at once like any other."""
    done = manual.record_manual_payment(turn.session, turn.business_id, command.customer, command.phone,
                                        command.amount, f"{turn.actor} ({turn.msg.sender_name})"[:120], turn.now)
    lang = turn.lang
    if not done.ok:
        return [Reply(tr(lang, "Several customers are called {name}: {names}. Send the full name, e.g. "
                               "{example} amelipa {amount}", name=command.customer, names=", ".join(done.candidates),
                         example=done.candidates[0], amount=f"{command.amount:.0f}"))]
    head = tr(lang, "Recorded {amount} from {customer}, receipt {receipt}.", amount=kes(command.amount),
              customer=wording.short_name(done.customer) or done.customer, receipt=done.trans_id)
    tail = {"matched": N_("It is matched to their invoice."),
            "suggested": N_("Which invoice is it for? I'll ask you next.")}.get(
        done.status, N_("No invoice fits it yet: see /unmatched."))
    choices = (Choice(tr(lang, "Undo"), "u"),) if turn.role == "owner" else ()
    return [Reply(f"{head}\n{tr(lang, tail)}", choices)]


def _language(turn: Turn, command: SetLanguage) -> list[Reply]:
    """`/language sw`, "Kiswahili tafadhali": this chat is answered in that language from now on."""
    turn.state.language = lang_of(command.lang)
    turn.session.add(turn.state)
    if turn.state.language == "sw":
        return [Reply(tr("sw", "Sawa! I'll answer in Kiswahili from now on. For English send /language en"))]
    return [Reply(tr("en", "OK! I'll answer in English from now on. Kwa Kiswahili tuma /language sw"))]


_HANDLERS: dict[type, Callable[[Turn, Any], list[Reply]]] = {
    Help: _help, CreateInvoice: _invoice, ListInvoices: _list_invoices, Unmatched: _unmatched, Match: _match,
    Undo: _undo, Summary: _summary, CustomerLookup: _customer, Export: _export, Settings: _settings,
    ChooseBusiness: _choose_business, Chat: _chat, RequestPayment: _request, VerifyReceipt: _verify,
    Reconcile: _reconcile, RecordPayment: _record, SetLanguage: _language,
}


# --- numbered choices (a channel without buttons: InboundMessage.buttons is False) -------------------


def _numbered_choice(msg: InboundMessage, state: ChatStateRow) -> InboundMessage:
    """On WhatsApp choices are numbered lines; "2" answers the second choice last offered to this chat."""
    offered = pending_of(state).get("offered") or []
    text = msg.text.strip()
    number = plain_number(text) if msg.choice is None else None
    if number is not None and 1 <= number <= len(offered):
        return replace(msg, choice=str(offered[number - 1]))
    return msg


def _offer_numbers(turn: Turn, replies: list[Reply]) -> None:
    if turn.msg.buttons:
        return
    offered = [c.data for r in replies for c in r.choices]
    pending = turn.pending()
    if offered or pending.get("offered"):
        turn.remember({**pending, "offered": offered})

