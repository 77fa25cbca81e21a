"""`POST /telegram`: Telegram's webhook. Verify the secret header first, then hand the update to PTB.

An unset HESABU_TELEGRAM_WEBHOOK_SECRET (or Telegram off, or polling mode) answers 404: an unset secret
closes the route, it never opens it. A wrong or missing header answers 403. Anything Telegram sent that we
cannot read is logged and answered 200, so Telegram does not retry it forever.
"""

from __future__ import annotations

import hmac

from fastapi import APIRouter, HTTPException, Request, Response
from telegram import Update

from webhooks.edge import load_json, read_limited_body
from webhooks.logs import get_logger
from webhooks.telegram import TelegramBridge, webhook_secret

router = APIRouter()
log = get_logger("telegram.webhook")
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"  # noqa: S105 - a header name
MAX_UPDATE_BYTES = 1024 * 1024


def _verified_bridge(request: Request) -> TelegramBridge:
    bridge: TelegramBridge | None = getattr(request.app.state, "telegram", None)
    secret = webhook_secret(request.app.state.hesabu.settings)
    if bridge is None or secret is None or not bridge.webhook:
        raise HTTPException(status_code=404, detail="not found")
    given = request.headers.get(SECRET_HEADER, "")
    if not hmac.compare_digest(given.encode(), secret.encode()):
        raise HTTPException(status_code=403, detail="forbidden")
    return bridge


@router.post("/telegram")
async def telegram_webhook(request: Request) -> Response:
    bridge = _verified_bridge(request)
    if not bridge.ready.is_set():
        raise HTTPException(status_code=503, detail="starting")  # Telegram retries
    body = await read_limited_body(request, MAX_UPDATE_BYTES)
    try:
        update = Update.de_json(load_json(body), bridge.application.bot)
    except (ValueError, TypeError, KeyError) as exc:
        log.warning("telegram.bad_update", error=type(exc).__name__, size=len(body))
        return Response(status_code=200)
    await bridge.put(update)
    return Response(status_code=200)
