"""Recording Daraja callbacks: the journal row and the payment, once per receipt, in the caller's transaction.

Plain SQLAlchemy Core on a Connection because this is the hot path: a batch of callbacks is written in
one transaction and each waits for that commit before it is acknowledged (see webhooks.intake.writer).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from enum import StrEnum

from sqlalchemy import Connection, Insert, Table, bindparam, func, select, update
from sqlalchemy.dialects import postgresql, sqlite

from bot.ledger.payments import IncomingPayment
from bot.storage.outbox import OutboxKind
from bot.storage.sightings import Merged, Sighting, record_sightings
from bot.storage.stk_pushes import businesses_sending_pushes, link_stk_result
from bot.storage.tables import CallbackRow, OutboxRow, PaymentRow, SpoolReplayRow, StkAttemptRow

CALLBACK: Table = CallbackRow.__table__  # type: ignore[attr-defined]
PAYMENT: Table = PaymentRow.__table__  # type: ignore[attr-defined]
STK_ATTEMPT: Table = StkAttemptRow.__table__  # type: ignore[attr-defined]
OUTBOX: Table = OutboxRow.__table__  # type: ignore[attr-defined]
SPOOL_REPLAY: Table = SpoolReplayRow.__table__  # type: ignore[attr-defined]


class Outcome(StrEnum):
    STORED = "stored"  # a new payment
    DUPLICATE = "duplicate"  # the receipt was already a payment
    INVALID = "invalid"  # not a Daraja payload we can read; kept and flagged
    FOREIGN_SHORTCODE = "foreign_shortcode"  # paid to a shortcode the token's business does not own; flagged
    RESULT = "result"  # a Daraja asynchronous result (Transaction Status): journaled, applied by bookkeeping
    UNSOLICITED = "unsolicited"  # an STK result for a push Hesabu never sent (or another amount); flagged
    STK_FAILED = "stk_failed"  # an STK attempt that did not pay (1032, 1037, 2001...)
    VALIDATED = "validated"  # a C2B validation request: journaled, never a payment
    NOT_A_PAYMENT = "not_payment"  # a readable message about money going out (an SMS): journaled only
    REVERSAL = "reversal"  # a source says a receipt was reversed: journaled unhandled, applied by bookkeeping


@dataclass(frozen=True, slots=True)
class StkResult:
    checkout_request_id: str
    merchant_request_id: str
    result_code: int
    result_desc: str


@dataclass(frozen=True, slots=True)
class CallbackRecord:
    """One received callback, already parsed by the edge. `problem` or `foreign_shortcode` keep it out of payments."""

    source: str  # c2b_validation | c2b_confirmation | stk | sms | pull | daraja_result
    business_id: int
    body: bytes
    remote_addr: str
    received_at: datetime
    external_id: str | None = None
    payment: IncomingPayment | None = None
    stk: StkResult | None = None
    problem: str | None = None
    foreign_shortcode: bool = False
    not_payment: bool = False  # read, and not money in (an SMS about money sent): journaled, never a payment
    reversal_of: str | None = None  # an SMS saying this receipt was reversed: journaled, handled by bookkeeping
    unsolicited: str | None = None  # set by the intake when an STK result does not answer a push we sent


@dataclass(frozen=True, slots=True)
class Recorded:
    outcome: Outcome
    callback_id: int
    payment_id: int | None = None  # set when this callback created the payment, or made it to be matched again
    merged: str = ""  # what this report did to the payment: created | confirmed | filled | conflict | repeat


def record_callbacks(conn: Connection, records: list[CallbackRecord], now: datetime) -> list[Recorded]:
    """Journal each callback, then insert the payments with ON CONFLICT DO NOTHING: the database's
    uniqueness, not a read-then-write, is what makes fifty concurrent copies one payment.

    A batch is a few multi-row statements (not two or three per callback): the per-row statement cost,
    not the commit, is what bounds how many callbacks a second one writer can take. RETURNING rows of a
    multi-row insert come back in no guaranteed order, so they are matched back by key, not position."""
    if not records:
        return []
    records = _check_stk_results(conn, records, now)
    outcomes = [_first_outcome(r) for r in records]
    callback_ids = _journal(conn, records, outcomes, now)
    stk_rows = [r for r, o in zip(records, outcomes, strict=True) if r.stk is not None and o is not Outcome.INVALID]
    if stk_rows:
        conn.execute(STK_ATTEMPT.insert(), [_stk_values(r, now) for r in stk_rows])
    wanted: dict[tuple[int, str], tuple[CallbackRecord, int]] = {}
    for r, o, cid in zip(records, outcomes, callback_ids, strict=True):
        if o is Outcome.STORED and r.payment is not None:
            wanted.setdefault((r.business_id, r.payment.trans_id), (r, cid))  # the first copy may create it
    created = _insert_payments(conn, list(wanted.values()), now) if wanted else {}
    results = [_recorded(o, cid, created) for o, cid in zip(outcomes, callback_ids, strict=True)]
    results = _merge_sources(conn, records, results, now)
    duplicates = [r.callback_id for r in results if r.outcome is Outcome.DUPLICATE]
    if duplicates:
        conn.execute(update(CALLBACK).where(CALLBACK.c.id.in_(duplicates)).values(outcome=Outcome.DUPLICATE.value))
    flagged = [(rec, res) for rec, res in zip(records, results, strict=True) if res.outcome in FLAGGED]
    if flagged:
        conn.execute(OUTBOX.insert(), [_flag_message(rec, res, now) for rec, res in flagged])
    return results


def _merge_sources(conn: Connection, records: list[CallbackRecord], results: list[Recorded],
                   now: datetime) -> list[Recorded]:
    """Every payment report becomes a sighting: the creating one, and any later source merged by the rules
    (bot.ledger.merging). Only reports of receipts already stored pay for the comparison."""
    wanted = [(i, Sighting(r.business_id, r.payment, res.callback_id, res.payment_id))
              for i, (r, res) in enumerate(zip(records, results, strict=True))
              if r.payment is not None and res.outcome in (Outcome.STORED, Outcome.DUPLICATE)]
    if not wanted:
        return results
    merged = record_sightings(conn, [s for _, s in wanted], now)
    out = list(results)
    for (i, _), m in zip(wanted, merged, strict=True):
        wake = results[i].payment_id if results[i].payment_id is not None else (m.payment_id if m.rematch else None)
        out[i] = Recorded(results[i].outcome, results[i].callback_id, wake, m.outcome)
    return out


def record_reports(conn: Connection, business_id: int, payments: list[IncomingPayment], callback_id: int | None,
                   now: datetime) -> list[Merged]:
    """Payments from one journaled input (a statement file): each receipt inserted once, every report a
    sighting merged by the rules. One result per payment, in order."""
    if not payments:
        return []
    first: dict[str, IncomingPayment] = {}
    for p in payments:
        first.setdefault(p.trans_id, p)
    rows = [_payment_values(business_id, p, callback_id or 0, now) | {"callback_id": callback_id}
            for p in first.values()]
    created = {trans_id: payment_id for payment_id, trans_id in conn.execute(_report_insert(conn.dialect.name), rows)}
    sightings, claimed = [], set()
    for p in payments:
        made = created.get(p.trans_id) if p.trans_id not in claimed else None
        if made is not None:
            claimed.add(p.trans_id)
        sightings.append(Sighting(business_id, p, callback_id, made))
    return record_sightings(conn, sightings, now)


_REPORT_INSERTS: dict[str, Insert] = {}


def _report_insert(dialect_name: str) -> Insert:
    if dialect_name not in _REPORT_INSERTS:
        dialect_insert = postgresql.insert if dialect_name == "postgresql" else sqlite.insert
        stmt = dialect_insert(PAYMENT).on_conflict_do_nothing(index_elements=["business_id", "trans_id"])
        _REPORT_INSERTS[dialect_name] = stmt.returning(PAYMENT.c.id, PAYMENT.c.trans_id)
    return _REPORT_INSERTS[dialect_name]


FLAGGED = (Outcome.INVALID, Outcome.FOREIGN_SHORTCODE, Outcome.UNSOLICITED)
FLAGGED_KIND = OutboxKind.CALLBACK_FLAGGED.value


def _flag_message(record: CallbackRecord, recorded: Recorded, now: datetime) -> dict[str, object]:
    """The owner is told about a body that is not a Daraja payload, or a payment to someone else's shortcode,
    in the same transaction that journaled it (its dedupe key is the journal row, so never twice)."""
    reason = record.problem or record.unsolicited or "paid to a shortcode this business does not own"
    payload = {"callback_id": recorded.callback_id, "source": record.source, "reason": reason,
               "received_at": record.received_at.isoformat(), "outcome": recorded.outcome.value}
    return {"business_id": record.business_id, "kind": FLAGGED_KIND,
            "dedupe_key": f"{FLAGGED_KIND}:{recorded.callback_id}", "payload": json.dumps(payload),
            "status": "pending", "attempts": 0, "next_attempt_at": now, "created_at": now, "last_error": ""}


def _check_stk_results(conn: Connection, records: list[CallbackRecord], now: datetime) -> list[CallbackRecord]:
    """Each readable STK result closes the push Hesabu sent for it; for a business whose pushes Hesabu sends,
    a result it never asked for (or for another amount) is kept out of the payments and flagged."""
    readable = [r for r in records if r.stk is not None and r.problem is None and not r.foreign_shortcode]
    if not readable:
        return records
    checked = businesses_sending_pushes(conn, sorted({r.business_id for r in readable}))
    out: list[CallbackRecord] = []
    for r in records:
        if r.stk is None or r.problem is not None or r.foreign_shortcode:
            out.append(r)
            continue
        paid = (r.payment.trans_id, r.payment.amount, r.payment.phone.sha256 or "") if r.payment else None
        link = link_stk_result(conn, r.business_id, r.stk.checkout_request_id,
                               (r.stk.result_code, r.stk.result_desc), paid, r.business_id in checked, now)
        out.append(replace(r, unsolicited=link.refusal) if link.refusal else r)
    return out


def _recorded(outcome: Outcome, callback_id: int, created: dict[int, int]) -> Recorded:
    if outcome is not Outcome.STORED:
        return Recorded(outcome, callback_id)
    payment_id = created.get(callback_id)
    return Recorded(Outcome.STORED, callback_id, payment_id) if payment_id else Recorded(Outcome.DUPLICATE, callback_id)


def _journal(conn: Connection, records: list[CallbackRecord], outcomes: list[Outcome], now: datetime) -> list[int]:
    """Insert the journal rows in one statement; return their ids in the order of `records`."""
    rows = [{
        "business_id": r.business_id, "source": r.source, "external_id": r.external_id, "body": r.body,
        "remote_addr": r.remote_addr, "received_at": r.received_at,
        "handled_at": None if o is Outcome.REVERSAL else now, "outcome": o.value,
        "detail": r.problem or r.unsolicited or "", "flagged": o in FLAGGED,
    } for r, o in zip(records, outcomes, strict=True)]
    if conn.dialect.name == "sqlite":
        return _journal_sqlite(conn, rows)
    groups: dict[tuple[object, ...], list[int]] = {}
    for row in conn.execute(_JOURNAL_INSERT, rows):
        groups.setdefault((row.business_id, row.external_id, row.outcome, row.source), []).append(row.id)
    for ids in groups.values():
        ids.sort(reverse=True)  # pop() hands out the lowest id first
    return [groups[(row["business_id"], row["external_id"], row["outcome"], row["source"])].pop() for row in rows]


_JOURNAL_COLUMNS = ("business_id", "source", "external_id", "body", "remote_addr", "received_at", "handled_at",
                    "outcome", "detail", "flagged")


def _journal_sqlite(conn: Connection, rows: list[dict[str, object]]) -> list[int]:
    """SQLite: one multi-row INSERT without RETURNING, and the ids from last_insert_rowid(). The transaction
    holds SQLite's write lock (BEGIN IMMEDIATE), so the rows take consecutive rowids in VALUES order; reading
    RETURNING rows back cost a step, and a hand-back of the GIL, per row."""
    placeholders = "(" + ",".join("?" * len(_JOURNAL_COLUMNS)) + ")"
    # only constant column names and "?" placeholders are joined: every value is a bound parameter
    sql = f"INSERT INTO callback ({', '.join(_JOURNAL_COLUMNS)}) VALUES " + ",".join([placeholders] * len(rows))  # noqa: S608
    params = tuple(_sqlite_value(row[c]) for row in rows for c in _JOURNAL_COLUMNS)
    conn.exec_driver_sql(sql, params)
    last = int(conn.exec_driver_sql("SELECT last_insert_rowid()").scalar_one())
    return list(range(last - len(rows) + 1, last + 1))


def _sqlite_value(value: object) -> object:
    """As SQLAlchemy's SQLite dialect stores it: naive UTC text for times, 0/1 for booleans."""
    if isinstance(value, datetime):
        return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
    if isinstance(value, bool):
        return int(value)
    return value


