"""`/request`: asking a customer to pay by M-Pesa (an STK push) from the chat, and what the asker is told as the
push goes (`request.update` outbox messages, rendered at delivery time from the push as it stands).

`ask_to_pay(session, business_id, invoice, phone, asker, now)` is the entry point for one invoice, whoever read
the words (the `/request` grammar or the plain-language parser). Every sentence goes through the message
catalogue (English msgids, Swahili in locale/sw).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from typing import Any

from bot.assistant.catalogue import Lang, tr
from bot.assistant.messages import Choice, Reply
from bot.assistant.wording import short_name
from bot.bookkeeping.stk_requests import RequestOutcome, overdue_for_request, request_many, request_payment
from bot.ledger.money import format_kes
from bot.ledger.phones import mask_phone
from bot.storage.db import Session
from bot.storage.stk_pushes import push_of
from bot.storage.tables import CustomerRow, InvoiceRow, OutboxRow

CONFIRM_OVERDUE, CANCEL_OVERDUE = "rq:y", "rq:n"
MAX_BULK = 20
# the English sentences are the catalogue's msgids (bot.assistant.catalogue); the Swahili is in locale/sw
TEXTS: Mapping[str, str] = {
    "queued": ("Asking {who} ({phone}) to pay {amount} for {invoice} by M-Pesa. I will tell you when the "
               "prompt is on their phone and when they answer."),
    "no_credentials": ("Hesabu cannot send M-Pesa requests for this business yet: the owner adds its Daraja "
                       "keys with `hesabu daraja set SHORTCODE`."),
    "no_invoice": "There is no invoice {invoice}. Send /invoices to see them.",
    "invoice_paid": "{invoice} is already paid: nothing to ask for.",
    "no_phone": "{who} has no phone number on file. Send: /request {invoice} 07XXXXXXXX",
    "bad_phone": "That is not a Kenyan mobile number.",
    "pending": ("A request for {invoice} to {phone} is still waiting for an answer; I will not send a "
                "second one. You will hear when it ends."),
    "too_small": "M-Pesa can only ask for whole shillings, at least KES 1.",
    "too_large": "M-Pesa can ask for at most KES 250,000 at once; {invoice} is more.",
    "sent": "Sent: {who} has the M-Pesa prompt for {amount} ({invoice}) on {phone}. Waiting for them.",
    "refused": "M-Pesa did not take the request for {invoice} ({error}). Nothing reached {who}.",
    "in_doubt": ("I could not confirm that the request for {invoice} reached {who}. I will not send it "
                 "again, so they get at most one prompt; if they pay, the payment shows here."),
    "paid_by_query": ("{who} paid {amount} for {invoice} (Safaricom confirms). The receipt shows here when "
                      "M-Pesa's notification arrives."),
    "confirm_overdue": "Ask {count} customers with overdue invoices to pay by M-Pesa?\n{lines}",
    "no_overdue": "No overdue invoices with a customer phone: nobody to ask.",
    "bulk_done": "Sending {count} M-Pesa requests; you will hear as each customer answers.{skipped}",
    "bulk_cancelled": "Nothing sent.",
}
# the ResultCode of a push that did not pay, in words (reference §3.4; map on the code, never ResultDesc)
FAILED: Mapping[int, str] = {
    1032: "{who} cancelled the M-Pesa request for {invoice}.",
    1037: "{who} did not answer the M-Pesa prompt for {invoice} (phone off or no reply).",
    1036: "The M-Pesa prompt for {invoice} could not reach {who}'s phone.",
    2001: "{who} entered a wrong M-Pesa PIN for {invoice}. You can /request it again.",
    1: "{who} does not have enough money on M-Pesa for {invoice}.",
    17: "M-Pesa refused a second request of the same amount to {who} within 2 minutes. Try later.",
    1001: "{who}'s phone was busy with another M-Pesa session. Try again in a minute.",
    1019: "The M-Pesa request for {invoice} expired before {who} answered.",
}
OTHER_FAILURE = "The M-Pesa request for {invoice} ended without payment (code {code})."


def say(key: str, lang: Lang = "en", **values: object) -> str:
    return tr(lang, TEXTS[key], **values)


def ask_to_pay(session: Session, business_id: int, invoice: str, phone: str | None, asker: str,
               now: datetime, lang: Lang = "en") -> Reply:
    """Queue one STK push for `invoice` (to `phone`, else the customer's) and say what happens next."""
    return Reply(_outcome_text(request_payment(session, business_id, invoice, phone, asker, now), lang))


def _outcome_text(outcome: RequestOutcome, lang: Lang) -> str:
    who = short_name(outcome.customer) or "the customer"
    return say(outcome.reason, lang, who=who, phone=outcome.phone_masked, invoice=outcome.invoice,
               amount=format_kes(outcome.amount))


def ask_overdue(session: Session, business_id: int, today: date, lang: Lang = "en") -> tuple[Reply, list[int]]:
    """The confirmation step of `/request overdue`: who would be asked; the invoice ids to remember."""
    found = [r for r in overdue_for_request(session, business_id, today) if r.phones and r.open_balance >= 1]
    found = found[:MAX_BULK]
    if not found:
        return Reply(say("no_overdue", lang)), []
    lines = "\n".join(f"{r.number} {short_name(r.customer_name)} {format_kes(r.open_balance)}" for r in found)
    choices = (Choice(f"Ask {len(found)}", CONFIRM_OVERDUE), Choice("Cancel", CANCEL_OVERDUE))
    return Reply(say("confirm_overdue", lang, count=len(found), lines=lines), choices), [r.invoice_id for r in found]


def confirm_overdue(session: Session, business_id: int, invoice_ids: list[int], asker: str, today: date,
                    now: datetime, lang: Lang = "en") -> Reply:
    outcomes = request_many(session, business_id, invoice_ids, asker, today, now)
    if outcomes and outcomes[0].reason == "no_credentials":
        return Reply(_outcome_text(outcomes[0], lang))
    sent = sum(1 for o in outcomes if o.queued)
    skipped = [o for o in outcomes if not o.queued]
    extra = "".join(f"\n{_outcome_text(o, lang)}" for o in skipped)
    return Reply(say("bulk_done", lang, count=sent, skipped=extra))


def render_request_update(session: Session, outbox: OutboxRow, payload: Mapping[str, Any]) -> Reply | None:
    push = push_of(session, outbox.business_id, int(payload["push_id"]))
    if push is None:
        return None
    invoice = session.get(InvoiceRow, push.invoice_id) if push.invoice_id else None
    customer = _customer_name(session, invoice)
    values = {"who": short_name(customer) or "the customer", "invoice": push.account_reference,
              "amount": format_kes(push.amount), "phone": mask_phone(push.phone),
              "error": _short_error(push.error), "code": push.result_code}
    event = str(payload["event"])
    if event == "failed":
        return Reply(tr("en", FAILED.get(push.result_code or 0, OTHER_FAILURE), **values))
    if event not in TEXTS:
        return None
    return Reply(tr("en", TEXTS[event], **values))


def _customer_name(session: Session, invoice: InvoiceRow | None) -> str:
    if invoice is None or invoice.customer_id is None:
        return ""
    row = session.get(CustomerRow, invoice.customer_id)
    return row.name if row is not None and row.business_id == invoice.business_id else ""


def _short_error(error: str) -> str:
    """Daraja's own words for a refused push, without codes a person cannot use."""
    words = error.split(" ", 2)[-1] if error else ""
    return words[:80] or "no reason given"

