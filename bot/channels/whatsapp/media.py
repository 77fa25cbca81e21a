"""Pictures and files for WhatsApp: Twilio fetches media from a public URL, so a file is stored in the database
and published as `{public}/media/{id}/{expiry}/{signature}` (served by webhooks.routes.media)."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from bot.storage.db import Engine, unit_of_work, write_gate
from bot.storage.media import store_media

MEDIA_TTL = timedelta(hours=24)


def utcnow() -> datetime:
    return datetime.now(UTC)


class MediaSigner:
    """Media URLs `{public}/media/{id}/{expiry}/{signature}`: HMAC-SHA256 with HESABU_SECRET_KEY over id and
    expiry (unix seconds), so a URL can be neither guessed nor stretched past its expiry."""

    def __init__(self, secret_key: str, public_url: str) -> None:
        self.key = secret_key.encode()
        self.public_url = public_url.rstrip("/")

    def signature(self, media_id: str, expiry: int) -> str:
        mac = hmac.new(self.key, f"media:{media_id}:{expiry}".encode(), hashlib.sha256).digest()
        return base64.urlsafe_b64encode(mac).rstrip(b"=").decode()

    def url(self, media_id: str, expiry: int) -> str:
        return f"{self.public_url}/media/{media_id}/{expiry}/{self.signature(media_id, expiry)}"

    def valid(self, media_id: str, expiry: int, signature: str, now: datetime) -> bool:
        expected = self.signature(media_id, expiry)
        return hmac.compare_digest(expected.encode(), signature.encode()) and expiry > now.timestamp()


class MediaPublisher:
    """`publish` is the WhatsApp sender's way to turn a file into a URL Twilio can fetch."""

    def __init__(self, engine: Engine, signer: MediaSigner, clock: Callable[[], datetime] = utcnow) -> None:
        self.engine = engine
        self.signer = signer
        self.clock = clock

    async def publish(self, filename: str, content: bytes, mime: str) -> str:
        """Store a file and return the signed, expiring URL Twilio fetches it from."""
        now = self.clock()

        def store() -> str:
            with write_gate(self.engine), unit_of_work(self.engine) as session:
                return store_media(session, filename, content, mime, now, MEDIA_TTL)

        media_id = await asyncio.to_thread(store)
        return self.signer.url(media_id, int((now + MEDIA_TTL).timestamp()))
