"""Customers of one business: names, what they owe, their credit. Filtered by business_id, bounded."""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import BigInteger, func, type_coerce
from sqlmodel import Session, col, select

from bot.ledger.money import ZERO
from bot.storage.invoices import OPEN_STATUSES
from bot.storage.tables import CustomerRow, InvoiceRow
from bot.storage.types import money_from_cents


def customer_exists(session: Session, business_id: int, customer_id: int) -> bool:
    return session.exec(select(CustomerRow.id).where(CustomerRow.business_id == business_id,
                                                     CustomerRow.id == customer_id)).first() is not None


def customer_names(session: Session, business_id: int, ids: list[int]) -> dict[int, str]:
    wanted = sorted(set(ids))
    if not wanted:
        return {}
    rows = session.exec(select(CustomerRow.id, CustomerRow.name).where(CustomerRow.business_id == business_id,
                                                                      col(CustomerRow.id).in_(wanted)))
    return {int(cid): name for cid, name in rows if cid is not None}


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