def _insert_payments(conn: Connection, wanted: list[tuple[CallbackRecord, int]], now: datetime) -> dict[int, int]:
    """Returns callback id -> new payment id for the receipts this batch created."""
    rows = [_payment_values(r.business_id, r.payment, cid, now) for r, cid in wanted if r.payment is not None]
    if conn.dialect.name == "sqlite":
        return _insert_payments_sqlite(conn, rows)
    result = conn.execute(_payment_insert(conn.dialect.name), rows)
    return {callback_id: payment_id for payment_id, callback_id in result}


def _insert_payments_sqlite(conn: Connection, rows: list[dict[str, object]]) -> dict[int, int]:
    """SQLite: INSERT ... ON CONFLICT DO NOTHING without RETURNING (reading RETURNING rows back cost a step and
    a hand-back of the GIL each), then the rows it created: those above the highest id before it.
    The transaction holds SQLite's write lock (BEGIN IMMEDIATE), so no other writer can add rows in between."""
    before = int(conn.execute(_MAX_PAYMENT_ID).scalar_one())
    conn.execute(_SQLITE_PAYMENT_INSERT, rows)
    created = conn.execute(_PAYMENTS_AFTER, {"before": before})
    return {callback_id: payment_id for payment_id, callback_id in created}


_SQLITE_PAYMENT_INSERT = sqlite.insert(PAYMENT).on_conflict_do_nothing(index_elements=["business_id", "trans_id"])
_MAX_PAYMENT_ID = select(func.coalesce(func.max(PAYMENT.c.id), 0))
_PAYMENTS_AFTER = select(PAYMENT.c.id, PAYMENT.c.callback_id).where(PAYMENT.c.id > bindparam("before"))


