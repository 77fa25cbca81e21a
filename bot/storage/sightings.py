"""Recording what each source said about a receipt, and merging a later source into the payment by the rules of
bot.ledger.merging. Runs inside the caller's transaction (the callback writer's batch, a statement import).

The payment row is unique per (business, receipt), so the first source to arrive creates it and every other
arrival, concurrent or not, lands here. On PostgreSQL the stored payments are locked (FOR UPDATE, in id order)
before they are compared, so two sources merging into one payment at once take turns and neither's fill is
lost; SQLite has one writer at a time anyway.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, Insert, Table, and_, delete, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite

from bot.ledger.merging import Known, Merge, MergeKind, merge_sighting
from bot.ledger.payments import IncomingPayment
from bot.storage.outbox import OutboxKind
from bot.storage.tables import MatchDecisionRow, OutboxRow, PaymentRow, PaymentSightingRow

PAYMENT: Table = PaymentRow.__table__  # type: ignore[attr-defined]
SIGHTING: Table = PaymentSightingRow.__table__  # type: ignore[attr-defined]
OUTBOX: Table = OutboxRow.__table__  # type: ignore[attr-defined]
DECISION: Table = MatchDecisionRow.__table__  # type: ignore[attr-defined]
CONFLICT_KIND = OutboxKind.PAYMENT_CONFLICT.value
_OPEN_STATUSES = ("unmatched", "suggested")


@dataclass(frozen=True, slots=True)
class Sighting:
    """One source's report of one receipt. `created_payment_id` is set when this report created the payment."""

    business_id: int
    payment: IncomingPayment
    callback_id: int | None = None
    created_payment_id: int | None = None


@dataclass(frozen=True, slots=True)
class Merged:
    payment_id: int
    outcome: str  # created | confirmed | filled | conflict | repeat
    detail: str = ""
    rematch: bool = False


def record_sightings(conn: Connection, sightings: Sequence[Sighting], now: datetime) -> list[Merged]:
    """One result per sighting, in order. Creations are one multi-row insert; later sources are merged."""
    results: list[Merged | None] = [None] * len(sightings)
    created = [(i, s) for i, s in enumerate(sightings) if s.created_payment_id is not None]
    if created:
        conn.execute(_sighting_insert(conn.dialect.name, returning=False),
                     [_values(s, s.created_payment_id or 0, "created", "", now) for _, s in created])
        for i, s in created:
            results[i] = Merged(s.created_payment_id or 0, "created")
    later = [(i, s) for i, s in enumerate(sightings) if s.created_payment_id is None]
    if later:
        stored = _lock_payments(conn, [s for _, s in later])
        keys = [(s.business_id, s.payment.trans_id) for _, s in later]
        repeated = {k for k, n in Counter(keys).items() if n > 1}
        for (i, s), key in zip(later, keys, strict=True):
            row = stored.get(key)
            if row is not None:
                results[i] = _merge_one(conn, row, s, now)
                if key in repeated:  # the next report of it in this batch must see this one's fills
                    stored[key] = _reloaded(conn, row.id)
    return [r if r is not None else Merged(0, "missing") for r in results]


def _merge_one(conn: Connection, row: object, s: Sighting, now: datetime) -> Merged:
    known = _known(row)
    merge = merge_sighting(known, s.payment)
    payment_id: int = row.id  # type: ignore[attr-defined]
    outcome = "repeat" if merge.kind is MergeKind.REPEAT else merge.kind.value
    detail = "; ".join(merge.conflicts + merge.notes)
    inserted = conn.execute(_sighting_insert(conn.dialect.name, returning=True),
                            [_values(s, payment_id, outcome, detail, now)]).first()
    if inserted is None:  # this source already said exactly this: nothing new
        return Merged(payment_id, "repeat")
    sighting_id = int(inserted[0])
    if merge.kind is MergeKind.CONFLICT:
        _flag_conflict(conn, s, payment_id, sighting_id, merge, now)
        return Merged(payment_id, outcome, detail)
    _apply(conn, row, s.payment.source.value, merge)
    return Merged(payment_id, outcome, detail, merge.rematch)


def _apply(conn: Connection, row: object, source: str, merge: Merge) -> None:
    values: dict[str, object] = dict(merge.fills)
    sources = [x for x in str(row.sources).split(",") if x]  # type: ignore[attr-defined]
    if source not in sources:
        values["sources"] = ",".join([*sources, source])
    if merge.rematch and row.processed_at is not None:  # type: ignore[attr-defined]
        # matched again with the reference it now has: the sweep (or the writer's wake) runs matching afresh
        conn.execute(delete(DECISION).where(DECISION.c.payment_id == row.id))  # type: ignore[attr-defined]
        values.update(processed_at=None, status="unmatched")
    if values:
        conn.execute(update(PAYMENT).where(PAYMENT.c.id == row.id).values(**values))  # type: ignore[attr-defined]


