"""Reversals from any source (a "... has been reversed" SMS, a statement's reversal row, Pull): the payment is
marked reversed, whatever it paid is taken off its invoices (they reopen) and the owner is told once.

`reverse_payment` is the one way to do it: callers pass the receipt and which source said so.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from bot.bookkeeping.actions import ignore_payment
from bot.storage.db import Session
from bot.storage.outbox import OutboxKind, queue_message
from bot.storage.payments import current_settlement, payment_by_trans_id
from bot.storage.tables import PaymentRow

REVERSED_KIND = OutboxKind.PAYMENT_REVERSED


@dataclass(frozen=True, slots=True)
class Reversal:
    outcome: str  # reversed | already | unknown
    payment_id: int | None = None
    reopened: tuple[str, ...] = ()  # invoice numbers that were open again


def reverse_payment(session: Session, business_id: int, trans_id: str, source: str, now: datetime) -> Reversal:
    """Within the caller's unit of work; never commits. A receipt the book does not know is `unknown`: nothing to
    undo (the statement or SMS shows the money went back before we ever saw it)."""
    payment = payment_by_trans_id(session, business_id, trans_id)
    if payment is None:
        return Reversal("unknown")
    if payment.status == "reversed":
        return Reversal("already", payment.id)
    applied = current_settlement(session, payment)
    reopened = tuple(a.number for a in applied.allocations) if applied is not None else ()
    if applied is not None:
        result = ignore_payment(session, business_id, payment.id or 0, f"reversal ({source})")
        if not result.ok:
            return Reversal("unknown", payment.id)
        session.refresh(payment)
    _mark_reversed(session, payment, now)
    queue_message(session, business_id, REVERSED_KIND, f"{REVERSED_KIND}:{payment.id}", {
        "payment_id": payment.id, "trans_id": payment.trans_id, "amount": f"{payment.amount:.2f}",
        "source": source, "reopened": list(reopened)}, now)
    return Reversal("reversed", payment.id, reopened)


def _mark_reversed(session: Session, payment: PaymentRow, now: datetime) -> None:
    payment.status = "reversed"
    if payment.processed_at is None:
        payment.processed_at = now  # never matched after this
    session.add(payment)
    session.flush()
