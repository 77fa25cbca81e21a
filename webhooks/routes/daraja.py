"""Daraja callbacks: C2B validation and confirmation, STK results. Verify, read, store, acknowledge."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Request, Response
from fastapi.responses import JSONResponse

from bot.storage.businesses import CallbackTarget
from bot.storage.invoices_lookup import reference_is_known
from webhooks.daraja import build_record
from webhooks.edge import client_address, read_limited_body, require_allowed
from webhooks.runtime import Runtime

router = APIRouter()
ACCEPTED: dict[str, Any] = {"ResultCode": 0, "ResultDesc": "Accepted"}
ACCEPTED_BODY = json.dumps(ACCEPTED, separators=(",", ":")).encode()
VALIDATION_ACCEPTED = {"ResultCode": "0", "ResultDesc": "Accepted"}
VALIDATION_REJECT_ACCOUNT = {"ResultCode": "C2B00012", "ResultDesc": "Rejected"}


def runtime(request: Request) -> Runtime:
    return request.app.state.hesabu  # type: ignore[no-any-return]


RuntimeDep = Annotated[Runtime, Depends(runtime)]


async def verified_callback(token: str, request: Request, rt: Runtime) -> tuple[CallbackTarget, bytes, str]:
    """Allow-list, then the token (404 stores nothing), then the body with its size limit.
    A plain call rather than a FastAPI dependency: dependency solving was a visible share of the hot path."""
    address = client_address(request, rt.settings.trusted_proxy_networks)
    require_allowed(address, rt.settings.callback_allow_networks)
    target = await rt.target_for(token)
    if target is None:
        raise HTTPException(status_code=404, detail="not found")
    body = await read_limited_body(request, rt.settings.max_callback_bytes)
    return target, body, address


async def _store(request: Request, token: str, source: str) -> Response:
    rt = runtime(request)
    target, body, address = await verified_callback(token, request, rt)
    record = build_record(source, target, body, address, datetime.now(UTC))
    stored = await rt.writer.submit(record)
    if not stored.durable:
        raise HTTPException(status_code=503, detail="cannot store the callback now")
    return Response(ACCEPTED_BODY, media_type="application/json")


@router.post("/c2b/{token}/confirmation")
async def c2b_confirmation(token: str, request: Request) -> Response:
    return await _store(request, token, "c2b_confirmation")


@router.post("/stk/{token}/callback")
async def stk_callback(token: str, request: Request) -> Response:
    return await _store(request, token, "stk")


@router.post("/c2b/{token}/validation")
async def c2b_validation(token: str, request: Request) -> JSONResponse:
    """Accept by default (register `Completed` so an outage never blocks a sale); a business that asked for
    it refuses account numbers it does not know. Any doubt (database slow or away) accepts."""
    rt = runtime(request)
    target, body, address = await verified_callback(token, request, rt)
    record = build_record("c2b_validation", target, body, address, datetime.now(UTC))
    await rt.writer.submit(record)
    if target.reject_unknown_accounts and record.payment is not None:
        try:
            known = await asyncio.wait_for(
                asyncio.to_thread(reference_is_known, rt.engine, target.business_id, record.payment.reference),
                timeout=2.0)
        except Exception:  # noqa: BLE001 - fail open, as Safaricom's own Completed default does
            known = True
        if not known:
            return JSONResponse(VALIDATION_REJECT_ACCOUNT)
    return JSONResponse(VALIDATION_ACCEPTED)
