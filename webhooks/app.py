"""`create_app`: settings in, the FastAPI app out; its lifespan runs the services (webhooks.services)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from webhooks.routes import daraja, daraja_results, media, ops, sms, telegram, webchat, whatsapp
from webhooks.services import running_services
from webhooks.settings import Settings


def create_app(settings: Settings | None = None, role: str = "all") -> FastAPI:
    """`role` (webhooks.services.ROLES): a `worker` answers only /healthz and /metrics; the callbacks, the
    chats' webhooks and the chat page are served by `web` (and `all`) processes."""
    settings = settings or Settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with running_services(settings, role) as services:
            app.state.services = services
            yield

    app = FastAPI(title="Hesabu", lifespan=lifespan, docs_url=None, redoc_url=None, openapi_url=None)
    if role == "worker":
        app.include_router(ops.router)
        return app
    app.add_middleware(daraja.DarajaCallbacks)  # the callback hot path, ahead of FastAPI's router
    for module in (ops, telegram, whatsapp, media, sms, webchat, daraja_results):
        app.include_router(module.router)
    return app
