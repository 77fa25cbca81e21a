"""STK pushes Hesabu sends ("ask Mary to pay") and how each ends, plus the intake's check of STK results
against them.

A push moves `queued` (asked in chat) -> `sending` (claimed, committed before Daraja is called) -> `pending`
(Daraja accepted; CheckoutRequestID known) -> `paid` | `failed`; or `refused` (Daraja said no), or `in_doubt`
(the answer to the push was lost: it may have reached the phone, so it is never re-sent). At most one push per
invoice and phone is open (`uq_stk_push_open`), because Daraja has no idempotency.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import Connection, Table, and_, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col

from bot.ledger.phones import phone_sha256
from bot.storage.outbox import OutboxKind
from bot.storage.tables import (
    CustomerPhoneRow,
    CustomerRow,
    DarajaCredentialRow,
    InvoiceRow,
    OutboxRow,
    StkPushRow,
)

STK_PUSH: Table = StkPushRow.__table__  # type: ignore[attr-defined]
CREDENTIAL: Table = DarajaCredentialRow.__table__  # type: ignore[attr-defined]
OUTBOX: Table = OutboxRow.__table__  # type: ignore[attr-defined]
REQUEST_UPDATE = OutboxKind.REQUEST_UPDATE  # a message to the person who asked for a push (payload `to`)
OPEN = ("queued", "sending", "pending")
AWAITING_RESULT = ("sending", "pending", "in_doubt")


def open_push(session: Session, business_id: int, invoice_id: int, phone: str) -> StkPushRow | None:
    query = select(StkPushRow).where(StkPushRow.business_id == business_id, StkPushRow.invoice_id == invoice_id,
                                     StkPushRow.phone == phone, col(StkPushRow.status).in_(OPEN))
    return session.execute(query).scalars().first()


def queue_push(session: Session, push: StkPushRow) -> StkPushRow | None:
    """Insert a queued push; None when one is already open for that invoice and phone (the unique index
    decides, so two staff asking at the same moment still make one push)."""
    if push.invoice_id is not None and open_push(session, push.business_id, push.invoice_id, push.phone):
        return None
    try:
        with session.begin_nested():
            session.add(push)
            session.flush()
    except IntegrityError:
        return None
    return push


def claim_queued(session: Session, now: datetime, limit: int = 20) -> list[StkPushRow]:
    """Queued pushes -> `sending`, committed by the caller BEFORE Daraja is called (a crash after that leaves
    them `sending`, later `in_doubt`, never sent twice)."""
    ids = [r for r in session.execute(select(STK_PUSH.c.id).where(STK_PUSH.c.status == "queued")
                                      .order_by(STK_PUSH.c.id).limit(limit)).scalars()]
    if not ids:
        return []
    taken = session.execute(update(STK_PUSH).where(STK_PUSH.c.id.in_(ids), STK_PUSH.c.status == "queued")
                            .values(status="sending", sent_at=now).returning(STK_PUSH.c.id)).scalars().all()
    session.expire_all()
    return [row for i in taken if (row := session.get(StkPushRow, i)) is not None]


def claim_due_checks(session: Session, now: datetime, later: datetime, limit: int = 20) -> list[StkPushRow]:
    """Pending pushes whose check is due, moved to `later` so another worker does not query them too."""
    ids = [r for r in session.execute(select(STK_PUSH.c.id).where(STK_PUSH.c.status == "pending",
                                                                  STK_PUSH.c.next_check_at <= now)
                                      .order_by(STK_PUSH.c.next_check_at).limit(limit)).scalars()]
    if not ids:
        return []
    taken = session.execute(update(STK_PUSH).where(STK_PUSH.c.id.in_(ids), STK_PUSH.c.status == "pending",
                                                   STK_PUSH.c.next_check_at <= now)
                            .values(next_check_at=later).returning(STK_PUSH.c.id)).scalars().all()
    session.expire_all()
    return [row for i in taken if (row := session.get(StkPushRow, i)) is not None]


def stale_sending(session: Session, older_than: datetime) -> list[StkPushRow]:
    """Pushes left `sending` by a sender that died: now `in_doubt` (they may have reached the phone)."""
    rows = list(session.execute(select(StkPushRow).where(StkPushRow.status == "sending",
                                                         col(StkPushRow.sent_at) < older_than)).scalars())
    for row in rows:
        row.status, row.error = "in_doubt", "the sender stopped before Daraja answered"
        session.add(row)
    return rows


def push_of(session: Session, business_id: int, push_id: int) -> StkPushRow | None:
    row = session.get(StkPushRow, push_id)
    return row if row is not None and row.business_id == business_id else None


def push_paid_by(session: Session, business_id: int, trans_id: str) -> StkPushRow | None:
    """The push a receipt paid (linked when its STK result was stored)."""
    query = select(StkPushRow).where(StkPushRow.business_id == business_id, StkPushRow.trans_id == trans_id)
    return session.execute(query).scalars().first()


# --- the intake's side: STK results against the pushes we sent ------------------------------------------


@dataclass(frozen=True, slots=True)
class StkLink:
    """What the intake learned about one STK result: the push it answers, or why it is not booked."""

    push_id: int | None
    refusal: str | None = None


def businesses_sending_pushes(conn: Connection, business_ids: Sequence[int]) -> set[int]:
    """Businesses whose pushes Hesabu sends (it holds their Daraja credentials)."""
    query = select(CREDENTIAL.c.business_id).where(CREDENTIAL.c.business_id.in_(list(business_ids))).distinct()
    return set(conn.execute(query).scalars())


def link_stk_result(conn: Connection, business_id: int, checkout_request_id: str, result: tuple[int, str],
                    paid: tuple[str, Decimal, str] | None, checked: bool, now: datetime) -> StkLink:
    """Close the push this result answers (`paid`/`failed`, with the code). `paid` is (receipt, amount, the
    payer's phone hash).

    For a business whose pushes Hesabu sends (`checked`), a result for a CheckoutRequestID it never sent, or
    for another amount than was asked, is refused: kept in the journal and flagged, never booked. A push whose
    own answer was lost (`in_doubt`, no CheckoutRequestID) is recognised by its phone and amount."""
    row = conn.execute(select(STK_PUSH.c.id, STK_PUSH.c.amount, STK_PUSH.c.status).where(
        STK_PUSH.c.business_id == business_id, STK_PUSH.c.checkout_request_id == checkout_request_id)).first()
    if row is None:
        # a push whose CheckoutRequestID is not known yet (its answer is still on the way, or was lost)
        unsure = conn.execute(select(STK_PUSH.c.id, STK_PUSH.c.amount, STK_PUSH.c.status, STK_PUSH.c.phone).where(
            STK_PUSH.c.business_id == business_id, STK_PUSH.c.status.in_(("sending", "in_doubt")),
            STK_PUSH.c.checkout_request_id.is_(None)).order_by(STK_PUSH.c.id)).all()
        if paid is not None:
            row = next((u for u in unsure if u.amount == paid[1] and phone_sha256(u.phone) == paid[2]), None)
        elif unsure:
            return StkLink(None)  # a failure we cannot pin on one push: its own query will end it
    if row is None:
        return StkLink(None, "an M-Pesa Express result for a push Hesabu never sent") if checked else StkLink(None)
    if paid is not None and paid[1] != row.amount:
        return StkLink(row.id, f"paid {paid[1]:.2f} where the push asked for {row.amount:.2f}")
    values: dict[str, object] = {"status": "paid" if paid is not None else "failed", "result_code": result[0],
                                 "result_desc": result[1][:200], "resolved_at": now,
                                 "checkout_request_id": checkout_request_id}
    # money that moved is linked whatever a query said before (a 1037 from the query, then a paid callback)
    still_open = STK_PUSH.c.status.in_(AWAITING_RESULT)
    if paid is not None:
        values["trans_id"] = paid[0]
        still_open = or_(still_open, STK_PUSH.c.trans_id.is_(None))
    changed = conn.execute(update(STK_PUSH).where(and_(STK_PUSH.c.id == row.id, still_open)).values(**values)
                           .returning(STK_PUSH.c.asked_by)).first()
    if changed is not None and paid is None:  # a paid push is told by its payment's alert, once matched
        tell_asker(conn, business_id, row.id, changed.asked_by, "failed", now)
    return StkLink(row.id)


# --- what a request needs from the book ---------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Requestable:
    """An invoice someone may be asked to pay, with its customer and their phones (canonical, first = main)."""

    invoice_id: int
    number: str
    open_balance: Decimal
    due: date | None
    customer_name: str
    phones: tuple[str, ...]


def requestable(session: Session, business_id: int, number_key: str) -> Requestable | None:
    invoice = session.execute(select(InvoiceRow).where(InvoiceRow.business_id == business_id,
                                                       InvoiceRow.number_key == number_key)).scalars().first()
    return _requestable(session, business_id, [invoice])[0] if invoice is not None else None


def invoice_by_number(session: Session, business_id: int, number: str) -> InvoiceRow | None:
    return session.execute(select(InvoiceRow).where(InvoiceRow.business_id == business_id,
                                                    InvoiceRow.number == number)).scalars().first()


def overdue_requestables(session: Session, business_id: int, today: date, limit: int = 50) -> list[Requestable]:
    rows = session.execute(select(InvoiceRow).where(
        InvoiceRow.business_id == business_id, col(InvoiceRow.open_balance) > 0, col(InvoiceRow.due) < today,
        col(InvoiceRow.status).in_(("open", "partial"))).order_by(col(InvoiceRow.due), col(InvoiceRow.id))
        .limit(limit)).scalars().all()
    return _requestable(session, business_id, list(rows))


def _requestable(session: Session, business_id: int, invoices: list[InvoiceRow]) -> list[Requestable]:
    customer_ids = [i.customer_id for i in invoices if i.customer_id is not None]
    names = dict(session.execute(select(CustomerRow.id, CustomerRow.name).where(
        CustomerRow.business_id == business_id, col(CustomerRow.id).in_(customer_ids))).all())
    phones: dict[int, list[str]] = {}
    for customer_id, phone in session.execute(select(CustomerPhoneRow.customer_id, CustomerPhoneRow.phone).where(
            CustomerPhoneRow.business_id == business_id, col(CustomerPhoneRow.customer_id).in_(customer_ids))
            .order_by(col(CustomerPhoneRow.id))):
        phones.setdefault(customer_id, []).append(phone)
    return [Requestable(i.id or 0, i.number, i.open_balance if i.status != "cancelled" else Decimal(0), i.due,
                        names.get(i.customer_id or 0, ""), tuple(phones.get(i.customer_id or 0, [])))
            for i in invoices]


def tell_asker(conn: Connection, business_id: int, push_id: int, asked_by: str, event: str, now: datetime) -> None:
    """Queue one `request.update` for the person who asked (once per push and event)."""
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    payload = json.dumps({"push_id": push_id, "event": event, "to": asked_by})
    conn.execute(dialect.insert(OUTBOX).values(
        business_id=business_id, kind=REQUEST_UPDATE, dedupe_key=f"{REQUEST_UPDATE}:{push_id}:{event}",
        payload=payload, status="pending", attempts=0, next_attempt_at=now, created_at=now, last_error="",
    ).on_conflict_do_nothing(index_elements=["dedupe_key"]))
