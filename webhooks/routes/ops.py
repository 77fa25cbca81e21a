"""Operations: health for load balancers, metrics for Prometheus."""

from __future__ import annotations

import asyncio

from fastapi import APIRouter, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from webhooks.deps import ServicesDep

router = APIRouter()


@router.get("/healthz")
async def healthz(svc: ServicesDep) -> JSONResponse:
    ok = await asyncio.to_thread(svc.database_ok)
    body = {"status": "ok" if ok else "degraded", "database": "ok" if ok else "unreachable"}
    return JSONResponse(body, status_code=200 if ok else 503)


@router.get("/metrics")
async def metrics(svc: ServicesDep) -> Response:
    return Response(generate_latest(svc.metrics.registry), media_type=CONTENT_TYPE_LATEST)