def _flag_conflict(conn: Connection, s: Sighting, payment_id: int, sighting_id: int, merge: Merge,
                   now: datetime) -> None:
    """The owner is told once per disagreeing report (its dedupe key is the sighting), in this transaction."""
    payload = {"payment_id": payment_id, "trans_id": s.payment.trans_id, "source": s.payment.source.value,
               "amount": f"{s.payment.amount:.2f}", "shortcode": s.payment.shortcode,
               "conflicts": list(merge.conflicts), "sighting_id": sighting_id}
    conn.execute(_outbox_insert(conn.dialect.name), [{
        "business_id": s.business_id, "kind": CONFLICT_KIND, "dedupe_key": f"{CONFLICT_KIND}:{sighting_id}",
        "payload": json.dumps(payload), "status": "pending", "attempts": 0, "next_attempt_at": now,
        "created_at": now, "last_error": ""}])


def _lock_payments(conn: Connection, sightings: Sequence[Sighting]) -> dict[tuple[int, str], object]:
    keys = sorted({(s.business_id, s.payment.trans_id) for s in sightings})
    query = select(*_COLUMNS).where(or_(*(and_(PAYMENT.c.business_id == b, PAYMENT.c.trans_id == t)
                                          for b, t in keys))).order_by(PAYMENT.c.id)
    if conn.dialect.name == "postgresql":
        query = query.with_for_update()
    return {(r.business_id, r.trans_id): r for r in conn.execute(query)}


def _reloaded(conn: Connection, payment_id: int) -> object:
    return conn.execute(select(*_COLUMNS).where(PAYMENT.c.id == payment_id)).one()


_COLUMNS = (PAYMENT.c.id, PAYMENT.c.business_id, PAYMENT.c.trans_id, PAYMENT.c.sources, PAYMENT.c.source,
            PAYMENT.c.amount, PAYMENT.c.shortcode, PAYMENT.c.reference, PAYMENT.c.payer_name,
            PAYMENT.c.msisdn_kind, PAYMENT.c.paid_at, PAYMENT.c.status, PAYMENT.c.processed_at)


def _known(row: object) -> Known:
    r = row
    sources = tuple(x for x in str(r.sources or r.source).split(",") if x)  # type: ignore[attr-defined]
    return Known(sources=sources, amount=r.amount, shortcode=r.shortcode,  # type: ignore[attr-defined]
                 reference=r.reference, payer_name=r.payer_name,  # type: ignore[attr-defined]
                 msisdn_kind=r.msisdn_kind, paid_at=r.paid_at,  # type: ignore[attr-defined]
                 unmatched=r.status in _OPEN_STATUSES)  # type: ignore[attr-defined]


def _values(s: Sighting, payment_id: int, outcome: str, detail: str, now: datetime) -> dict[str, object]:
    p = s.payment
    return {"business_id": s.business_id, "payment_id": payment_id, "trans_id": p.trans_id, "source": p.source.value,
            "amount": p.amount, "shortcode": p.shortcode, "reference": p.reference, "paid_at": p.paid_at,
            "outcome": outcome, "detail": detail[:500], "callback_id": s.callback_id, "seen_at": now}


_INSERTS: dict[tuple[str, str, bool], Insert] = {}


def _sighting_insert(dialect_name: str, *, returning: bool) -> Insert:
    key = ("sighting", dialect_name, returning)
    if key not in _INSERTS:
        dialect_insert = postgresql.insert if dialect_name == "postgresql" else sqlite.insert
        stmt = dialect_insert(SIGHTING).on_conflict_do_nothing(
            index_elements=["business_id", "trans_id", "source", "amount", "shortcode"])
        _INSERTS[key] = stmt.returning(SIGHTING.c.id) if returning else stmt
    return _INSERTS[key]


def _outbox_insert(dialect_name: str) -> Insert:
    key = ("outbox", dialect_name, False)
    if key not in _INSERTS:
        dialect_insert = postgresql.insert if dialect_name == "postgresql" else sqlite.insert
        _INSERTS[key] = dialect_insert(OUTBOX).on_conflict_do_nothing(index_elements=["dedupe_key"])
    return _INSERTS[key]
