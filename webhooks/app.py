"""The composition root: settings in, the FastAPI app out, every long-lived part started in the lifespan."""

from __future__ import annotations

import asyncio
import gc
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress

from fastapi import FastAPI

from bot.jobs.outbox import OutboxSender
from bot.jobs.scheduler import JobScheduler
from bot.storage.db import make_engine
from webhooks.intake import CallbackWriter
from webhooks.logs import configure_logging, get_logger
from webhooks.metrics import Metrics
from webhooks.processing import PaymentProcessor
from webhooks.routes import daraja, media, ops, sms, telegram, whatsapp
from webhooks.routes.webchat import router as webchat_router
from webhooks.runtime import Runtime
from webhooks.settings import Settings
from webhooks.spool import Spool
from webhooks.telegram import build_bridge
from webhooks.webchat import start_web_chat
from webhooks.whatsapp import build_whatsapp

log = get_logger("app")


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        configure_logging()
        rt = build_runtime(settings)
        app.state.hesabu = rt
        rt.load_saved_targets()  # the businesses as last seen: callbacks are recognised even if the database is down
        await rt.refresh_targets()
        # matching runs after the acknowledgement: the writer wakes the processor from its thread after each
        # commit (the spool replay below too); the processor's first sweep runs now
        processor = PaymentProcessor(rt.engine, intake_busy=lambda: rt.writer.busy)
        app.state.processor = processor
        rt.writer.on_stored = processor.wake
        await processor.start()
        try:
            await asyncio.to_thread(rt.replay_spool)
        except Exception as exc:  # noqa: BLE001 - the database may still be starting; the replayer retries
            log.warning("spool.startup_replay_failed", error=type(exc).__name__)
        await rt.writer.start()
        rt.background.append(asyncio.create_task(rt.spool_replayer(), name="spool-replayer"))
        # one scheduler (summaries.daily, digest.morning, matching.sweep), run by the one elected process;
        # what it queues goes out through the outbox, woken at once when there is one
        scheduler = JobScheduler(rt.engine, sweep=processor.sweep, on_queued=lambda: _wake_outbox(app))
        app.state.scheduler = scheduler
        await scheduler.start()
        # chats: Telegram when a token is set; the outbox sender delivers committed alerts to linked chats
        bridge = build_bridge(settings, rt.engine)
        app.state.telegram = bridge
        sender = OutboxSender(rt.engine, [bridge] if bridge is not None else [])
        # WhatsApp through Twilio when its account sid, auth token and sender are set (webhooks.whatsapp)
        app.state.whatsapp = whatsapp_bridge = build_whatsapp(settings, rt.engine)
        if whatsapp_bridge is not None:
            whatsapp_bridge.on_released = sender.wake
            sender.register(whatsapp_bridge)
        processor.on_processed = sender.wake  # a processed payment's alert goes out at once, not at the next poll
        app.state.outbox = sender
        await start_web_chat(app, settings, rt.engine, sender)  # the local chat page (HESABU_WEB_CHAT)
        if bridge is not None:
            await bridge.start()
        await sender.start()
        _calm_garbage_collector()
        log.info("app.started", env=settings.env)
        try:
            yield
        finally:
            for task in rt.background:
                task.cancel()
            for task in rt.background:
                with suppress(asyncio.CancelledError):
                    await task
            await sender.stop()
            if whatsapp_bridge is not None:
                await whatsapp_bridge.stop()
            if bridge is not None:
                await bridge.stop()
            await scheduler.stop()
            await rt.writer.stop()
            await processor.stop()
            rt.engine.dispose()

    app = FastAPI(title="Hesabu", lifespan=lifespan, docs_url=None, redoc_url=None, openapi_url=None)
    app.add_middleware(daraja.DarajaCallbacks)  # the callback hot path, ahead of FastAPI's router
    app.include_router(ops.router)
    app.include_router(telegram.router)
    app.include_router(whatsapp.router)
    app.include_router(media.router)
    app.include_router(sms.router)
    app.include_router(webchat_router)
    return app


def _wake_outbox(app: FastAPI) -> None:
    sender = getattr(app.state, "outbox", None)
    if sender is not None:
        sender.wake()


def _calm_garbage_collector() -> None:
    """Full collections walked every long-lived object (SQLAlchemy metadata, FastAPI, PTB) and paused the
    callback writer for ~70 ms, the whole p99. Freeze what start-up built and collect young objects less often."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(50_000, 50, 100)


def build_runtime(settings: Settings) -> Runtime:
    engine = make_engine(settings.database_url)
    metrics = Metrics()
    spool = Spool(settings.spool_dir)
    writer = CallbackWriter(engine, spool, metrics)
    metrics.spool_depth.set(spool.depth())
    return Runtime(settings=settings, engine=engine, metrics=metrics, spool=spool, writer=writer)
