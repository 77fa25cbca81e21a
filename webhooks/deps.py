"""What routes depend on: the services, and the verifiers that run before anything is parsed: who is calling
(behind trusted proxies) and is it allowed, Telegram's secret header, Twilio's signature, and a body read with
a hard size limit. An unset secret closes its route (404), a wrong one is refused (403)."""

from __future__ import annotations

import hmac
import ipaddress
import json
from typing import Annotated, Any
from urllib.parse import parse_qsl

from fastapi import Depends, HTTPException, Request
from starlette.datastructures import FormData
from twilio.request_validator import RequestValidator

from bot.channels.telegram.runtime import TelegramChannel
from bot.channels.whatsapp.runtime import WhatsAppChannel
from bot.logs import get_logger
from webhooks.services import Services, telegram_webhook_secret, twilio_auth_token
from webhooks.settings import IpNetwork

log = get_logger("deps")
TELEGRAM_SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"  # noqa: S105 - a header name
TWILIO_SIGNATURE_HEADER = "X-Twilio-Signature"
MAX_FORM_BYTES = 64 * 1024


def services(request: Request) -> Services:
    return request.app.state.services  # type: ignore[no-any-return]


ServicesDep = Annotated[Services, Depends(services)]


def _in(address: str, networks: list[IpNetwork]) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in net for net in networks)


def forwarded_client(peer: str, forwarded: str | None, trusted: list[IpNetwork]) -> str:
    """The peer's address; X-Forwarded-For is believed only when the peer is a trusted proxy, and then the
    rightmost address that is not itself a trusted proxy is the client."""
    if not forwarded or not _in(peer, trusted):
        return peer
    chain = [part.strip() for part in forwarded.split(",") if part.strip()]
    for address in reversed(chain):
        if not _in(address, trusted):
            return address
    return chain[0] if chain else peer


def is_allowed(address: str, allow: list[IpNetwork]) -> bool:
    """An empty allow-list allows every caller."""
    return not allow or _in(address, allow)


async def read_limited_body(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise HTTPException(status_code=413, detail="body too large")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise HTTPException(status_code=413, detail="body too large")
        chunks.append(chunk)
    return b"".join(chunks)


MAX_JSON_DEPTH = 32  # Telegram updates and the chat page's posts nest 5 deep at most


def load_json(body: bytes, max_depth: int = MAX_JSON_DEPTH) -> Any:
    """`json.loads` that refuses nesting deeper than `max_depth` with ValueError before parsing: the C parser
    recurses per level, so `[[[[…` fifty thousand deep raises RecursionError (a 500) instead of a clear 400."""
    if body.count(b"[") + body.count(b"{") > max_depth and _depth(body) > max_depth:
        raise ValueError(f"JSON nested deeper than {max_depth}")
    return json.loads(body)


def _depth(body: bytes) -> int:
    """The deepest nesting of arrays and objects, strings skipped: one linear pass."""
    deepest = depth = 0
    in_string = escaped = False
    for byte in body:
        if in_string:
            if escaped:
                escaped = False
            elif byte == 0x5C:  # backslash
                escaped = True
            elif byte == 0x22:  # quote
                in_string = False
        elif byte == 0x22:
            in_string = True
        elif byte in (0x5B, 0x7B):
            depth += 1
            deepest = max(deepest, depth)
        elif byte in (0x5D, 0x7D):
            depth -= 1
    return deepest


def verified_telegram(request: Request, svc: ServicesDep) -> TelegramChannel:
    """The Telegram channel, once the secret header matched (404 without a webhook, 403 on a wrong secret)."""
    channel, secret = svc.telegram, telegram_webhook_secret(svc.settings)
    if channel is None or secret is None or not channel.webhook:
        raise HTTPException(status_code=404, detail="not found")
    given = request.headers.get(TELEGRAM_SECRET_HEADER, "")
    if not hmac.compare_digest(given.encode(), secret.encode()):
        raise HTTPException(status_code=403, detail="forbidden")
    return channel


VerifiedTelegram = Annotated[TelegramChannel, Depends(verified_telegram)]


async def verified_twilio_form(request: Request, svc: ServicesDep) -> tuple[WhatsAppChannel, FormData]:
    """The WhatsApp channel and the form, once X-Twilio-Signature matched over HESABU_PUBLIC_URL + the path (the
    URL Twilio called, whatever Host a proxy hands us) and the form exactly as received, repeated fields kept."""
    channel, token = svc.whatsapp, twilio_auth_token(svc.settings)
    if channel is None or token is None:
        raise HTTPException(status_code=404, detail="not found")
    body = await read_limited_body(request, MAX_FORM_BYTES)
    signature = request.headers.get(TWILIO_SIGNATURE_HEADER, "")
    try:
        form: FormData | None = FormData(parse_qsl(body.decode("utf-8"), keep_blank_values=True))
    except UnicodeDecodeError:
        form = None
    query = f"?{request.url.query}" if request.url.query else ""
    url = svc.settings.public_url.rstrip("/") + request.url.path + query
    if form is None or not signature or not RequestValidator(token).validate(url, form, signature):
        log.warning("whatsapp.bad_signature", path=request.url.path)
        raise HTTPException(status_code=403, detail="forbidden")
    return channel, form


VerifiedTwilioForm = Annotated[tuple[WhatsAppChannel, FormData], Depends(verified_twilio_form)]
