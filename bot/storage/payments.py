"""Reading payments back: exports and lookups. Always filtered by business."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, Table, update
from sqlmodel import Session, col, select

from bot.ledger.allocation import Allocation, Settlement
from bot.ledger.money import ZERO
from bot.storage.tables import (
    AllocationRow,
    CustomerRow,
    InvoiceRow,
    PaymentRow,
)

PAYMENT: Table = PaymentRow.__table__  # type: ignore[attr-defined]


def payments_between(session: Session, business_id: int, start: datetime | None,
                     end: datetime | None) -> list[PaymentRow]:
    """Payments with `start <= paid_at < end` (half-open), oldest first."""
    query = select(PaymentRow).where(PaymentRow.business_id == business_id)
    if start is not None:
        query = query.where(PaymentRow.paid_at >= start)
    if end is not None:
        query = query.where(PaymentRow.paid_at < end)
    return list(session.exec(query.order_by(col(PaymentRow.paid_at), col(PaymentRow.id))))


def payments_needing_owner(session: Session, business_id: int, limit: int = 10) -> list[PaymentRow]:
    query = (select(PaymentRow).where(PaymentRow.business_id == business_id,
                                      col(PaymentRow.status).in_(("unmatched", "suggested")))
             .order_by(col(PaymentRow.paid_at).desc()).limit(limit))
    return list(session.exec(query))


# claiming ------------------------------------------------------------------------------------------
def claim_payment(session: Session, payment_id: int) -> PaymentRow | None:
    """Lock one payment whose matching has not run, or None (already processed, or another process holds it).

    PostgreSQL: FOR UPDATE SKIP LOCKED, so a second server process moves on instead of waiting and then
    processing it again. SQLite: the unit of work began with BEGIN IMMEDIATE, so this transaction is the
    only writer until it commits and `processed_at IS NULL` cannot change under it."""
    query = select(PaymentRow).where(PaymentRow.id == payment_id,  # type: ignore[arg-type]
                                     PaymentRow.processed_at.is_(None))  # type: ignore[union-attr]
    if _is_postgres(session):
        query = query.with_for_update(skip_locked=True)
    return session.scalars(query).first()


def unprocessed_payment_ids(session: Session, older_than: datetime, limit: int) -> list[int]:
    """Payments matching never ran for (a crash, a restart), oldest first, skipping ones being processed.
    Partial index ix_payment_pending keeps this cheap however large the payment table grows."""
    query = (select(PAYMENT.c.id).where(PAYMENT.c.processed_at.is_(None), PAYMENT.c.created_at < older_than)
             .order_by(PAYMENT.c.created_at, PAYMENT.c.id).limit(limit))
    if _is_postgres(session):
        query = query.with_for_update(skip_locked=True)
    return [r[0] for r in session.connection().execute(query)]


# payments and their allocations ---------------------------------------------------------------------
def payment_of(session: Session, business_id: int, payment_id: int) -> PaymentRow | None:
    query = select(PaymentRow).where(PaymentRow.business_id == business_id, PaymentRow.id == payment_id)
    if _is_postgres(session):
        query = query.with_for_update()
    return session.scalars(query).first()


def payment_by_trans_id(session: Session, business_id: int, trans_id: str) -> PaymentRow | None:
    query = select(PaymentRow).where(PaymentRow.business_id == business_id,
                                     PaymentRow.trans_id == trans_id.strip().upper())
    if _is_postgres(session):
        query = query.with_for_update()
    return session.scalars(query).first()


def current_settlement(session: Session, payment: PaymentRow) -> Settlement | None:
    """What is on the book for this payment now; None when nothing is (unmatched, suggested, ignored)."""
    rows = session.connection().execute(
        select(ALLOCATION.c.invoice_id, INVOICE.c.number, ALLOCATION.c.amount)
        .join(INVOICE, INVOICE.c.id == ALLOCATION.c.invoice_id)
        .where(ALLOCATION.c.business_id == payment.business_id, ALLOCATION.c.payment_id == payment.id)
        .order_by(ALLOCATION.c.id)).all()
    if payment.customer_id is None and not rows:
        return None
    allocations = tuple(Allocation(str(r.invoice_id), r.number, r.amount) for r in rows)
    customer = str(payment.customer_id) if payment.customer_id is not None else None
    return Settlement(customer, allocations, payment.credit)


def record_settlement(session: Session, payment: PaymentRow, settlement: Settlement | None, status: str) -> None:
    """Make the payment's allocation rows, customer and credit say `settlement` (None: nothing applied).
    The balances themselves are moved by SqlBook.apply with the same settlement's changes."""
    assert payment.id is not None
    session.connection().execute(ALLOCATION.delete().where(ALLOCATION.c.business_id == payment.business_id,
                                                           ALLOCATION.c.payment_id == payment.id))
    if settlement is not None and settlement.allocations:
        session.connection().execute(ALLOCATION.insert(), [
            {"business_id": payment.business_id, "payment_id": payment.id, "invoice_id": int(a.invoice_id),
             "amount": a.amount, "created_at": payment.processed_at or payment.created_at}
            for a in settlement.allocations])
    has_owner = settlement is not None and settlement.customer_id is not None
    payment.customer_id = int(settlement.customer_id) if has_owner and settlement and settlement.customer_id else None
    payment.credit = settlement.credit if settlement is not None else ZERO
    payment.status = status
    session.add(payment)
    session.flush()


