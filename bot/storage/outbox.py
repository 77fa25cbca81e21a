"""The durable outbox, the one writer of outbox rows, and its way to the chats.

`queue_message` queues a message once per dedupe key. Then two steps, each a short transaction in the
caller's unit of work:
  expand   pending outbox rows -> one `DeliveryRow` per linked chat on a configured channel; the outbox row
           becomes `sent` (or `failed`, "no linked chat"). Idempotent: `uq_delivery` ignores a second expand.
  claim    due `pending` deliveries -> `sending` + `claimed_at`, committed BEFORE the provider is called.
Claims never hand one row to two senders: PostgreSQL skips rows another transaction holds (FOR UPDATE SKIP
LOCKED) and every claim is also a conditional UPDATE (`... AND status = 'pending'`) whose RETURNING says
which rows this transaction really took; on SQLite the unit of work's BEGIN IMMEDIATE makes it the only
writer, so the same statements are race-free there too.
A delivery left `sending` past its lease (the sender died mid-send) becomes `in_doubt` and is never re-sent.
WhatsApp's deliveries may be `held` while the chat's 24-hour window is closed (released when it writes
again), and Twilio's status callbacks move a delivery on (`record_status`)."""

from __future__ import annotations

import json
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from sqlalchemy import Table, case, func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session

from bot.storage.tables import (
    ChatLinkRow,
    DeliveryRow,
    OutboxRow,
)

OUTBOX: Table = OutboxRow.__table__  # type: ignore[attr-defined]
DELIVERY: Table = DeliveryRow.__table__  # type: ignore[attr-defined]
CHAT_LINK: Table = ChatLinkRow.__table__  # type: ignore[attr-defined]
NO_LINKED_CHAT = "no linked chat"
# claim and record ---------------------------------------------------------------------------------------
DUE = ("pending", "repeat")  # a repeat is due like a pending delivery, and is claimed as `resending`
HELD_BY_SENDER = ("sending", "resending")
ADDRESSED_KINDS = frozenset({"request.update", "status.result"})
IN_DOUBT_REPEAT = "in doubt: the sender stopped while sending; re-sent once as a repeat"
IN_DOUBT_FINAL = "in doubt again after its repeat; not re-sent"
CHANNEL = "whatsapp"
OUTSIDE_WINDOW_CODE = "63016"
# Twilio's MessageStatus values in the order a message moves through them; a late callback never goes back
STATUS_ORDER = {"accepted": 0, "scheduled": 0, "queued": 1, "sending": 2, "sent": 3, "delivered": 4, "read": 5,
                "undelivered": 6, "failed": 6, "canceled": 6}


# outbox ----------------------------------------------------------------------------------------------
class OutboxKind(StrEnum):
    """What an outbox message is; each kind has its renderer (bot.assistant.renderers)."""

    PAYMENT_ALERT = "payment.alert"
    CALLBACK_FLAGGED = "callback.flagged"
    PAYMENT_CONFLICT = "payment.conflict"
    SUMMARY_DAILY = "summary.daily"
    DIGEST_MORNING = "digest.morning"
    CALLBACKS_SILENT = "callbacks.silent"
    PAYMENT_REVERSED = "payment.reversed"
    REQUEST_UPDATE = "request.update"
    STATUS_RESULT = "status.result"


def queue_message(session: Session, business_id: int, kind: str, dedupe_key: str, payload: dict[str, Any],
                  now: datetime) -> bool:
    """Queue a message once per dedupe_key (a second attempt is a no-op). True when newly queued."""
    dialect = postgresql if _is_postgres(session) else sqlite
    stmt = dialect.insert(OUTBOX).values(
        business_id=business_id, kind=str(kind), dedupe_key=dedupe_key, payload=json.dumps(payload, ensure_ascii=False),
        status="pending", attempts=0, next_attempt_at=now, created_at=now, last_error="")
    # RETURNING, not rowcount: with SQLAlchemy's implicit RETURNING on PostgreSQL rowcount read 1 for a no-op
    inserted = session.connection().execute(
        stmt.on_conflict_do_nothing(index_elements=["dedupe_key"]).returning(OUTBOX.c.id)).first()
    return inserted is not None


