"""Outbox messages as the owner reads them: a `payment.alert` (and a `callback.flagged` warning) rendered with
bot.assistant.wording from its payload plus the book as it stands now (open balances, customer names).

Rendering happens at delivery time, so a partial payment says what is still due when the owner reads it.
Every read is by primary key and filtered by the outbox row's business.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import replace
from datetime import datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from bot.assistant import wording
from bot.assistant.messages import Reply
from bot.ledger.money import ZERO, format_kes
from bot.logs import get_logger
from bot.storage.customers import customer_names
from bot.storage.db import Session
from bot.storage.invoices import InvoiceBrief, invoice_briefs
from bot.storage.outbox import OutboxKind
from bot.storage.tables import BusinessRow, OutboxRow

log = get_logger("alerts")
PAYMENT_ALERT = OutboxKind.PAYMENT_ALERT
CALLBACK_FLAGGED = OutboxKind.CALLBACK_FLAGGED
# the journal's `source` (bot.storage.callbacks) in the owner's words
_ENDPOINTS = {"c2b_confirmation": "payment confirmation", "c2b_validation": "payment validation",
              "stk": "M-Pesa Express", "sms": "SMS forwarding"}


RECOVERED = "Recovered: this payment's notification never arrived (found by M-Pesa's Pull check)."


def render_payment_alert(session: Session, outbox: OutboxRow, p: Mapping[str, Any]) -> Reply:
    """The payment's words; a payment Pull Transactions recovered says so first."""
    reply = _payment_alert_words(session, outbox, p)
    return replace(reply, text=f"{RECOVERED}\n{reply.text}") if p.get("recovered") else reply


def _payment_alert_words(session: Session, outbox: OutboxRow, p: Mapping[str, Any]) -> Reply:
    business_id = outbox.business_id
    amount = Decimal(str(p["amount"]))
    payment_id = int(p["payment_id"])
    payer = p.get("payer_name") or None
    reference = p.get("reference") or None
    if p["decision"] == "auto" and p.get("applied"):
        return _applied(session, business_id, amount, payer, p["applied"])
    if p["decision"] == "suggest":
        candidates = _candidates(session, business_id, p.get("suggestions") or [])
        if candidates:
            return wording.suggestion(payment_id, amount, payer, reference, candidates)
    return wording.unknown_payment(payment_id, amount, payer, reference, str(p["trans_id"]))


def _applied(session: Session, business_id: int, amount: Decimal, payer: str | None,
             applied: Mapping[str, Any]) -> Reply:
    allocations = applied.get("allocations") or []
    credit = Decimal(str(applied.get("credit") or "0"))
    invoices = _invoices(session, business_id, (int(a["invoice_id"]) for a in allocations))
    if not allocations:
        customer = _customer_names(session, business_id, [_int_or_none(applied.get("customer_id"))])
        who = next(iter(customer.values()), "the customer")
        return Reply(f"{format_kes(amount)} from {wording.payer_label(payer)} kept as credit for "
                     f"{wording.payer_label(who, who)}")

    def still_due(allocation: Mapping[str, Any]) -> Decimal:
        found = invoices.get(int(allocation["invoice_id"]))
        return found.open_balance if found is not None else ZERO

    if len(allocations) == 1:
        number, due = str(allocations[0]["invoice"]), still_due(allocations[0])
        if credit > 0:
            return wording.overpaid(amount, payer, number, credit)
        if due > 0:
            return wording.paid_partly(amount, payer, number, due)
        return wording.paid_in_full(amount, payer, number)
    parts = [wording.Paid(str(a["invoice"]), Decimal(str(a["amount"])), still_due(a)) for a in allocations]
    return wording.paid_several(amount, payer, parts, credit)


def _candidates(session: Session, business_id: int, suggestions: list[Mapping[str, Any]]
                ) -> list[wording.Candidate]:
    """One candidate per suggested settlement (its first invoice), best first, still open now, no repeats."""
    firsts = [int(s["allocations"][0]["invoice_id"]) for s in suggestions if s and s.get("allocations")]
    invoices = _invoices(session, business_id, firsts)
    names = _customer_names(session, business_id, [i.customer_id for i in invoices.values()])
    out: list[wording.Candidate] = []
    for invoice_id in dict.fromkeys(firsts):
        invoice = invoices.get(invoice_id)
        if invoice is None or invoice.open_balance <= 0:
            continue  # paid or cancelled since the decision: not a sensible button any more
        customer = names.get(invoice.customer_id or 0, "")
        out.append(wording.Candidate(invoice.id, invoice.number, customer, invoice.open_balance))
    return out


def render_flagged_callback(session: Session, outbox: OutboxRow, p: Mapping[str, Any]) -> Reply:
    business = session.get(BusinessRow, outbox.business_id)
    zone = ZoneInfo(business.timezone if business is not None else "Africa/Nairobi")
    received = datetime.fromisoformat(str(p["received_at"])).astimezone(zone)
    endpoint = str(p.get("endpoint") or _ENDPOINTS.get(str(p.get("source")), "callback"))
    return wording.flagged_callback(endpoint, received, str(p.get("reason") or "unknown"))


def _invoices(session: Session, business_id: int, ids: Iterable[int]) -> dict[int, InvoiceBrief]:
    return invoice_briefs(session, business_id, list(ids))


def _customer_names(session: Session, business_id: int, ids: Iterable[int | None]) -> dict[int, str]:
    return customer_names(session, business_id, [i for i in ids if i is not None])


def _int_or_none(value: Any) -> int | None:
    try:
        return int(value) if value is not None else None
    except (TypeError, ValueError):
        return None


