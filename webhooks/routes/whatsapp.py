"""`POST /whatsapp` (Twilio's inbound WhatsApp webhook) and `POST /whatsapp/status` (its delivery status
callbacks). Verify before parsing: X-Twilio-Signature is checked by webhooks.deps.verified_twilio_form. A bad
or missing signature is 403 and nothing is processed; WhatsApp off (no account sid or auth token) is 404: an
unset secret closes the routes, never opens them.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

from fastapi import APIRouter, Response

from bot.channels.whatsapp.inbound import inbound_from_form
from bot.logs import get_logger
from bot.storage.db import unit_of_work, write_gate
from bot.storage.outbox import StatusUpdate, record_status
from webhooks.deps import VerifiedTwilioForm

router = APIRouter()
log = get_logger("whatsapp.webhook")
EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response/>'
FAILED = ("failed", "undelivered")  # Twilio's MessageStatus values for a message that will not arrive


@router.post("/whatsapp")
async def whatsapp_inbound(verified: VerifiedTwilioForm) -> Response:
    channel, form = verified
    msg = inbound_from_form(form)
    if msg is not None:
        await channel.receive(msg)
    return Response(EMPTY_TWIML, media_type="application/xml")


@router.post("/whatsapp/status")
async def whatsapp_status(verified: VerifiedTwilioForm) -> Response:
    channel, form = verified
    sid = str(form.get("MessageSid") or "")
    status = str(form.get("MessageStatus") or "").lower()
    if sid and status:
        update = StatusUpdate(sid, status, str(form.get("ErrorCode") or ""))

        def record() -> int | None:
            with write_gate(channel.engine), unit_of_work(channel.engine) as session:
                return record_status(session, update, datetime.now(UTC))

        delivery_id = await asyncio.to_thread(record)
        log.info("whatsapp.status", status=status, error=update.error_code, delivery_id=delivery_id)
        if status in FAILED:
            # record_status decides what a failure does to the delivery (a 63016 puts it back to pending, to go
            # again as a template); wake the outbox on any failure so that rule lives in one place
            channel.on_released()
    return Response(status_code=200)
