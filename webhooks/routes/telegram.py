"""`POST /telegram`: Telegram's webhook. The secret header is verified first (webhooks.deps), then the update
goes to PTB.

An unset HESABU_TELEGRAM_WEBHOOK_SECRET (or Telegram off, or polling mode) answers 404: an unset secret
closes the route, it never opens it. A wrong or missing header answers 403. Anything Telegram sent that we
cannot read is logged and answered 200, so Telegram does not retry it forever.
"""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, Request, Response
from telegram import Update

from bot.logs import get_logger
from webhooks.deps import TELEGRAM_SECRET_HEADER, VerifiedTelegram, load_json, read_limited_body

router = APIRouter()
log = get_logger("telegram.webhook")
SECRET_HEADER = TELEGRAM_SECRET_HEADER
MAX_UPDATE_BYTES = 1024 * 1024


@router.post("/telegram")
async def telegram_webhook(request: Request, channel: VerifiedTelegram) -> Response:
    if not channel.ready.is_set():
        raise HTTPException(status_code=503, detail="starting")  # Telegram retries
    body = await read_limited_body(request, MAX_UPDATE_BYTES)
    try:
        update = Update.de_json(load_json(body), channel.application.bot)
    except (ValueError, TypeError, KeyError) as exc:
        log.warning("telegram.bad_update", error=type(exc).__name__, size=len(body))
        return Response(status_code=200)
    await channel.put(update)
    return Response(status_code=200)
