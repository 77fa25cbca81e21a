"""A payment the owner or staff received outside the M-Pesa callbacks (cash, a personal number, a cheque),
recorded from the chat: "Mary amelipa 2000 cash".

It becomes a payment like any other, with source `manual`, and is matched at once by the same engine (a
known customer's name and phone are its evidence), so it pays invoices, shows in summaries and exports as
`manual`, and alerts the owner. Who recorded it is kept on its sighting. The recording is an owner action:
`undo` takes the payment off again (its status becomes `reversed`, its allocations are removed).
Runs inside the caller's unit of work; never commits.
"""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from bot.bookkeeping.actions import _snapshot
from bot.bookkeeping.invoices import find_customers
from bot.bookkeeping.processing import process_payment
from bot.ledger.money import format_kes
from bot.ledger.phones import MsisdnKind, phone_sha256
from bot.storage.db import Session
from bot.storage.decisions import record_action
from bot.storage.invoices import phone_hash_of
from bot.storage.payments import current_settlement
from bot.storage.tables import CustomerRow, OwnerActionRow, PaymentRow, PaymentSightingRow

RECEIPT_PREFIX = "CASH"  # a manual receipt: CASH + 6 letters/digits, never an M-Pesa code (those are 10 too)
_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"


@dataclass(frozen=True, slots=True)
class Recorded:
    ok: bool
    trans_id: str = ""
    payment_id: int | None = None
    status: str = ""  # matched | suggested | unmatched, as the engine decided
    customer: str = ""
    candidates: tuple[str, ...] = ()  # several customers by that name: say which (nothing is recorded)


def record_manual_payment(session: Session, business_id: int, customer: str, phone: str | None, amount: Decimal,
                          actor: str, now: datetime) -> Recorded:
    """Record `amount` received from `customer` (a name or a 12-digit phone) and match it."""
    found = find_customers(session, business_id, phone or customer)
    if len(found) > 1 and not any(c.name.casefold() == customer.casefold() for c in found):
        return Recorded(False, candidates=tuple(c.name for c in found[:5]))
    known = next((c for c in found if c.name.casefold() == customer.casefold()), found[0] if found else None)
    payment = PaymentRow(business_id=business_id, trans_id=_new_receipt(), source="manual", sources="manual",
                         amount=amount, paid_at=now, payer_name=known.name if known else customer, created_at=now,
                         shortcode="")
    hashed = phone_sha256(phone) if phone else (phone_hash_of(session, business_id, known.id) if known else None)
    if hashed:
        payment.msisdn_kind, payment.phone_sha256 = MsisdnKind.PLAIN.value, hashed
    session.add(payment)
    session.flush()
    session.add(PaymentSightingRow(business_id=business_id, payment_id=payment.id or 0, trans_id=payment.trans_id,
                                   source="manual", amount=amount, paid_at=now, outcome="created",
                                   detail=f"recorded by {actor}", shortcode=""))
    before = _snapshot(session, payment)
    before["payment"]["status"] = "reversed"  # undoing the recording takes the payment off the book
    processed = process_payment(session, payment.id or 0, now)
    settlement = current_settlement(session, payment)
    after = _snapshot(session, payment, settlement)
    before["invoices"] = {k: str(Decimal(v) + _share(settlement, k)) for k, v in after["invoices"].items()}
    before["credits"] = {k: str(Decimal(v) - (payment.credit if str(payment.customer_id) == k else Decimal(0)))
                         for k, v in after["credits"].items()}
    summary = f"recorded {format_kes(amount)} from {payment.payer_name} ({payment.trans_id})"
    record_action(session, OwnerActionRow(business_id=business_id, payment_id=payment.id, kind="record", actor=actor,
                                          summary=summary, before=json.dumps(before), after=json.dumps(after),
                                          created_at=now))
    row = session.get(CustomerRow, payment.customer_id) if payment.customer_id else None
    name = row.name if row is not None and row.business_id == business_id else payment.payer_name
    return Recorded(True, payment.trans_id, payment.id, processed.status if processed else payment.status, name)


def _share(settlement: object, invoice_id: str) -> Decimal:
    allocations = getattr(settlement, "allocations", ()) or ()
    return sum((a.amount for a in allocations if str(a.invoice_id) == invoice_id), Decimal("0.00"))


def _new_receipt() -> str:
    return RECEIPT_PREFIX + "".join(secrets.choice(_ALPHABET) for _ in range(6))
