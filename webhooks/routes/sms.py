"""`POST /sms/{token}`: M-PESA messages forwarded by an SMS app on the owner's phone. Verify, read, store, answer.

The token (404 when unknown, nothing stored), then the size, then the signature: an app that signs (SMS Gateway for
Android: `X-Signature` = hex HMAC-SHA256(key, body + `X-Timestamp`)) must sign right and recently, and a business
that asked for it refuses unsigned posts (403). Only messages from the M-PESA sender are kept: anything else a
forwarder sends (personal messages, one-time codes) is answered and dropped unstored, because it is private and
none of our business. An M-PESA message is journaled raw before it is answered, like a Daraja callback; a body
that is not a forwarder's is journaled, flagged to the owner and answered as accepted, as the callback routes do.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import time
from datetime import UTC, datetime

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import JSONResponse

from bot.logs import get_logger
from bot.mpesa.forwarders import ForwardIgnored, read_forwarded
from bot.storage.forwarding import forwarding_of
from webhooks.deps import ServicesDep, read_limited_body
from webhooks.intake.sms import build_sms_record, is_forwarded_from_mpesa

router = APIRouter()
log = get_logger("sms.webhook")
SIGNATURE_HEADER = "X-Signature"
TIMESTAMP_HEADER = "X-Timestamp"
MAX_SKEW_SECONDS = 300  # a signed post older (or newer) than this is a replay, or a phone with a wrong clock


def sign(key: str, body: bytes, timestamp: str) -> str:
    """What SMS Gateway for Android sends in X-Signature (and what tests sign with)."""
    return hmac.new(key.encode(), body + timestamp.encode(), hashlib.sha256).hexdigest()


def _signature_ok(key: str | None, body: bytes, signature: str, timestamp: str, now: float) -> bool:
    if key is None or not timestamp.strip().isdigit():
        return False
    if abs(now - int(timestamp.strip())) > MAX_SKEW_SECONDS:
        return False
    return hmac.compare_digest(sign(key, body, timestamp.strip()), signature.strip().lower())


@router.post("/sms/{token}")
async def sms_forwarded(token: str, request: Request, svc: ServicesDep) -> JSONResponse:
    target = await svc.targets.target_for(token)
    if target is None:
        raise HTTPException(status_code=404, detail="not found")
    body = await read_limited_body(request, svc.settings.max_callback_bytes)
    signature = request.headers.get(SIGNATURE_HEADER)
    forwarding = await asyncio.to_thread(forwarding_of, svc.engine, target.business_id)
    timestamp = request.headers.get(TIMESTAMP_HEADER, "")
    if (signature is not None or forwarding.require_signature) and not _signature_ok(
            forwarding.signing_key, body, signature or "", timestamp, time.time()):
        log.warning("sms.bad_signature", business_id=target.business_id)
        raise HTTPException(status_code=403, detail="forbidden")
    if isinstance(read_forwarded(body), ForwardIgnored) or is_forwarded_from_mpesa(body) is False:
        log.info("sms.ignored", business_id=target.business_id)
        return JSONResponse({"status": "ignored"})
    address = request.client.host if request.client else ""
    stored = await svc.writer.submit(build_sms_record(target, body, address, datetime.now(UTC)))
    if not stored.durable:
        raise HTTPException(status_code=503, detail="cannot store the message now")
    return JSONResponse({"status": "accepted"})