def allocations_by_payment(session: Session, business_id: int, payment_ids: Sequence[int]
                           ) -> dict[int, list[dict[str, str]]]:
    """`{payment_id: [{invoice, customer, amount}]}` for exports: the customer is the invoice's, since one
    payment may pay several customers' invoices (a parent's payment for two pupils)."""
    out: dict[int, list[dict[str, str]]] = {}
    if not payment_ids:
        return out
    rows = session.connection().execute(
        select(ALLOCATION.c.payment_id, INVOICE.c.number, CUSTOMER.c.name, ALLOCATION.c.amount)
        .join(INVOICE, INVOICE.c.id == ALLOCATION.c.invoice_id)
        .outerjoin(CUSTOMER, CUSTOMER.c.id == INVOICE.c.customer_id)
        .where(ALLOCATION.c.business_id == business_id, ALLOCATION.c.payment_id.in_(list(payment_ids)))
        .order_by(ALLOCATION.c.id))
    for r in rows:
        out.setdefault(r.payment_id, []).append({"invoice": r.number, "customer": r.name or "",
                                                 "amount": f"{r.amount:.2f}"})
    return out


# a settlement as the decision row keeps it ---------------------------------------------------------------
def settlement_to_json(settlement: Settlement | None) -> Any:
    if settlement is None:
        return None
    return {"customer_id": settlement.customer_id, "credit": str(settlement.credit),
            "allocations": [{"invoice_id": a.invoice_id, "invoice": a.number, "amount": str(a.amount)}
                            for a in settlement.allocations]}


def settlement_from_json(data: Any) -> Settlement | None:
    if data is None:
        return None
    allocations = tuple(Allocation(a["invoice_id"], a["invoice"], Decimal(a["amount"])) for a in data["allocations"])
    return Settlement(data["customer_id"], allocations, Decimal(data["credit"]))


def _is_postgres(session: Session) -> bool:
    return session.connection().dialect.name == "postgresql"


PAYMENT: Table = PaymentRow.__table__  # type: ignore[attr-defined]


ALLOCATION: Table = AllocationRow.__table__  # type: ignore[attr-defined]


INVOICE: Table = InvoiceRow.__table__  # type: ignore[attr-defined]


CUSTOMER: Table = CustomerRow.__table__  # type: ignore[attr-defined]


def confirm_payments(conn: Connection, business_id: int, trans_ids: Sequence[str], now: datetime) -> int:
    """Safaricom itself reported these receipts (Pull, Transaction Status): mark them confirmed once."""
    if not trans_ids:
        return 0
    result = conn.execute(update(PAYMENT).where(PAYMENT.c.business_id == business_id,
                                                PAYMENT.c.trans_id.in_(list(trans_ids)),
                                                PAYMENT.c.confirmed_at.is_(None)).values(confirmed_at=now))
    return int(result.rowcount or 0)


def stored_amounts(conn: Connection, business_id: int, trans_ids: Sequence[str]) -> dict[str, Decimal]:
    rows = conn.execute(select(PAYMENT.c.trans_id, PAYMENT.c.amount).where(
        PAYMENT.c.business_id == business_id, PAYMENT.c.trans_id.in_(list(trans_ids))))
    return {r.trans_id: r.amount for r in rows}
