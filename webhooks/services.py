"""The composition root: every long-lived object built once, each handed its collaborators at construction
(the signals "payments are due" and "the outbox has work" included), started in order and stopped in reverse
through one AsyncExitStack. Routes reach them through the one `app.state.services`.
"""

from __future__ import annotations

import gc
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol

import httpx
from twilio.http import HttpClient

from bot.bookkeeping.daraja_gateway import DarajaGateway
from bot.bookkeeping.pull import pull_all
from bot.channels.telegram.ratelimit import SharedRateLimiter
from bot.channels.telegram.runtime import TelegramChannel, quiet_http_logs
from bot.channels.telegram.sender import build_telegram_application
from bot.channels.web import WebChannel, WebChatConfig
from bot.channels.whatsapp.media import MediaPublisher, MediaSigner
from bot.channels.whatsapp.runtime import WhatsAppChannel
from bot.channels.whatsapp.sender import WhatsAppSender, build_twilio_client
from bot.jobs.matching import MatchingWorker
from bot.jobs.outbox import OutboxSender
from bot.jobs.scheduler import JobScheduler
from bot.jobs.signals import DuePayments, Wakeup
from bot.jobs.stk import StkWorker
from bot.logs import configure_logging, get_logger
from bot.storage.db import Engine, database_reachable, make_engine
from webhooks.daraja_wiring import daraja_gateway
from webhooks.intake.drain import SpoolDrain
from webhooks.intake.spool import Spool
from webhooks.intake.targets import CallbackTargets
from webhooks.intake.writer import CallbackWriter
from webhooks.metrics import Metrics
from webhooks.settings import Settings

log = get_logger("services")
PULL_HOURS = 3.0  # each hourly pull looks back three hours: a missed run or a late row is still covered


class Startable(Protocol):
    async def start(self) -> None: ...
    async def stop(self) -> None: ...


@dataclass
class Services:
    settings: Settings
    engine: Engine
    metrics: Metrics
    spool: Spool
    targets: CallbackTargets
    writer: CallbackWriter
    drain: SpoolDrain
    matcher: MatchingWorker
    outbox: OutboxSender
    scheduler: JobScheduler
    media_signer: MediaSigner
    # one Daraja gateway (its clients share their token caches): the pull job, the STK worker, the result route
    daraja: DarajaGateway
    stk: StkWorker
    telegram: TelegramChannel | None = None
    whatsapp: WhatsAppChannel | None = None
    web: WebChannel | None = None
    # the chat page's simulator posts to this server over HTTP; tests put an httpx.ASGITransport here
    simulator_transport: httpx.AsyncBaseTransport | None = field(default=None)

    def database_ok(self) -> bool:
        return database_reachable(self.engine)


ROLES = ("all", "web", "worker")


def build_services(settings: Settings, role: str = "all") -> Services:
    engine = make_engine(settings.database_url)
    metrics, spool = Metrics(), Spool(settings.spool_dir)
    metrics.spool_depth.set(spool.depth())
    due, outbox_work = DuePayments(), Wakeup()
    targets = CallbackTargets(engine, settings.spool_dir)
    # a web process hands its payments to the workers through the database: nothing waits on `due` there
    writer = CallbackWriter(engine, spool, metrics, on_stored=due.put if role == "all" else lambda _ids: None)
    # a worker has no callback writer of its own to hear from: it polls for payments the web processes stored
    matcher = MatchingWorker(engine, due, intake_busy=writer.busy, intake_behind=writer.behind,
                             on_processed=outbox_work.set, poll=WORKER_POLL if role == "worker" else None)
    signer = MediaSigner(settings.secret_key.get_secret_value(), settings.public_url)
    telegram = build_telegram(settings, engine)
    whatsapp = build_whatsapp(settings, engine, signer, on_released=outbox_work.set)
    outbox = OutboxSender(engine, [c for c in (telegram, whatsapp) if c is not None], work=outbox_work,
                          on_in_doubt=metrics.deliveries_in_doubt.inc)
    daraja = daraja_gateway(settings)
    return Services(
        settings=settings, engine=engine, metrics=metrics, spool=spool, targets=targets, writer=writer,
        drain=SpoolDrain(engine, spool, targets, metrics, on_stored=due.put), matcher=matcher, outbox=outbox,
        # one scheduler (summaries.daily, digest.morning, matching.sweep, daraja.pull), run by the one elected process
        scheduler=JobScheduler(engine, sweep=matcher.sweep, on_queued=outbox_work.set,
                               pull=lambda: pull_all(engine, daraja, PULL_HOURS, datetime.now(UTC))),
        media_signer=signer, daraja=daraja,
        # STK pushes asked for in chat (/request): sent and followed to their end; news goes via the outbox
        stk=StkWorker(engine, daraja, on_queued=outbox_work.set),
        telegram=telegram, whatsapp=whatsapp, web=build_web(settings, engine, outbox))


WORKER_POLL = 0.5  # seconds between a worker's looks for payments stored by the web processes


