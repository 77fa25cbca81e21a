"""`POST /whatsapp` (Twilio's inbound WhatsApp webhook) and `POST /whatsapp/status` (its delivery status
callbacks). Verify before parsing: X-Twilio-Signature is checked with the twilio library's RequestValidator
over HESABU_PUBLIC_URL + the path (the URL Twilio called, whatever Host a proxy hands us) and the form exactly
as received, repeated fields kept. A bad or missing signature is 403 and nothing is processed; WhatsApp off
(no account sid or auth token) is 404: an unset secret closes the routes, never opens them.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from urllib.parse import parse_qsl

from fastapi import APIRouter, HTTPException, Request, Response
from starlette.datastructures import FormData
from twilio.request_validator import RequestValidator

from bot.channels.whatsapp import inbound_from_form
from bot.storage.db import unit_of_work, write_gate
from bot.storage.whatsapp import StatusUpdate, record_status
from webhooks.edge import read_limited_body
from webhooks.logs import get_logger
from webhooks.whatsapp import WhatsAppBridge, auth_token

router = APIRouter()
log = get_logger("whatsapp.webhook")
SIGNATURE_HEADER = "X-Twilio-Signature"
MAX_FORM_BYTES = 64 * 1024
EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response/>'
FAILED = ("failed", "undelivered")  # Twilio's MessageStatus values for a message that will not arrive


async def _verified(request: Request) -> tuple[WhatsAppBridge, FormData]:
    bridge: WhatsAppBridge | None = getattr(request.app.state, "whatsapp", None)
    settings = request.app.state.hesabu.settings
    token = auth_token(settings)
    if bridge is None or token is None:
        raise HTTPException(status_code=404, detail="not found")
    body = await read_limited_body(request, MAX_FORM_BYTES)
    signature = request.headers.get(SIGNATURE_HEADER, "")
    try:
        form = FormData(_pairs(body))
    except UnicodeDecodeError:
        form = None
    url = settings.public_url.rstrip("/") + request.url.path + (f"?{request.url.query}" if request.url.query else "")
    if form is None or not signature or not RequestValidator(token).validate(url, form, signature):
        log.warning("whatsapp.bad_signature", path=request.url.path)
        raise HTTPException(status_code=403, detail="forbidden")
    return bridge, form


def _pairs(body: bytes) -> list[tuple[str, str]]:
    return parse_qsl(body.decode("utf-8"), keep_blank_values=True)


@router.post("/whatsapp")
async def whatsapp_inbound(request: Request) -> Response:
    bridge, form = await _verified(request)
    msg = inbound_from_form(form)
    if msg is not None:
        await bridge.receive(msg)
    return Response(EMPTY_TWIML, media_type="application/xml")


@router.post("/whatsapp/status")
async def whatsapp_status(request: Request) -> Response:
    bridge, form = await _verified(request)
    sid = str(form.get("MessageSid") or "")
    status = str(form.get("MessageStatus") or "").lower()
    if sid and status:
        update = StatusUpdate(sid, status, str(form.get("ErrorCode") or ""))

        def record() -> int | None:
            with write_gate(bridge.engine), unit_of_work(bridge.engine) as session:
                return record_status(session, update, datetime.now(UTC))

        delivery_id = await asyncio.to_thread(record)
        log.info("whatsapp.status", status=status, error=update.error_code, delivery_id=delivery_id)
        if status in FAILED and bridge.on_released is not None:
            # record_status decides what a failure does to the delivery (a 63016 puts it back to pending, to go
            # again as a template); wake the outbox on any failure so that rule lives in one place
            bridge.on_released()
    return Response(status_code=200)
