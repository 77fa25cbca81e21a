"""What the WhatsApp channel keeps in the database: the 24-hour window of each chat, deliveries held while it
is closed, Twilio's delivery status, the choices a chat was last offered, and media served by signed URL.

The window is WhatsApp's rule: a business may start a free-form message only within 24 hours of the person's
last message (`chat_state.last_inbound_at`, written by the conversation). Twilio is the final word: a delivery
that failed with 63016 after the chat last wrote closes the window whatever our clock says.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Table, delete, exists, select, update
from sqlmodel import Session

from bot.storage.chat_tables import ChatStateRow, DeliveryRow, MediaRow
from bot.storage.chats import chat_state, pending_of, set_pending

CHANNEL = "whatsapp"
WINDOW = timedelta(hours=24)
OUTSIDE_WINDOW_CODE = "63016"
DELIVERY: Table = DeliveryRow.__table__  # type: ignore[attr-defined]
CHAT_STATE: Table = ChatStateRow.__table__  # type: ignore[attr-defined]
MEDIA: Table = MediaRow.__table__  # type: ignore[attr-defined]
# Twilio's MessageStatus values in the order a message moves through them; a late callback never goes back
STATUS_ORDER = {"accepted": 0, "scheduled": 0, "queued": 1, "sending": 2, "sent": 3, "delivered": 4, "read": 5,
                "undelivered": 6, "failed": 6, "canceled": 6}


def window_open(session: Session, chat_id: str, now: datetime) -> bool:
    """May a free-form message start now? Within 24 h of the chat's last message, unless Twilio refused one
    with 63016 since then."""
    last = session.connection().execute(
        select(CHAT_STATE.c.last_inbound_at).where(CHAT_STATE.c.channel == CHANNEL,
                                                   CHAT_STATE.c.chat_id == chat_id)).scalar_one_or_none()
    if last is None or last <= now - WINDOW:
        return False
    refused = session.connection().execute(select(exists().where(
        DELIVERY.c.channel == CHANNEL, DELIVERY.c.chat_id == chat_id,
        DELIVERY.c.provider_error == OUTSIDE_WINDOW_CODE, DELIVERY.c.status_at > last))).scalar()
    return not refused


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


def remember_offered(session: Session, chat_id: str, choices: list[str], now: datetime) -> None:
    """An alert with choices went to the chat: "2" now answers its second choice (as for the assistant's own
    replies, bot.assistant.conversation)."""
    state = chat_state(session, CHANNEL, chat_id, now)
    set_pending(session, state, {**pending_of(state), "offered": choices}, now)


# media --------------------------------------------------------------------------------------------------------
def store_media(session: Session, filename: str, content: bytes, mime: str, now: datetime, ttl: timedelta) -> str:
    """Keep a file to serve; returns its random id (128 bits: never guessable). Expired files are swept here."""
    session.connection().execute(delete(MEDIA).where(MEDIA.c.expires_at < now))
    media_id = secrets.token_urlsafe(16)
    session.add(MediaRow(id=media_id, filename=filename[:200], mime=mime[:100], content=content,
                         created_at=now, expires_at=now + ttl))
    return media_id


def media_of(session: Session, media_id: str, now: datetime) -> MediaRow | None:
    row = session.get(MediaRow, media_id)
    return row if row is not None and row.expires_at > now else None