def role_parts(services: Services, role: str) -> list[Startable | None]:
    """What each role starts, in order. `web`: HTTP and storing callbacks (the token cache, the spool's
    drain, the writer, the chats' inbound side); `worker`: matching, the scheduler and its jobs, the outbox
    (and the chats it sends through); `all`: both, in one process (SQLite, `make run`)."""
    web: list[Startable | None] = [services.targets, services.drain, services.writer]
    chats: list[Startable | None] = [services.web, services.telegram, services.whatsapp]
    if role == "web":
        return [*web, *chats]
    if role == "worker":
        return [services.matcher, services.scheduler, services.stk, *chats, services.outbox]
    return [services.targets, services.matcher, services.drain, services.writer, services.scheduler, services.stk,
            *chats, services.outbox]


@asynccontextmanager
async def running_services(settings: Settings, role: str = "all") -> AsyncIterator[Services]:
    """Start the role's parts in order (the token cache first, the chats and the outbox last); stop in reverse."""
    if role not in ROLES:
        raise ValueError(f"unknown role {role!r}; one of {', '.join(ROLES)}")
    configure_logging()
    for warning in startup_warnings(settings):
        log.warning("settings.unsafe", problem=warning)
    services = build_services(settings, role)
    parts = role_parts(services, role)
    async with AsyncExitStack() as stack:
        stack.callback(services.engine.dispose)
        stack.push_async_callback(services.daraja.aclose)  # after every part that calls Daraja has stopped
        for part in parts:
            if part is not None:
                await part.start()
                stack.push_async_callback(part.stop)
        _calm_garbage_collector()
        log.info("app.started", env=settings.env, role=role)
        yield services


def startup_warnings(settings: Settings) -> list[str]:
    """What a production operator must hear loudly at start: settings that leave a door open."""
    if settings.env != "production":
        return []
    found = []
    if not settings.callback_allow:
        found.append("HESABU_CALLBACK_ALLOW is empty: anyone who learns a callback URL can post payments to it; "
                     "set it to Safaricom's published callback addresses")
    return found


def _calm_garbage_collector() -> None:
    """Full collections walked every long-lived object (SQLAlchemy metadata, FastAPI, PTB) and paused the
    callback writer for ~70 ms, the whole p99. Freeze what start-up built and collect young objects less often."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(50_000, 50, 100)


# --- from the settings to the channels -------------------------------------------------------------------
def telegram_token(settings: Settings) -> str | None:
    token = settings.telegram_token.get_secret_value().strip() if settings.telegram_token else ""
    return token or None


def telegram_webhook_secret(settings: Settings) -> str | None:
    """The webhook secret, or None when unset or blank (then the webhook route stays closed)."""
    secret = settings.telegram_webhook_secret.get_secret_value() if settings.telegram_webhook_secret else ""
    return secret or None


def build_telegram(settings: Settings, engine: Engine, **kwargs: Any) -> TelegramChannel | None:
    """The channel when HESABU_TELEGRAM_TOKEN is set, else None (Telegram off)."""
    token = telegram_token(settings)
    if token is None:
        return None
    quiet_http_logs()
    webhook = telegram_webhook_secret(settings) is not None
    limiter = SharedRateLimiter(settings.redis_url, token.split(":", 1)[0]) if settings.redis_url else None
    application = build_telegram_application(token, settings.telegram_api_url, webhook=webhook, rate_limiter=limiter)
    return TelegramChannel(application, engine, webhook=webhook, **kwargs)


def twilio_http_client() -> HttpClient | None:
    """The twilio library's HTTP client: None is its default (requests, run in a thread). Tests replace this."""
    return None


def twilio_auth_token(settings: Settings) -> str | None:
    """The auth token, or None when WhatsApp is off (an unset secret closes the routes, never opens them)."""
    token = settings.twilio_auth_token.get_secret_value().strip() if settings.twilio_auth_token else ""
    return token if token and (settings.twilio_account_sid or "").strip() else None


def build_whatsapp(settings: Settings, engine: Engine, signer: MediaSigner, **kwargs: Any) -> WhatsAppChannel | None:
    """The channel when HESABU_TWILIO_ACCOUNT_SID, _AUTH_TOKEN and _WHATSAPP_FROM are set, else None."""
    token = twilio_auth_token(settings)
    if token is None:
        return None
    sender = (settings.twilio_whatsapp_from or "").strip()
    if not sender:
        log.warning("whatsapp.off", reason="HESABU_TWILIO_WHATSAPP_FROM is not set")
        return None
    sid = (settings.twilio_account_sid or "").strip()
    client = build_twilio_client(sid, token, settings.twilio_api_url, http_client=twilio_http_client())
    publisher = MediaPublisher(engine, signer)
    rest = WhatsAppSender(client, sender, publish=publisher.publish,
                          status_callback=f"{settings.public_url.rstrip('/')}/whatsapp/status")
    return WhatsAppChannel(rest, engine, templates=settings.twilio_templates, **kwargs)


def build_web(settings: Settings, engine: Engine, outbox: OutboxSender) -> WebChannel | None:
    """The local chat page's channel when HESABU_WEB_CHAT is on (the default in development)."""
    if not settings.web_chat_enabled:
        return None
    config = WebChatConfig(development=settings.env == "development", secret_key=settings.secret_key.get_secret_value(),
                           timezone=settings.timezone,
                           secure_cookie=settings.public_url.startswith("https://") and settings.env == "production")
    return WebChannel(config, engine, join_outbox=outbox.register)
