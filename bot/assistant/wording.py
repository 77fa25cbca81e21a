"""What Hesabu says: short, phone-sized message texts built from plain values.

Texts are plain (channels escape for their own markup), money is `KES 15,000.00`, payers are
shortened (`JOHN DOE KAMAU` -> `JOHN D.`) and a phone number only ever appears masked.

Button data, all under Telegram's 64 bytes:
  `c:<payment_id>:<invoice_id>`  this payment pays that invoice (a suggested candidate)
  `o:<payment_id>`               another invoice: ask which
  `x:<payment_id>`               not an invoice payment: ignore it
Read them back with `read_choice`.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime
from decimal import Decimal
from typing import Literal

from bot.assistant import catalogue
from bot.assistant.catalogue import N_, Lang, tr
from bot.assistant.grammar import GrammarError
from bot.assistant.messages import Choice, Reply
from bot.ledger.chat_input import MONTH_ABBR, WEEKDAY_ABBR, InputError, plain_number
from bot.ledger.money import ZERO, format_kes
from bot.ledger.phones import mask_phone, normalise_phone

MAX_SUGGESTIONS = 3
_LONG_DIGITS = re.compile(r"\+?\d[\d\s\-]{7,}\d")


@dataclass(frozen=True, slots=True)
class Candidate:
    """An invoice a payment may be for, best first."""

    invoice_id: int
    reference: str  # INV-0042
    customer: str
    amount_due: Decimal
    why: str = ""  # "same amount", "name matches"


@dataclass(frozen=True, slots=True)
class Paid:
    """One invoice's share of a payment."""

    reference: str
    amount: Decimal
    still_due: Decimal = ZERO


@dataclass(frozen=True, slots=True)
class ChoiceData:
    """A tapped button, read back: `action` c (this candidate), o (other invoice), x (not an invoice)."""

    action: Literal["c", "o", "x"]
    payment_id: int
    invoice_id: int | None = None


# --- names, phones, dates --------------------------------------------------------------------------


def short_name(name: str | None) -> str:
    """`JOHN DOE KAMAU` -> `JOHN D.`, `Mary Wanjiku` -> `Mary W.`, `Mary` -> `Mary`; digits never pass."""
    words = [w for w in visible(name or "").split() if not any(ch.isdigit() for ch in w)]
    if not words:
        return ""
    return words[0] if len(words) == 1 else f"{words[0]} {words[1][0].upper()}."


def payer_label(name: str | None, phone: str | None = None) -> str:
    """Who paid, safe to show: the short name, else the masked phone, else `a customer`."""
    short = short_name(name)
    if short:
        return short
    canonical = normalise_phone(phone or "")
    return mask_phone(canonical) if canonical else "a customer"


def day_text(day: date, today: date | None = None, lang: Lang = "en") -> str:
    """`Fri 12 Dec` / `Ijumaa 12 Des`; the year is added when it is not this year."""
    if lang != "en":
        return catalogue.day(day, lang, today)
    text = f"{WEEKDAY_ABBR[day.weekday()]} {day.day} {MONTH_ABBR[day.month - 1]}"
    return text if today is None or today.year == day.year else f"{text} {day.year}"


def visible(text: str) -> str:
    """Without the invisible format characters (bidi overrides and isolates, zero-width spaces and joiners,
    byte-order marks: Unicode category Cf) a payer can hide in a name or reference to make an alert say
    something else than what is stored (`INV\u202e2400` shown as `INV0042`)."""
    return "".join(ch for ch in text if unicodedata.category(ch) != "Cf")


def safe_text(text: str) -> str:
    """Text that came from outside (a payer's reference) as it may be shown: invisible characters removed,
    anything that looks like a phone number masked."""

    def mask(found: re.Match[str]) -> str:
        canonical = normalise_phone(found.group(0))
        return mask_phone(canonical) if canonical else found.group(0)

    return _LONG_DIGITS.sub(mask, visible(text))


# --- payments --------------------------------------------------------------------------------------


