"""Read-only questions the chat asks about one business's book. Every query is filtered by business_id,
uses an index, and is bounded."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import BigInteger, case, func, type_coerce
from sqlmodel import Session, col, select

from bot.ledger.money import ZERO
from bot.storage.tables import CustomerRow, InvoiceRow, PaymentRow

OPEN_STATUSES = ("open", "partial")


@dataclass(frozen=True, slots=True)
class InvoiceLine:
    number: str
    customer: str
    amount: Decimal
    open_balance: Decimal
    due: date | None
    status: str


@dataclass(frozen=True, slots=True)
class Totals:
    count: int
    total: Decimal
    matched_count: int
    matched_total: Decimal
    needs_owner: int


def invoice_lines(session: Session, business_id: int, which: str, today: date, limit: int = 15) -> list[InvoiceLine]:
    query = (select(InvoiceRow, CustomerRow.name)
             .join(CustomerRow, col(CustomerRow.id) == col(InvoiceRow.customer_id), isouter=True)
             .where(InvoiceRow.business_id == business_id))
    if which in ("open", "overdue"):
        query = query.where(col(InvoiceRow.status).in_(OPEN_STATUSES))
    if which == "overdue":
        query = query.where(col(InvoiceRow.due) < today)
    order = col(InvoiceRow.id).desc() if which == "all" else col(InvoiceRow.issued)
    return [InvoiceLine(inv.number, name or "", inv.amount, inv.open_balance, inv.due, inv.status)
            for inv, name in session.exec(query.order_by(order).limit(limit))]


def payments_needing_owner(session: Session, business_id: int, limit: int = 10) -> list[PaymentRow]:
    query = (select(PaymentRow).where(PaymentRow.business_id == business_id,
                                      col(PaymentRow.status).in_(("unmatched", "suggested")))
             .order_by(col(PaymentRow.paid_at).desc()).limit(limit))
    return list(session.exec(query))


def payment_totals(session: Session, business_id: int, start: datetime, end: datetime) -> Totals:
    """Payments with start <= paid_at < end, summed in SQL (money stays integer cents until it is a Decimal)."""
    matched = PaymentRow.status == "matched"
    needs = col(PaymentRow.status).in_(("unmatched", "suggested"))
    cents = type_coerce(PaymentRow.amount, BigInteger)  # sum raw integer cents, convert once
    row = session.exec(select(
        func.count(), func.coalesce(func.sum(cents), 0),
        func.coalesce(func.sum(case((matched, 1), else_=0)), 0),
        func.coalesce(func.sum(case((matched, cents), else_=0)), 0),
        func.coalesce(func.sum(case((needs, 1), else_=0)), 0),
    ).where(PaymentRow.business_id == business_id, PaymentRow.paid_at >= start, PaymentRow.paid_at < end)).one()
    return Totals(int(row[0]), _cents(row[1]), int(row[2]), _cents(row[3]), int(row[4]))


def _cents(value: object) -> Decimal:
    """Integer cents from a SUM over a type-coerced Cents column to exact shillings."""
    return (Decimal(int(value)) / 100).quantize(Decimal("0.01")) if value else ZERO  # type: ignore[call-overload]


def customer_balances(session: Session, business_id: int, customer_ids: list[int]) -> dict[int, Decimal]:
    """What each customer still owes on open invoices."""
    if not customer_ids:
        return {}
    rows = session.exec(select(InvoiceRow.customer_id, func.sum(type_coerce(InvoiceRow.open_balance, BigInteger)))
                        .where(InvoiceRow.business_id == business_id, col(InvoiceRow.customer_id).in_(customer_ids),
                               col(InvoiceRow.status).in_(OPEN_STATUSES))
                        .group_by(col(InvoiceRow.customer_id)))
    return {int(cid): _cents(total) for cid, total in rows if cid is not None}


def customer_credit(session: Session, business_id: int, customer_id: int) -> Decimal:
    row = session.exec(select(CustomerRow.credit).where(CustomerRow.business_id == business_id,
                                                        CustomerRow.id == customer_id)).first()
    return row if row is not None else ZERO
