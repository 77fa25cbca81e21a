"""Aggregates for summaries and digests, computed in SQL, and the dispatch record of scheduled messages.

Every query is filtered by business and reads an index: payments by `ix_payment_business_paid`
(business_id, paid_at), open invoices by `ix_invoice_open_due`. Money is summed as integer cents and
becomes a Decimal once; no payment row is loaded into Python, so a business with a million payments
costs what its day's (or fortnight's) rows cost.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import BigInteger, Table, and_, case, func, select, type_coerce
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session

from bot.ledger.money import ZERO
from bot.ledger.summaries import DayTotal, InvoiceTotal, PayerTotal, PaymentFigures
from bot.storage.tables import (
    BusinessRow,
    CustomerRow,
    InvoiceRow,
    MatchDecisionRow,
    PaymentRow,
    SummaryDispatchRow,
)
from bot.storage.types import money_from_cents as _cents

PAYMENT: Table = PaymentRow.__table__  # type: ignore[attr-defined]
INVOICE: Table = InvoiceRow.__table__  # type: ignore[attr-defined]
CUSTOMER: Table = CustomerRow.__table__  # type: ignore[attr-defined]
DECISION: Table = MatchDecisionRow.__table__  # type: ignore[attr-defined]
BUSINESS: Table = BusinessRow.__table__  # type: ignore[attr-defined]
DISPATCH: Table = SummaryDispatchRow.__table__  # type: ignore[attr-defined]
NEEDS_OWNER = ("unmatched", "suggested")
OPEN_STATUSES = ("open", "partial")


@dataclass(frozen=True, slots=True)
class ScheduledBusiness:
    id: int
    name: str
    timezone: str
    settings_json: str
    created_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class DueInvoice:
    number: str
    customer: str
    open_balance: Decimal
    due: date


def _in_period(business_id: int, start: datetime, end: datetime) -> Any:
    # a reversed payment (a recording undone, M-Pesa taking it back) was never takings
    return and_(PAYMENT.c.business_id == business_id, PAYMENT.c.paid_at >= start, PAYMENT.c.paid_at < end,
                PAYMENT.c.status != "reversed")


# --- payments ----------------------------------------------------------------------------------------


def payment_figures(session: Session, business_id: int, start: datetime, end: datetime) -> PaymentFigures:
    """Totals of payments with start <= paid_at < end: all, matched by the engine, matched, needing the owner."""
    cents = type_coerce(PAYMENT.c.amount, BigInteger)
    matched = PAYMENT.c.status == "matched"
    auto = and_(matched, DECISION.c.kind == "auto")
    needs = PAYMENT.c.status.in_(NEEDS_OWNER)

    def both(condition: Any) -> list[Any]:
        return [func.coalesce(func.sum(case((condition, 1), else_=0)), 0),
                func.coalesce(func.sum(case((condition, cents), else_=0)), 0)]

    query = (select(func.count(), func.coalesce(func.sum(cents), 0), *both(auto), *both(matched), *both(needs))
             .select_from(PAYMENT.outerjoin(DECISION, DECISION.c.payment_id == PAYMENT.c.id))
             .where(_in_period(business_id, start, end)))
    r = session.connection().execute(query).one()
    return PaymentFigures(int(r[0]), _cents(r[1]), int(r[2]), _cents(r[3]), int(r[4]), _cents(r[5]),
                          int(r[6]), _cents(r[7]))


def daily_totals(session: Session, business_id: int, days: Sequence[date], edges: Sequence[datetime]
                 ) -> list[DayTotal]:
    """Per local day: `edges` are the len(days) + 1 local midnights around `days`. One range scan; the day of
    each payment is found by comparing with the edges (exact for any zone, DST included), grouped in SQL."""
    assert len(edges) == len(days) + 1
    bucket = case(*[(PAYMENT.c.paid_at < edge, i) for i, edge in enumerate(edges[1:])], else_=len(days))
    rows = (select(bucket.label("bucket"), type_coerce(PAYMENT.c.amount, BigInteger).label("cents"))
            .where(_in_period(business_id, edges[0], edges[-1])).subquery())
    query = select(rows.c.bucket, func.count(), func.sum(rows.c.cents)).group_by(rows.c.bucket)
    found = {int(b): (int(n), _cents(total)) for b, n, total in session.connection().execute(query)}
    return [DayTotal(day, found.get(i, (0, ZERO))[1], found.get(i, (0, ZERO))[0]) for i, day in enumerate(days)]


def payer_totals(session: Session, business_id: int, start: datetime, end: datetime, limit: int = 10
                 ) -> list[PayerTotal]:
    """Who paid most in the period: the customer's name once a payment is settled, else the payer's name."""
    cents = type_coerce(PAYMENT.c.amount, BigInteger)
    who = func.coalesce(CUSTOMER.c.name, PAYMENT.c.payer_name).label("who")
    query = (select(who, func.sum(cents).label("total"), func.count())
             .select_from(PAYMENT.outerjoin(CUSTOMER, CUSTOMER.c.id == PAYMENT.c.customer_id))
             .where(_in_period(business_id, start, end))
             .group_by(who).order_by(func.sum(cents).desc(), who).limit(limit))
    return [PayerTotal(name or "", _cents(total), int(n)) for name, total, n in session.connection().execute(query)]


# --- invoices ----------------------------------------------------------------------------------------


def invoice_figures(session: Session, business_id: int, today: date
                    ) -> tuple[InvoiceTotal, InvoiceTotal, InvoiceTotal]:
    """(paid in part, overdue, due today) over the open invoices, with what is still open on each group."""
    open_cents = type_coerce(INVOICE.c.open_balance, BigInteger)
    groups = (INVOICE.c.status == "partial", INVOICE.c.due < today, INVOICE.c.due == today)
    columns = [agg for cond in groups for agg in (func.coalesce(func.sum(case((cond, 1), else_=0)), 0),
                                                   func.coalesce(func.sum(case((cond, open_cents), else_=0)), 0))]
    query = select(*columns).where(INVOICE.c.business_id == business_id, INVOICE.c.open_balance > 0,
                                   INVOICE.c.status.in_(OPEN_STATUSES))
    r = session.connection().execute(query).one()
    return (InvoiceTotal(int(r[0]), _cents(r[1])), InvoiceTotal(int(r[2]), _cents(r[3])),
            InvoiceTotal(int(r[4]), _cents(r[5])))


def invoices_due_by(session: Session, business_id: int, today: date, limit: int = 10) -> list[DueInvoice]:
    """Open invoices due today or earlier, oldest due first: the morning digest's lines."""
    query = (select(INVOICE.c.number, CUSTOMER.c.name, INVOICE.c.open_balance, INVOICE.c.due)
             .select_from(INVOICE.outerjoin(CUSTOMER, CUSTOMER.c.id == INVOICE.c.customer_id))
             .where(INVOICE.c.business_id == business_id, INVOICE.c.open_balance > 0, INVOICE.c.due <= today,
                    INVOICE.c.status.in_(OPEN_STATUSES))
             .order_by(INVOICE.c.due, INVOICE.c.number).limit(limit))
    return [DueInvoice(r.number, r.name or "", r.open_balance, r.due) for r in session.connection().execute(query)]


