"""Daraja callbacks: C2B validation and confirmation, STK results. Verify, read, store, acknowledge.

These three routes are the hot path, so they are a small pure-ASGI middleware in front of FastAPI rather
than FastAPI routes: Safaricom waits for each acknowledgement, and the router, dependency solving and
request objects were most of a callback's CPU. Every other path goes on to FastAPI untouched.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable, MutableMapping
from datetime import UTC, datetime
from typing import Any

from bot.storage.businesses import CallbackTarget
from bot.storage.invoices import reference_is_known
from webhooks.deps import forwarded_client, is_allowed
from webhooks.intake.records import build_record
from webhooks.services import Services
from webhooks.urls import match_callback_path

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

ACCEPTED: dict[str, Any] = {"ResultCode": 0, "ResultDesc": "Accepted"}
VALIDATION_ACCEPTED = {"ResultCode": "0", "ResultDesc": "Accepted"}
VALIDATION_REJECT_ACCOUNT = {"ResultCode": "C2B00012", "ResultDesc": "Rejected"}


def _encoded(body: dict[str, Any]) -> bytes:
    return json.dumps(body, separators=(",", ":")).encode()


ACCEPTED_BODY = _encoded(ACCEPTED)
_VALIDATION_BODIES = {True: _encoded(VALIDATION_ACCEPTED), False: _encoded(VALIDATION_REJECT_ACCOUNT)}


class Refused(Exception):
    def __init__(self, status: int, detail: str) -> None:
        super().__init__(detail)
        self.status, self.detail = status, detail


class DarajaCallbacks:
    """ASGI middleware: POST /c2b/{token}/validation|confirmation and /stk/{token}/callback."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        found = match_callback_path(scope["path"]) if scope["type"] == "http" and scope["method"] == "POST" else None
        if found is None:
            await self.app(scope, receive, send)
            return
        source, token = found
        svc: Services = scope["app"].state.services
        try:
            status, body = await answer_callback(svc, source, token, scope, receive)
        except Refused as refused:
            status, body = refused.status, _encoded({"detail": refused.detail})
        await _respond(send, status, body)


async def answer_callback(svc: Services, source: str, token: str, scope: Scope, receive: Receive) -> tuple[int, bytes]:
    """Allow-list, then the token (404 stores nothing), then the body with its size limit; store; answer."""
    headers = dict(scope["headers"])
    peer = scope["client"][0] if scope.get("client") else ""
    forwarded = headers.get(b"x-forwarded-for")
    address = forwarded_client(peer, forwarded.decode("latin-1") if forwarded else None,
                               svc.settings.trusted_proxy_networks)
    if not is_allowed(address, svc.settings.callback_allow_networks):
        raise Refused(403, "forbidden")
    target = await svc.targets.target_for(token)
    if target is None and not svc.targets.fresh:  # cannot tell whose: keep it (bounded) rather than lose it
        body = await _read_body(receive, headers.get(b"content-length"), svc.settings.max_callback_bytes)
        return await _unverified(svc, source, token, body, address)
    if target is None:
        raise Refused(404, "not found")
    body = await _read_body(receive, headers.get(b"content-length"), svc.settings.max_callback_bytes)
    record = build_record(source, target, body, address, datetime.now(UTC))
    stored = await svc.writer.submit(record)
    if source == "c2b_validation":
        return 200, _VALIDATION_BODIES[await _accept_account(svc, target, record.payment)]
    if not stored.durable:
        raise Refused(503, "cannot store the callback now")
    return 200, ACCEPTED_BODY


async def _unverified(svc: Services, source: str, token: str, body: bytes, address: str) -> tuple[int, bytes]:
    """The database is away and the token is not in the saved list: a validation is accepted (as any doubt
    is), a confirmation or STK result is spooled unverified; 503 once the spool's bound for those is reached."""
    if source == "c2b_validation":
        return 200, _VALIDATION_BODIES[True]
    if not await asyncio.to_thread(svc.writer.spool_unverified, source, token, body, address, datetime.now(UTC)):
        raise Refused(503, "cannot store the callback now")
    return 200, ACCEPTED_BODY


async def _accept_account(svc: Services, target: CallbackTarget, payment: Any) -> bool:
    """Accept by default (register `Completed` so an outage never blocks a sale); a business that asked for
    it refuses account numbers it does not know. Any doubt (database slow or away) accepts."""
    if not target.reject_unknown_accounts or payment is None:
        return True
    try:
        return await asyncio.wait_for(
            asyncio.to_thread(reference_is_known, svc.engine, target.business_id, payment.reference), timeout=2.0)
    except Exception:  # noqa: BLE001 - fail open, as Safaricom's own Completed default does
        return True


async def _read_body(receive: Receive, declared: bytes | None, limit: int) -> bytes:
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise Refused(413, "body too large")
    chunks: list[bytes] = []
    size, more = 0, True
    while more:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise Refused(400, "client disconnected")
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise Refused(413, "body too large")
        chunks.append(chunk)
        more = message.get("more_body", False)
    return b"".join(chunks)


async def _respond(send: Send, status: int, body: bytes) -> None:
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})
