"""Media served by signed URL (Twilio fetches a WhatsApp picture or file from us): stored with an expiry,
read back only before it."""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta

from sqlalchemy import Table, delete
from sqlmodel import Session

from bot.storage.tables import MediaRow

MEDIA: Table = MediaRow.__table__  # type: ignore[attr-defined]


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