def _is_postgres(session: Session) -> bool:
    return session.connection().dialect.name == "postgresql"


@dataclass(frozen=True, slots=True)
class ClaimedDelivery:
    """A delivery this sender now holds (`sending`), with what it needs to render and send it."""

    id: int
    outbox_id: int
    business_id: int
    channel: str
    chat_id: str
    attempts: int
    repeat: bool = False  # the one repeat of a delivery that went in doubt: say it may have arrived already


# expand ------------------------------------------------------------------------------------------------
def expand_outbox(session: Session, now: datetime, channels: Collection[str], limit: int = 100) -> int:
    """Turn due pending outbox rows into deliveries for every chat linked on one of `channels`.
    Returns how many outbox rows were handled."""
    query = (select(OUTBOX.c.id, OUTBOX.c.business_id, OUTBOX.c.kind, OUTBOX.c.payload)
             .where(OUTBOX.c.status == "pending", OUTBOX.c.next_attempt_at <= now)
             .order_by(OUTBOX.c.next_attempt_at, OUTBOX.c.id).limit(limit))
    if _is_postgres(session):
        query = query.with_for_update(skip_locked=True)
    rows = session.connection().execute(query).all()
    if not rows:
        return 0
    chats = _linked_chats(session, {r.business_id for r in rows}, channels)
    deliveries: list[dict[str, Any]] = []
    delivered: list[int] = []
    orphans: list[int] = []
    for row in rows:
        linked = _addressed(row.kind, row.payload, chats.get(row.business_id, []))
        (delivered if linked else orphans).append(row.id)
        deliveries += [{"outbox_id": row.id, "business_id": row.business_id, "channel": channel, "chat_id": chat_id,
                        "status": "pending", "attempts": 0, "next_attempt_at": now, "last_error": "",
                        "created_at": now} for channel, chat_id in linked]
    if deliveries:
        dialect = postgresql if _is_postgres(session) else sqlite
        insert = dialect.insert(DELIVERY).on_conflict_do_nothing(index_elements=["outbox_id", "channel", "chat_id"])
        session.connection().execute(insert, deliveries)
    _finish_outbox(session, delivered, "sent", "", now)
    _finish_outbox(session, orphans, "failed", NO_LINKED_CHAT, now)
    return len(rows)