def _first_outcome(record: CallbackRecord) -> Outcome:
    if record.problem is not None:
        return Outcome.INVALID
    if record.foreign_shortcode:
        return Outcome.FOREIGN_SHORTCODE
    if record.unsolicited is not None:
        return Outcome.UNSOLICITED
    if record.source == "c2b_validation":
        return Outcome.VALIDATED
    if record.source == "daraja_result":
        return Outcome.RESULT
    if record.not_payment:
        return Outcome.NOT_A_PAYMENT
    if record.reversal_of is not None:
        return Outcome.REVERSAL
    if record.payment is None:
        return Outcome.STK_FAILED
    return Outcome.STORED


_JOURNAL_INSERT = CALLBACK.insert().returning(
    CALLBACK.c.id, CALLBACK.c.business_id, CALLBACK.c.external_id, CALLBACK.c.outcome, CALLBACK.c.source)
_PAYMENT_INSERTS: dict[str, Insert] = {}


def _payment_insert(dialect_name: str) -> Insert:
    """Built once per dialect: rebuilding statements per row was measurable on the hot path."""
    if dialect_name not in _PAYMENT_INSERTS:
        dialect_insert = postgresql.insert if dialect_name == "postgresql" else sqlite.insert
        stmt = dialect_insert(PAYMENT).on_conflict_do_nothing(index_elements=["business_id", "trans_id"])
        _PAYMENT_INSERTS[dialect_name] = stmt.returning(PAYMENT.c.id, PAYMENT.c.callback_id)
    return _PAYMENT_INSERTS[dialect_name]


