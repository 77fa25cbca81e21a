"""Invoices of one business: the numbers it takes, the questions the chat and the validation path ask.
Every query is filtered by business_id, uses an index, and is bounded."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from sqlalchemy import Engine, Table, or_, update
from sqlmodel import Session, col, select

from bot.ledger.references import reference_key
from bot.storage.tables import (
    BusinessRow,
    CustomerPhoneRow,
    CustomerRow,
    InvoiceRow,
)

BUSINESS: Table = BusinessRow.__table__  # type: ignore[attr-defined]
INVOICE: Table = InvoiceRow.__table__  # type: ignore[attr-defined]
OPEN_STATUSES = ("open", "partial")


def take_invoice_number(session: Session, business_id: int) -> tuple[str, int]:
    """The business's number pattern and its next number, taken: one UPDATE … RETURNING, so two concurrent
    invoices never share one (the row lock serialises them on PostgreSQL, BEGIN IMMEDIATE on SQLite)."""
    row = session.connection().execute(
        update(BUSINESS).where(BUSINESS.c.id == business_id).values(invoice_next=BUSINESS.c.invoice_next + 1)
        .returning(BUSINESS.c.invoice_next, BUSINESS.c.invoice_format)).one()
    return str(row.invoice_format), int(row.invoice_next) - 1


@dataclass(frozen=True, slots=True)
class InvoiceBrief:
    id: int
    number: str
    open_balance: Decimal
    customer_id: int | None


def invoice_briefs(session: Session, business_id: int, ids: list[int]) -> dict[int, InvoiceBrief]:
    """Number, open balance and customer of some invoices of this business, by id."""
    wanted = sorted(set(ids))
    if not wanted:
        return {}
    query = select(INVOICE.c.id, INVOICE.c.number, INVOICE.c.open_balance, INVOICE.c.customer_id).where(
        INVOICE.c.business_id == business_id, INVOICE.c.id.in_(wanted))
    return {r.id: InvoiceBrief(r.id, r.number, r.open_balance, r.customer_id)
            for r in session.connection().execute(query)}


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



def reference_is_known(engine: Engine, business_id: int, reference: str) -> bool:
    """Does the account number typed name an open invoice or a customer's account code?"""
    key = reference_key(reference)  # the same key the book indexes invoices and account codes by
    if not key:
        return False
    with Session(engine) as session:
        invoice = session.execute(select(InvoiceRow.id).where(
            InvoiceRow.business_id == business_id, InvoiceRow.number_key == key,
            or_(InvoiceRow.status == "open", InvoiceRow.status == "partial")).limit(1)).first()
        if invoice is not None:
            return True
        customer = session.execute(select(CustomerRow.id).where(
            CustomerRow.business_id == business_id, CustomerRow.account_key == key).limit(1)).first()
        return customer is not None


@dataclass(frozen=True, slots=True)
class InvoiceToPay:
    """An open invoice as the payment simulator fills its form: number, customer, a phone, what is still due."""

    number: str
    customer: str
    phone: str
    open_balance: Decimal


def invoices_to_pay(session: Session, business_id: int, limit: int = 10) -> list[InvoiceToPay]:
    """This business's open invoices, oldest first, each with one of its customer's phones (or "")."""
    query = (select(InvoiceRow, CustomerRow.name)
             .join(CustomerRow, col(CustomerRow.id) == col(InvoiceRow.customer_id), isouter=True)
             .where(InvoiceRow.business_id == business_id, col(InvoiceRow.open_balance) > 0)
             .order_by(col(InvoiceRow.id)).limit(limit))
    rows = list(session.exec(query))
    customer_ids = {inv.customer_id for inv, _ in rows if inv.customer_id is not None}
    phones: dict[int, str] = {}
    if customer_ids:
        for phone in session.exec(select(CustomerPhoneRow).where(
                CustomerPhoneRow.business_id == business_id, col(CustomerPhoneRow.customer_id).in_(customer_ids))
                .order_by(col(CustomerPhoneRow.id))):
            phones.setdefault(phone.customer_id, phone.phone)
    return [InvoiceToPay(inv.number, name or "", phones.get(inv.customer_id or 0, ""), inv.open_balance)
            for inv, name in rows]


def phone_hash_of(session: Session, business_id: int, customer_id: int) -> str | None:
    """The sha256 of a customer's first phone (a manual payment from them carries it, like an M-Pesa one)."""
    return session.exec(select(CustomerPhoneRow.phone_sha256).where(
        CustomerPhoneRow.business_id == business_id, CustomerPhoneRow.customer_id == customer_id)
        .order_by(col(CustomerPhoneRow.id)).limit(1)).first()
def touch_invoices(session: Session, business_id: int, invoice_ids: Sequence[int]) -> dict[int, Decimal]:
    """Open balances of some invoices (locked on PostgreSQL): the before/after of an owner action."""
    if not invoice_ids:
        return {}
    query = select(INVOICE.c.id, INVOICE.c.open_balance).where(
        INVOICE.c.business_id == business_id, INVOICE.c.id.in_(sorted(set(invoice_ids))))
    if _is_postgres(session):
        query = query.with_for_update()
    return {r.id: r.open_balance for r in session.connection().execute(query)}


INVOICE: Table = InvoiceRow.__table__  # type: ignore[attr-defined]


def _is_postgres(session: Session) -> bool:
    return session.connection().dialect.name == "postgresql"