def _addressed(kind: str, payload: str, linked: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """Kinds addressed to one person (`to: "channel:chat_id"`, e.g. the asker of an STK push) go to that chat
    while it is linked; to every linked chat of the business otherwise, so the news is never lost."""
    if kind not in ADDRESSED_KINDS:
        return linked
    try:
        to = json.loads(payload).get("to")
    except (ValueError, AttributeError):
        return linked
    chosen = [chat for chat in linked if f"{chat[0]}:{chat[1]}" == to]
    return chosen or linked


def _linked_chats(session: Session, business_ids: set[int], channels: Collection[str]
                  ) -> dict[int, list[tuple[str, str]]]:
    """`{business_id: [(channel, chat_id)]}`; ix_chat_link_business serves it."""
    if not channels:
        return {}
    query = (select(CHAT_LINK.c.business_id, CHAT_LINK.c.channel, CHAT_LINK.c.chat_id)
             .where(CHAT_LINK.c.business_id.in_(sorted(business_ids)), CHAT_LINK.c.channel.in_(sorted(channels)))
             .order_by(CHAT_LINK.c.id))
    out: dict[int, list[tuple[str, str]]] = {}
    for r in session.connection().execute(query):
        out.setdefault(r.business_id, []).append((r.channel, r.chat_id))
    return out


def _finish_outbox(session: Session, ids: Sequence[int], status: str, error: str, now: datetime) -> None:
    if ids:
        session.connection().execute(
            update(OUTBOX).where(OUTBOX.c.id.in_(list(ids)), OUTBOX.c.status == "pending")
            .values(status=status, last_error=error, attempts=OUTBOX.c.attempts + 1,
                    sent_at=now if status == "sent" else None))


def outbox_of(session: Session, outbox_id: int) -> OutboxRow | None:
    return session.get(OutboxRow, outbox_id)


def outbox_payload(outbox: OutboxRow) -> dict[str, Any]:
    data = json.loads(outbox.payload or "{}")
    return data if isinstance(data, dict) else {}


def claim_deliveries(session: Session, now: datetime, channels: Collection[str], limit: int = 50
                     ) -> list[ClaimedDelivery]:
    """Take up to `limit` due pending deliveries on `channels`: they are `sending` once the caller commits."""
    if not channels:
        return []
    query = (select(DELIVERY.c.id)
             .where(DELIVERY.c.status.in_(DUE), DELIVERY.c.next_attempt_at <= now,
                    DELIVERY.c.channel.in_(sorted(channels)))
             .order_by(DELIVERY.c.next_attempt_at, DELIVERY.c.id).limit(limit))
    if _is_postgres(session):
        query = query.with_for_update(skip_locked=True)
    ids = [r[0] for r in session.connection().execute(query)]
    if not ids:
        return []
    claimed = session.connection().execute(
        update(DELIVERY).where(DELIVERY.c.id.in_(ids), DELIVERY.c.status.in_(DUE))
        .values(status=case((DELIVERY.c.status == "repeat", "resending"), else_="sending"), claimed_at=now)
        .returning(DELIVERY.c.id, DELIVERY.c.outbox_id, DELIVERY.c.business_id, DELIVERY.c.channel,
                   DELIVERY.c.chat_id, DELIVERY.c.attempts, DELIVERY.c.status)).all()
    return sorted((ClaimedDelivery(r.id, r.outbox_id, r.business_id, r.channel, r.chat_id, r.attempts,
                                   r.status == "resending") for r in claimed), key=lambda d: ids.index(d.id))


def _from_sending(session: Session, delivery_id: int, **values: Any) -> bool:
    """Move a delivery this sender holds on; False when it is no longer `sending` (declared in doubt)."""
    result = session.connection().execute(
        update(DELIVERY).where(DELIVERY.c.id == delivery_id, DELIVERY.c.status.in_(HELD_BY_SENDER)).values(**values))
    return bool(result.rowcount)


def record_sent(session: Session, delivery_id: int, sent_ref: str, now: datetime) -> bool:
    return _from_sending(session, delivery_id, status="sent", sent_ref=sent_ref, sent_at=now,
                         attempts=DELIVERY.c.attempts + 1, last_error="")


def record_retry(session: Session, delivery_id: int, next_attempt_at: datetime, error: str) -> bool:
    return _from_sending(session, delivery_id, status="pending", next_attempt_at=next_attempt_at,
                         attempts=DELIVERY.c.attempts + 1, claimed_at=None, last_error=error[:500])


def record_failed(session: Session, delivery_id: int, error: str) -> bool:
    return _from_sending(session, delivery_id, status="failed", attempts=DELIVERY.c.attempts + 1,
                         last_error=error[:500])


def mark_in_doubt(session: Session, now: datetime, lease: timedelta) -> int:
    """Deliveries whose sender vanished between `sending` and its record may or may not have arrived. The
    policy: each is sent once more, marked as a repeat (`repeat`, then `resending`), because an alert the owner
    never saw costs more than one seen twice; a repeat that goes in doubt too is left `in_doubt` for good.
    Returns how many went in doubt now."""
    stale = DELIVERY.c.claimed_at < now - lease
    first = session.connection().execute(
        update(DELIVERY).where(DELIVERY.c.status == "sending", stale)
        .values(status="repeat", next_attempt_at=now, claimed_at=None, last_error=IN_DOUBT_REPEAT))
    again = session.connection().execute(
        update(DELIVERY).where(DELIVERY.c.status == "resending", stale)
        .values(status="in_doubt", last_error=IN_DOUBT_FINAL))
    return int(first.rowcount) + int(again.rowcount)


def record_in_doubt(session: Session, delivery_id: int, error: str, now: datetime) -> bool:
    """A send that may have happened (the provider did not answer in time): repeated once, as above."""
    conn = session.connection()
    first = conn.execute(update(DELIVERY).where(DELIVERY.c.id == delivery_id, DELIVERY.c.status == "sending")
                         .values(status="repeat", next_attempt_at=now, claimed_at=None,
                                 attempts=DELIVERY.c.attempts + 1, last_error=f"in doubt: {error}"[:500]))
    if first.rowcount:
        return True
    again = conn.execute(update(DELIVERY).where(DELIVERY.c.id == delivery_id, DELIVERY.c.status == "resending")
                         .values(status="in_doubt", attempts=DELIVERY.c.attempts + 1,
                                 last_error=f"{IN_DOUBT_FINAL}: {error}"[:500]))
    return bool(again.rowcount)


def count_in_doubt(session: Session) -> int:
    """Deliveries left in doubt for good (their repeat went in doubt too): what /metrics shows."""
    query = select(func.count()).select_from(DELIVERY).where(DELIVERY.c.status == "in_doubt")
    return int(session.connection().execute(query).scalar_one())


def record_held(session: Session, delivery_id: int, reason: str) -> bool:
    """A delivery this sender holds (`sending`) waits for the chat to write again; no attempt is spent."""
    result = session.connection().execute(
        update(DELIVERY).where(DELIVERY.c.id == delivery_id, DELIVERY.c.status.in_(("sending", "resending")))
        .values(status="held", claimed_at=None, last_error=reason[:500]))
    return bool(result.rowcount)


def release_held(session: Session, chat_id: str, now: datetime) -> int:
    """The chat wrote: its held deliveries are due again (the window is open). Returns how many."""
    result = session.connection().execute(
        update(DELIVERY).where(DELIVERY.c.channel == CHANNEL, DELIVERY.c.chat_id == chat_id,
                               DELIVERY.c.status == "held")
        .values(status="pending", next_attempt_at=now, last_error=""))
    return int(result.rowcount)


@dataclass(frozen=True, slots=True)
class StatusUpdate:
    message_sid: str
    status: str
    error_code: str = ""


def record_status(session: Session, update_: StatusUpdate, now: datetime) -> int | None:
    """Twilio's status callback on the delivery that sent `message_sid`; the delivery id, or None when the sid is
    not a delivery's (a conversation reply). A `failed` with 63016 puts the delivery back to pending: it goes
    again as a template or waits (`held`), since the window turned out to be closed."""
    row = session.connection().execute(
        select(DELIVERY.c.id, DELIVERY.c.status, DELIVERY.c.provider_status)
        .where(DELIVERY.c.channel == CHANNEL, DELIVERY.c.sent_ref == update_.message_sid)).first()
    if row is None:
        return None
    rank = STATUS_ORDER.get(update_.status, 0)
    if rank < STATUS_ORDER.get(row.provider_status, -1):
        return int(row.id)  # callbacks may arrive out of order: "sent" after "delivered" changes nothing
    values: dict[str, object] = {"provider_status": update_.status[:20], "provider_error": update_.error_code[:20],
                                 "status_at": now}
    if update_.error_code == OUTSIDE_WINDOW_CODE and row.status == "sent":
        # provider_status starts afresh for the next send (its own sid); provider_error keeps the refusal
        values.update(status="pending", next_attempt_at=now, sent_ref=None, provider_status="",
                      last_error="whatsapp: outside the 24-hour window (63016)")
    session.connection().execute(update(DELIVERY).where(DELIVERY.c.id == row.id).values(**values))
    return int(row.id)
