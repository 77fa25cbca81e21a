"""Recording Daraja callbacks: the journal row and the payment, once per receipt, in the caller's transaction.

Plain SQLAlchemy Core on a Connection because this is the hot path: a batch of callbacks is written in
one transaction and each waits for that commit before it is acknowledged (see webhooks.intake).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from sqlalchemy import Connection, Insert, Table, update
from sqlalchemy.dialects import postgresql, sqlite

from bot.ledger.payments import IncomingPayment
from bot.storage.tables import CallbackRow, PaymentRow, StkAttemptRow

CALLBACK: Table = CallbackRow.__table__  # type: ignore[attr-defined]
PAYMENT: Table = PaymentRow.__table__  # type: ignore[attr-defined]
STK_ATTEMPT: Table = StkAttemptRow.__table__  # type: ignore[attr-defined]


class Outcome(StrEnum):
    STORED = "stored"  # a new payment
    DUPLICATE = "duplicate"  # the receipt was already a payment
    INVALID = "invalid"  # not a Daraja payload we can read; kept and flagged
    FOREIGN_SHORTCODE = "foreign_shortcode"  # paid to a shortcode the token's business does not own; flagged
    STK_FAILED = "stk_failed"  # an STK attempt that did not pay (1032, 1037, 2001...)
    VALIDATED = "validated"  # a C2B validation request: journaled, never a payment


@dataclass(frozen=True, slots=True)
class StkResult:
    checkout_request_id: str
    merchant_request_id: str
    result_code: int
    result_desc: str


@dataclass(frozen=True, slots=True)
class CallbackRecord:
    """One received callback, already parsed by the edge. `problem` or `foreign_shortcode` keep it out of payments."""

    source: str  # c2b_validation | c2b_confirmation | stk
    business_id: int
    body: bytes
    remote_addr: str
    received_at: datetime
    external_id: str | None = None
    payment: IncomingPayment | None = None
    stk: StkResult | None = None
    problem: str | None = None
    foreign_shortcode: bool = False


@dataclass(frozen=True, slots=True)
class Recorded:
    outcome: Outcome
    callback_id: int
    payment_id: int | None = None  # set only when this callback created the payment


def record_callbacks(conn: Connection, records: list[CallbackRecord], now: datetime) -> list[Recorded]:
    """Journal each callback, then insert its payment with ON CONFLICT DO NOTHING: the database's
    uniqueness, not a read-then-write, is what makes fifty concurrent copies one payment."""
    return [_record_one(conn, record, now) for record in records]


def _record_one(conn: Connection, record: CallbackRecord, now: datetime) -> Recorded:
    outcome = _first_outcome(record)
    callback_id = conn.execute(
        CALLBACK.insert().values(
            business_id=record.business_id, source=record.source, external_id=record.external_id,
            body=record.body, remote_addr=record.remote_addr, received_at=record.received_at, handled_at=now,
            outcome=outcome.value, detail=record.problem or "",
            flagged=outcome in (Outcome.INVALID, Outcome.FOREIGN_SHORTCODE),
        ).returning(CALLBACK.c.id)
    ).scalar_one()
    if record.stk is not None and outcome is not Outcome.INVALID:
        _record_stk_attempt(conn, record, now)
    if outcome is not Outcome.STORED or record.payment is None:
        return Recorded(outcome, callback_id)
    payment_id = _insert_payment(conn, record.business_id, record.payment, record.source, callback_id, now)
    if payment_id is None:
        conn.execute(update(CALLBACK).where(CALLBACK.c.id == callback_id).values(outcome=Outcome.DUPLICATE.value))
        return Recorded(Outcome.DUPLICATE, callback_id)
    return Recorded(Outcome.STORED, callback_id, payment_id)


def _first_outcome(record: CallbackRecord) -> Outcome:
    if record.problem is not None:
        return Outcome.INVALID
    if record.foreign_shortcode:
        return Outcome.FOREIGN_SHORTCODE
    if record.source == "c2b_validation":
        return Outcome.VALIDATED
    if record.payment is None:
        return Outcome.STK_FAILED
    return Outcome.STORED


def _insert(conn: Connection, table: Table) -> Insert:
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    return dialect.insert(table)  # type: ignore[no-any-return]


def _insert_payment(conn: Connection, business_id: int, p: IncomingPayment, source: str,
                    callback_id: int, now: datetime) -> int | None:
    stmt = _insert(conn, PAYMENT).values(
        business_id=business_id, trans_id=p.trans_id, source=p.source.value, shortcode=p.shortcode,
        amount=p.amount, paid_at=p.paid_at, reference=p.reference, invoice_number=p.invoice_number,
        payer_name=p.payer_name, msisdn_kind=p.phone.kind.value, phone_sha256=p.phone.sha256,
        masked_prefix=p.phone.masked_prefix, masked_suffix=p.phone.masked_suffix, status="unmatched",
        callback_id=callback_id, created_at=now,
    )
    stmt = stmt.on_conflict_do_nothing(index_elements=["business_id", "trans_id"])  # type: ignore[attr-defined]
    return conn.execute(stmt.returning(PAYMENT.c.id)).scalar_one_or_none()


def _record_stk_attempt(conn: Connection, record: CallbackRecord, now: datetime) -> None:
    assert record.stk is not None
    paid = record.payment
    conn.execute(STK_ATTEMPT.insert().values(
        business_id=record.business_id, checkout_request_id=record.stk.checkout_request_id,
        merchant_request_id=record.stk.merchant_request_id, result_code=record.stk.result_code,
        result_desc=record.stk.result_desc, trans_id=paid.trans_id if paid else None,
        amount=paid.amount if paid else None, created_at=now,
    ))