def _payment_values(business_id: int, p: IncomingPayment | None, callback_id: int, now: datetime) -> dict[str, object]:
    assert p is not None
    return {
        "business_id": business_id, "trans_id": p.trans_id, "source": p.source.value, "sources": p.source.value,
        "shortcode": p.shortcode,
        "amount": p.amount, "paid_at": p.paid_at, "reference": p.reference, "invoice_number": p.invoice_number,
        "payer_name": p.payer_name, "msisdn_kind": p.phone.kind.value, "phone_sha256": p.phone.sha256,
        "masked_prefix": p.phone.masked_prefix, "masked_suffix": p.phone.masked_suffix, "status": "unmatched",
        "callback_id": callback_id, "created_at": now,
    }


def _stk_values(record: CallbackRecord, now: datetime) -> dict[str, object]:
    assert record.stk is not None
    paid = record.payment
    return {
        "business_id": record.business_id, "checkout_request_id": record.stk.checkout_request_id,
        "merchant_request_id": record.stk.merchant_request_id, "result_code": record.stk.result_code,
        "result_desc": record.stk.result_desc, "trans_id": paid.trans_id if paid else None,
        "amount": paid.amount if paid else None, "created_at": now,
    }


def claim_spool_keys(conn: Connection, keys: list[str], now: datetime) -> set[str]:
    """The spool keys this transaction is the first to replay (INSERT … ON CONFLICT DO NOTHING RETURNING):
    record only those, in the same transaction, and a replay cut part-way or run by two processes at once
    journals each spooled callback exactly once."""
    if not keys:
        return set()
    dialect_insert = postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert
    stmt = dialect_insert(SPOOL_REPLAY).on_conflict_do_nothing(index_elements=["key"]).returning(SPOOL_REPLAY.c.key)
    claimed: set[str] = set()
    for key in dict.fromkeys(keys):  # one row per statement: RETURNING of a multi-row upsert is not portable
        row = conn.execute(stmt, {"key": key, "replayed_at": now}).first()
        if row is not None:
            claimed.add(str(row[0]))
    return claimed
