"""`POST /daraja/{token}/result`: Daraja's asynchronous results (Transaction Status; the ResultURL Pull
registration names). The allow-list, the token (404 when unknown, nothing stored), the size; the raw body is
journaled through the callback writer (spooled if the database is away) and answered as accepted, then the
result is applied to the request it answers. A body that is not a Daraja result is kept, flagged, accepted."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import JSONResponse

from bot.bookkeeping.transaction_status import apply_result
from bot.logs import get_logger
from bot.mpesa.daraja_results import AsyncResult, parse_async_result
from bot.storage.callbacks import CallbackRecord
from bot.storage.db import Engine, unit_of_work
from webhooks.deps import ServicesDep, forwarded_client, is_allowed, read_limited_body

router = APIRouter()
log = get_logger("daraja.result")
ACCEPTED = {"ResultCode": 0, "ResultDesc": "Accepted"}


@router.post("/daraja/{token}/result")
async def daraja_result(token: str, request: Request, svc: ServicesDep) -> JSONResponse:
    peer = request.client.host if request.client else ""
    address = forwarded_client(peer, request.headers.get("x-forwarded-for"), svc.settings.trusted_proxy_networks)
    if not is_allowed(address, svc.settings.callback_allow_networks):
        raise HTTPException(status_code=403, detail="forbidden")
    target = await svc.targets.target_for(token)
    if target is None:
        raise HTTPException(status_code=404, detail="not found")
    body = await read_limited_body(request, svc.settings.max_callback_bytes)
    parsed = parse_async_result(body)
    now = datetime.now(UTC)
    record = CallbackRecord(source="daraja_result", business_id=target.business_id, body=body, remote_addr=address,
                            received_at=now, external_id=(parsed.conversation_id or None)
                            if isinstance(parsed, AsyncResult) else None,
                            problem=parsed if isinstance(parsed, str) else None)
    stored = await svc.writer.submit(record)
    if not stored.durable:
        raise HTTPException(status_code=503, detail="cannot store the result now")
    if isinstance(parsed, AsyncResult):
        try:
            await asyncio.to_thread(_apply, svc.engine, target.business_id, parsed, now)
        except Exception as exc:  # noqa: BLE001 - journaled already: reprocessing it later is a query
            log.warning("daraja.result_apply_failed", business_id=target.business_id, error=type(exc).__name__)
        svc.outbox.wake()  # the asker's answer or a reversal alert goes out now
    return JSONResponse(ACCEPTED)


def _apply(engine: Engine, business_id: int, result: AsyncResult, now: datetime) -> None:
    with unit_of_work(engine) as session:
        answer = apply_result(session, business_id, result, now)
    log.info("daraja.result", business_id=business_id, answered=answer is not None, code=result.result_code)
