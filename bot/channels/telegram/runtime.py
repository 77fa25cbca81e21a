"""The Telegram channel: the PTB Application run inside our ASGI app, updates to the assistant, and the
`Channel` (name "telegram") the outbox sender delivers through.

With HESABU_TELEGRAM_WEBHOOK_SECRET set, Telegram posts to `POST /telegram` (webhooks.routes.telegram) and
the route puts the update on PTB's queue; without it PTB's Updater long-polls getUpdates, so a laptop needs
no public URL. Either way one PTB handler takes every update:
  inbound_from_update -> (thread) unit_of_work + handle_message, committed -> acknowledge a tapped button
  -> each Reply through the TelegramSender (edit_ref edits the tapped message).
Start-up never blocks the service on Telegram: `initialize()` (getMe) is retried in the background, and the
channel answers the outbox sender with RetryLater until it is ready.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
from collections.abc import Callable
from datetime import UTC, datetime
from functools import partial
from typing import Any

from telegram import Update
from telegram.ext import Application, ContextTypes, TypeHandler

from bot.assistant.conversation import handle_message
from bot.assistant.limits import ChatRateLimit
from bot.assistant.messages import InboundMessage, Reply, rendered
from bot.channels.base import ChannelError, RetryLater, SentRef
from bot.channels.telegram.inbound import inbound_from_update
from bot.channels.telegram.sender import TelegramSender, build_telegram_application
from bot.logs import get_logger
from bot.storage.db import Engine, Session, unit_of_work

log = get_logger("telegram")
ALLOWED_UPDATES = [Update.MESSAGE, Update.CALLBACK_QUERY]
SORRY = Reply("Sorry, something went wrong on our side. Please try again in a minute.")
Handler = Callable[[Session, InboundMessage, datetime], list[Reply]]


class TelegramChannel:
    """The running Telegram side, and the `Channel` named "telegram" for the outbox sender."""

    name = "telegram"

    def __init__(self, application: Application[Any, Any, Any, Any, Any, Any], engine: Engine, *, webhook: bool,
                 handler: Handler | None = None, poll_timeout: float = 30.0, retry_every: float = 15.0) -> None:
        self.application = application
        self.engine = engine
        self.webhook = webhook
        # one rate limit per chat for this process; charts and files are drawn after the commit
        self.handler = handler or partial(handle_message, limit=ChatRateLimit(), render=False)
        self.poll_timeout = poll_timeout
        self.retry_every = retry_every
        self.sender = TelegramSender(application.bot)
        self.ready = asyncio.Event()
        self._starter: asyncio.Task[None] | None = None
        application.add_handler(TypeHandler(Update, self._on_update))
        application.add_error_handler(self._on_error)

    # --- lifecycle ------------------------------------------------------------------------------------
    async def start(self) -> None:
        self._starter = asyncio.create_task(self._start_when_reachable(), name="telegram-start")

    async def _start_when_reachable(self) -> None:
        while True:
            try:
                await self.application.initialize()  # getMe: checks the token
                break
            except Exception as exc:  # noqa: BLE001 - Telegram away or a bad token: keep serving, try again
                log.warning("telegram.start_failed", error=type(exc).__name__)
                await asyncio.sleep(self.retry_every)
        await self.application.start()
        if not self.webhook and self.application.updater is not None:
            await self.application.updater.start_polling(
                timeout=dt.timedelta(seconds=self.poll_timeout), allowed_updates=ALLOWED_UPDATES)
        self.ready.set()
        log.info("telegram.started", mode="webhook" if self.webhook else "polling",
                 bot=self.application.bot.username)

    async def stop(self) -> None:
        if self._starter is not None and not self._starter.done():
            self._starter.cancel()
            await asyncio.gather(self._starter, return_exceptions=True)
        if self.application.updater is not None and self.application.updater.running:
            await self.application.updater.stop()
        if self.application.running:
            await self.application.stop()
        await self.application.shutdown()  # a no-op when initialize() never succeeded
        self.ready.clear()

    # --- Channel -----------------------------------------------------------------------------------------
    async def send(self, chat_id: str, reply: Reply) -> SentRef:
        if not self.ready.is_set():
            raise RetryLater(self.retry_every, "telegram is not started yet")
        return await self.sender.send(chat_id, reply)

    # --- updates -------------------------------------------------------------------------------------------
    async def put(self, update: Update) -> None:
        """An update from the webhook route: processed in order by PTB's update processor."""
        await self.application.update_queue.put(update)

    async def _on_update(self, update: object, _context: ContextTypes.DEFAULT_TYPE) -> None:
        if not isinstance(update, Update):
            return
        msg = inbound_from_update(update)
        if msg is None:
            await self._acknowledge(update)
            return
        replies = await asyncio.to_thread(self._handle, msg)
        await self._acknowledge(update)
        for reply in replies:
            try:
                await self.sender.send(msg.chat_id, reply)
            except ChannelError as exc:  # the person sees nothing more; they can ask again
                log.warning("telegram.reply_failed", update_id=update.update_id, error=str(exc)[:200])
                break

    def _handle(self, msg: InboundMessage) -> list[Reply]:
        with unit_of_work(self.engine) as session:
            replies = self.handler(session, msg, datetime.now(UTC))
        return rendered(replies)

    async def _acknowledge(self, update: Update) -> None:
        try:
            await self.sender.acknowledge(update)
        except ChannelError as exc:  # a spinner left turning is not worth failing the update for
            log.info("telegram.ack_failed", update_id=update.update_id, error=type(exc).__name__)

    async def _on_error(self, update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
        """The one error handler: log the kind of failure (never the message: it may carry a URL with the
        token), and tell the person briefly."""
        error = context.error
        update_id = update.update_id if isinstance(update, Update) else None
        log.error("telegram.update_failed", update_id=update_id, error=type(error).__name__)
        if isinstance(update, Update) and update.effective_chat is not None:
            await self._acknowledge(update)
            with contextlib.suppress(ChannelError):
                await self.sender.send(str(update.effective_chat.id), SORRY)


def quiet_http_logs() -> None:
    """A Bot API URL carries the bot token: httpx logs every request URL at INFO and PTB logs its URLs at
    DEBUG, so those two stay quieter than that whatever the root level is."""
    for name, floor in (("httpx", logging.WARNING), ("telegram", logging.INFO)):
        logger = logging.getLogger(name)
        logger.setLevel(max(logger.level, floor))


async def set_webhook(token: str, api_url: str, url: str, secret: str) -> dict[str, Any]:
    """Point Telegram at `url` (HESABU_PUBLIC_URL + /telegram) with our secret; returns getWebhookInfo's answer."""
    quiet_http_logs()
    application = build_telegram_application(token, api_url)
    async with application.bot as bot:
        ok = await bot.set_webhook(url, secret_token=secret, allowed_updates=ALLOWED_UPDATES)
        info = await bot.get_webhook_info()
    return {"ok": ok, "url": info.url, "pending_update_count": info.pending_update_count}
