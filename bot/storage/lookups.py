"""Read-only questions the chat asks about one business's book. Every query is filtered by business_id,
uses an index, and is bounded."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from sqlalchemy import BigInteger, func, type_coerce
from sqlmodel import Session, col, select

from bot.ledger.money import ZERO
from bot.storage.tables import CustomerRow, InvoiceRow, PaymentRow
from bot.storage.types import money_from_cents

OPEN_STATUSES = ("open", "partial")


@dataclass(frozen=True, slots=True)
class InvoiceLine:
    number: str
    customer: str
    amount: Decimal
    open_balance: Decimal
    due: date | None
    status: str


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


def customer_balances(session: Session, business_id: int, customer_ids: list[int]) -> dict[int, Decimal]:
    """What each customer still owes on open invoices."""
    if not customer_ids:
        return {}
    rows = session.exec(select(InvoiceRow.customer_id, func.sum(type_coerce(InvoiceRow.open_balance, BigInteger)))
                        .where(InvoiceRow.business_id == business_id, col(InvoiceRow.customer_id).in_(customer_ids),
                               col(InvoiceRow.status).in_(OPEN_STATUSES))
                        .group_by(col(InvoiceRow.customer_id)))
    return {int(cid): money_from_cents(total) for cid, total in rows if cid is not None}


def customer_credit(session: Session, business_id: int, customer_id: int) -> Decimal:
    row = session.exec(select(CustomerRow.credit).where(CustomerRow.business_id == business_id,
                                                        CustomerRow.id == customer_id)).first()
    return row if row is not None else ZERO