# --- scheduling --------------------------------------------------------------------------------------


def scheduled_businesses(session: Session) -> list[ScheduledBusiness]:
    query = select(BUSINESS.c.id, BUSINESS.c.name, BUSINESS.c.timezone, BUSINESS.c.settings_json,
                   BUSINESS.c.created_at).order_by(BUSINESS.c.id)
    return [ScheduledBusiness(r.id, r.name, r.timezone, r.settings_json or "{}", _aware(r.created_at))
            for r in session.connection().execute(query)]


def _aware(value: datetime | None) -> datetime | None:
    return value.replace(tzinfo=UTC) if value is not None and value.tzinfo is None else value


def dispatched(session: Session, kind: str, days: Sequence[date]) -> set[tuple[int, date]]:
    """(business_id, day) pairs already claimed for `kind` on any of `days`: the scheduler skips them."""
    if not days:
        return set()
    query = select(DISPATCH.c.business_id, DISPATCH.c.day).where(DISPATCH.c.kind == kind,
                                                                 DISPATCH.c.day.in_(sorted(set(days))))
    return {(r.business_id, r.day) for r in session.connection().execute(query)}


def claim_dispatch(session: Session, business_id: int, kind: str, day: date, now: datetime,
                   *, queued: bool = True) -> bool:
    """Claim (business, kind, day) once: True only for the transaction whose insert won. Callers queue the
    message in the same transaction, so a claim and its message commit (or vanish) together."""
    dialect = postgresql if session.connection().dialect.name == "postgresql" else sqlite
    stmt = dialect.insert(DISPATCH).values(business_id=business_id, kind=kind, day=day, queued=queued,
                                           created_at=now)
    # RETURNING says whether this insert won; rowcount does not (SQLAlchemy adds an implicit RETURNING on
    # PostgreSQL, and then rowcount read 1 for the loser of a concurrent insert too)
    stmt = stmt.on_conflict_do_nothing(index_elements=["business_id", "kind", "day"]).returning(DISPATCH.c.id)
    return session.connection().execute(stmt).first() is not None