def _from(amount: Decimal, payer_name: str | None, payer_phone: str | None) -> str:
    return f"{format_kes(amount)} from {payer_label(payer_name, payer_phone)}"


def paid_in_full(amount: Decimal, payer_name: str | None, invoice: str, payer_phone: str | None = None) -> Reply:
    """`KES 15,000.00 from JOHN D. paid INV-0042 in full`."""
    return Reply(f"{_from(amount, payer_name, payer_phone)} paid {invoice} in full")


def paid_partly(
    amount: Decimal, payer_name: str | None, invoice: str, still_due: Decimal, payer_phone: str | None = None
) -> Reply:
    return Reply(f"{_from(amount, payer_name, payer_phone)} paid part of {invoice}\nStill due: {format_kes(still_due)}")


def overpaid(
    amount: Decimal, payer_name: str | None, invoice: str, credit: Decimal, payer_phone: str | None = None
) -> Reply:
    return Reply(
        f"{_from(amount, payer_name, payer_phone)} paid {invoice} in full\n"
        f"{format_kes(credit)} extra kept as credit"
    )


def paid_several(
    amount: Decimal,
    payer_name: str | None,
    parts: Sequence[Paid],
    credit: Decimal = ZERO,
    payer_phone: str | None = None,
) -> Reply:
    """One payment split over several invoices, one line each."""
    lines = [f"{_from(amount, payer_name, payer_phone)} paid {len(parts)} invoices:"]
    for part in parts:
        tail = f" (still due {format_kes(part.still_due)})" if part.still_due > 0 else " in full"
        lines.append(f"{part.reference} {format_kes(part.amount)}{tail}")
    if credit > 0:
        lines.append(f"{format_kes(credit)} extra kept as credit")
    return Reply("\n".join(lines))


def suggestion(
    payment_id: int,
    amount: Decimal,
    payer_name: str | None,
    reference: str | None,
    candidates: Sequence[Candidate],
    payer_phone: str | None = None,
) -> Reply:
    """Which invoice is this? Up to three candidates as buttons, then Other invoice and Not an invoice."""
    ranked = candidates[:MAX_SUGGESTIONS]
    lines = [f"{_from(amount, payer_name, payer_phone)}{_ref(reference)}", "Which invoice is it for?"]
    choices: list[Choice] = []
    for number, candidate in enumerate(ranked, start=1):
        why = f" - {candidate.why}" if candidate.why else ""
        lines.append(f"{number}. {_candidate_label(candidate)}{why}")
        choices.append(Choice(_candidate_label(candidate), f"c:{payment_id}:{candidate.invoice_id}"))
    choices += [Choice("Other invoice", f"o:{payment_id}"), Choice("Not an invoice", f"x:{payment_id}")]
    return Reply("\n".join(lines), tuple(choices))


def unknown_payment(
    payment_id: int,
    amount: Decimal,
    payer_name: str | None,
    reference: str | None,
    trans_id: str,
    payer_phone: str | None = None,
) -> Reply:
    """A payment that fits no open invoice: say so, and offer to match it or set it aside."""
    return Reply(
        f"{_from(amount, payer_name, payer_phone)}{_ref(reference)}\n"
        f"No invoice fits. Receipt {trans_id}\n"
        f"To match it: /match {trans_id} INV-…",
        (Choice("Other invoice", f"o:{payment_id}"), Choice("Not an invoice", f"x:{payment_id}")),
    )


def flagged_callback(endpoint: str, received_at: datetime, reason: str) -> Reply:
    """A body at a callback address that is not a Daraja payload: kept, never counted, told to the owner."""
    return Reply(
        f"Warning: something that is not an M-Pesa payment reached your {endpoint} address "
        f"at {received_at:%H:%M} on {day_text(received_at.date())}.\n"
        f"Why: {reason}\n"
        "It was kept, not counted. If you did not expect it, tell us."
    )


