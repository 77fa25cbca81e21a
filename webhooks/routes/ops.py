"""Operations: health for load balancers, metrics for Prometheus."""

from __future__ import annotations

import asyncio

from fastapi import APIRouter, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from webhooks.routes.daraja import RuntimeDep

router = APIRouter()


@router.get("/healthz")
async def healthz(rt: RuntimeDep) -> JSONResponse:
    ok = await asyncio.to_thread(rt.database_ok)
    body = {"status": "ok" if ok else "degraded", "database": "ok" if ok else "unreachable"}
    return JSONResponse(body, status_code=200 if ok else 503)


@router.get("/metrics")
async def metrics(rt: RuntimeDep) -> Response:
    return Response(generate_latest(rt.metrics.registry), media_type=CONTENT_TYPE_LATEST)
