"""`GET /media/{id}/{expiry}/{signature}`: pictures and files Hesabu sends by URL (Twilio fetches them).
The URL is signed with HESABU_SECRET_KEY and expires (bot.channels.whatsapp.media.MediaSigner); the content is in the
database, so any process serves it. Anything wrong answers 404, the same for a bad signature and a missing
file, so the route tells a prober nothing.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

from fastapi import APIRouter, HTTPException, Response

from bot.storage.db import Session
from bot.storage.media import media_of
from webhooks.deps import ServicesDep

router = APIRouter()


@router.get("/media/{media_id}/{expiry}/{signature}")
async def media(svc: ServicesDep, media_id: str, expiry: int, signature: str) -> Response:
    now = datetime.now(UTC)
    if not svc.media_signer.valid(media_id, expiry, signature, now):
        raise HTTPException(status_code=404, detail="not found")

    def load() -> tuple[bytes, str, str] | None:
        with Session(svc.engine) as session:
            row = media_of(session, media_id, now)
            return (row.content, row.mime, row.filename) if row is not None else None

    found = await asyncio.to_thread(load)
    if found is None:
        raise HTTPException(status_code=404, detail="not found")
    content, mime, filename = found
    safe_name = "".join(ch for ch in filename if ch.isalnum() or ch in "._-") or "file"
    return Response(content, media_type=mime, headers={
        "Content-Disposition": f'inline; filename="{safe_name}"', "Cache-Control": "private, max-age=3600"})
