"""What each source saw, for /verify, /reconcile and the callback health alarm. Reads only, by business."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import Table, func, select
from sqlmodel import Session

from bot.storage.tables import CallbackRow, PaymentRow, PaymentSightingRow

PAYMENT: Table = PaymentRow.__table__  # type: ignore[attr-defined]
SIGHTING: Table = PaymentSightingRow.__table__  # type: ignore[attr-defined]
CALLBACK: Table = CallbackRow.__table__  # type: ignore[attr-defined]
CALLBACK_SOURCES = ("c2b", "stk")  # what Safaricom pushes to us; the rest we fetch or are given
LATER_SOURCES = ("pull", "sms", "statement")
JOURNAL_CALLBACKS = ("c2b_confirmation", "stk")


@dataclass(frozen=True, slots=True)
class Seen:
    source: str
    outcome: str
    amount: str
    detail: str


@dataclass
class SourceFigures:
    payments: int = 0
    per_source: dict[str, int] = field(default_factory=dict)  # payments each source saw
    only_later: dict[str, int] = field(default_factory=dict)  # payments no callback saw, by the source that found it
    conflicts: list[tuple[str, str]] = field(default_factory=list)  # (receipt, what disagreed)
    reversed: list[str] = field(default_factory=list)


def sightings_of(session: Session, business_id: int, payment_id: int) -> list[Seen]:
    rows = session.connection().execute(
        select(SIGHTING.c.source, SIGHTING.c.outcome, SIGHTING.c.amount, SIGHTING.c.detail)
        .where(SIGHTING.c.business_id == business_id, SIGHTING.c.payment_id == payment_id).order_by(SIGHTING.c.id))
    return [Seen(r.source, r.outcome, f"{r.amount:.2f}", r.detail) for r in rows]


def source_figures(session: Session, business_id: int, start: datetime, end: datetime) -> SourceFigures:
    """Payments paid in [start, end): how many each source saw, which no callback saw, conflicts, reversals."""
    conn = session.connection()
    in_period = (PAYMENT.c.business_id == business_id) & (PAYMENT.c.paid_at >= start) & (PAYMENT.c.paid_at < end)
    figures = SourceFigures()
    seen: dict[int, set[str]] = {}
    first: dict[int, str] = {}
    rows = conn.execute(select(PAYMENT.c.id, PAYMENT.c.source, PAYMENT.c.trans_id, PAYMENT.c.status,
                               SIGHTING.c.source.label("seen_by"), SIGHTING.c.outcome, SIGHTING.c.detail)
                        .join(SIGHTING, SIGHTING.c.payment_id == PAYMENT.c.id, isouter=True).where(in_period)
                        .order_by(PAYMENT.c.id, SIGHTING.c.id))
    reversed_ids: dict[int, str] = {}
    for r in rows:
        first[r.id] = r.source
        if r.status == "reversed":
            reversed_ids[r.id] = r.trans_id
        if r.seen_by is None:
            seen.setdefault(r.id, {r.source})
            continue
        if r.outcome == "conflict":
            figures.conflicts.append((r.trans_id, r.detail))
            seen.setdefault(r.id, set())
            continue
        seen.setdefault(r.id, set()).add(r.seen_by)
    figures.payments = len(first)
    for payment_id, sources in seen.items():
        for source in sources or {first[payment_id]}:
            figures.per_source[source] = figures.per_source.get(source, 0) + 1
        if not sources & set(CALLBACK_SOURCES) and first[payment_id] in LATER_SOURCES:
            figures.only_later[first[payment_id]] = figures.only_later.get(first[payment_id], 0) + 1
    figures.reversed = list(reversed_ids.values())
    return figures


def last_callback_at(session: Session, business_id: int) -> datetime | None:
    """When Safaricom last pushed a payment callback to this business (any outcome)."""
    value: datetime | None = session.connection().execute(
        select(CALLBACK.c.received_at).where(CALLBACK.c.business_id == business_id,
                                             CALLBACK.c.source.in_(JOURNAL_CALLBACKS))
        .order_by(CALLBACK.c.received_at.desc()).limit(1)).scalar()
    return value


def found_without_callbacks(session: Session, business_id: int, since: datetime) -> int:
    """Payments created since `since` by Pull, an SMS or a statement that no callback has confirmed."""
    confirmed = select(SIGHTING.c.payment_id).where(SIGHTING.c.business_id == business_id,
                                                    SIGHTING.c.source.in_(CALLBACK_SOURCES))
    query = select(func.count()).select_from(PAYMENT).where(
        PAYMENT.c.business_id == business_id, PAYMENT.c.created_at >= since, PAYMENT.c.source.in_(LATER_SOURCES),
        PAYMENT.c.id.not_in(confirmed))
    return int(session.connection().execute(query).scalar_one())


def pending_reversals(session: Session, limit: int = 200) -> list[tuple[int, int, str]]:
    """(journal id, business id, receipt) of reversal reports (an SMS) not applied yet, oldest first."""
    rows = session.connection().execute(
        select(CALLBACK.c.id, CALLBACK.c.business_id, CALLBACK.c.external_id)
        .where(CALLBACK.c.outcome == "reversal", CALLBACK.c.handled_at.is_(None)).order_by(CALLBACK.c.id).limit(limit))
    return [(r.id, r.business_id, r.external_id or "") for r in rows]


def mark_handled(session: Session, callback_id: int, now: datetime, detail: str) -> None:
    session.connection().execute(CALLBACK.update().where(CALLBACK.c.id == callback_id)
                                 .values(handled_at=now, detail=detail[:200]))


def businesses_with_callbacks(session: Session) -> list[tuple[int, str]]:
    """(business id, settings json) of every business; the alarm looks only at those Safaricom ever called."""
    from bot.storage.tables import BusinessRow

    table: Table = BusinessRow.__table__  # type: ignore[attr-defined]
    return [(r.id, r.settings_json) for r in session.connection().execute(select(table.c.id, table.c.settings_json))]