def read_choice(data: str) -> ChoiceData | None:
    """The button data made above, read back; None for anything else (an old or forged button)."""
    parts = data.split(":")
    numbers = [plain_number(part) for part in parts[1:]]
    if len(parts) < 2 or any(n is None for n in numbers):
        return None
    if parts[0] == "c" and len(parts) == 3:
        return ChoiceData("c", numbers[0] or 0, numbers[1] or 0)
    if parts[0] in ("o", "x") and len(parts) == 2:
        return ChoiceData("o" if parts[0] == "o" else "x", numbers[0] or 0)
    return None


def _ref(reference: str | None) -> str:
    cleaned = safe_text((reference or "").strip())
    return f' (ref "{cleaned[:30]}")' if cleaned else ""


def _candidate_label(candidate: Candidate) -> str:
    who = payer_label(candidate.customer, candidate.customer)
    return f"{candidate.reference} {who} {format_kes(candidate.amount_due)}"


# --- invoices --------------------------------------------------------------------------------------


def how_to_pay(shortcode: str, reference: str, till: bool, lang: Lang = "en") -> str:
    """`Paybill 600984, account INV-0042` or `Till 600984, reference INV-0042`."""
    if till:
        return tr(lang, "Till {shortcode}, reference {reference}", shortcode=shortcode, reference=reference)
    return tr(lang, "Paybill {shortcode}, account {reference}", shortcode=shortcode, reference=reference)


def invoice_created(
    reference: str,
    customer: str,
    amount: Decimal,
    due: date | None,
    shortcode: str,
    till: bool = False,
    today: date | None = None,
    lang: Lang = "en",
) -> Reply:
    """`INV-0042 for Mary W. KES 2,500.00 due Fri 12 Dec` and how the customer pays."""
    who = payer_label(customer, customer)
    fields = {"reference": reference, "customer": who, "amount": format_kes(amount)}
    if due:
        head = tr(lang, "{reference} for {customer} {amount} due {day}", day=day_text(due, today, lang), **fields)
    else:
        head = tr(lang, "{reference} for {customer} {amount}", **fields)
    pays = tr(lang, "Customer pays: {how}", how=how_to_pay(shortcode, reference, till, lang))
    return Reply(f"{head}\n{pays}")


_ASK: dict[str, str] = {
    "customer": N_("Who is the invoice for? Send a name or phone, e.g. Mary Wanjiku"),
    "amount": N_("How much? e.g. 2500 or 2.5k"),
    "due": N_("When is it due? e.g. friday, 15 dec or in 7 days"),
}


def ask_for(part: str, lang: Lang = "en") -> Reply:
    """The question for one missing part of `/invoice` (`customer`, `amount`, `due`)."""
    return Reply(tr(lang, _ASK[part]))


# --- errors and help -------------------------------------------------------------------------------


def problem(reason: str, example: str, lang: Lang = "en") -> Reply:
    return Reply(tr(lang, "Sorry, {reason}.\nExample: {example}", reason=reason, example=example))


def input_problem(error: InputError) -> Reply:
    return problem(f"{safe_text(error.text)!r}: {error.reason}" if error.text.strip() else error.reason, error.example)


def grammar_problem(error: GrammarError, slash: bool = True) -> Reply:
    """`slash=False` shows the example without `/` (WhatsApp)."""
    example = error.example if slash else error.example.lstrip("/")
    return problem(safe_text(error.reason), example)


def help_reply(lines: Sequence[str], slash: bool = True, lang: Lang = "en") -> Reply:
    """The help list (grammar.HELP_TEXT[role]); WhatsApp people type commands without `/`. Plain words work
    too, in English or Kiswahili: the last line says so."""
    shown = [tr(lang, line) for line in lines]
    return Reply("\n".join(line if slash else line.removeprefix("/") for line in shown))


REPEAT_NOTE = "(Sent again: this may have reached you already.)"


def as_repeat(reply: Reply) -> Reply:
    """A delivery sent a second time because the first may not have arrived: said so, so nobody acts twice."""
    return replace(reply, text=f"{REPEAT_NOTE}\n{reply.text}")
