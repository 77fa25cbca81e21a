"""WhatsApp through Twilio inside our app: inbound forms to the assistant, replies and outbox messages out.

Inbound (`POST /whatsapp`, webhooks.routes.whatsapp, signature already verified):
  inbound_from_form -> (thread) unit_of_work: handle_message (de-duplicated by MessageSid, so Twilio's retries
  are answered once) + release the chat's held deliveries, committed -> the route answers an empty TwiML
  `<Response/>` at once -> the replies go out through the REST API in order, from a task.
Replies go by REST rather than in the TwiML answer so every message takes one path (numbered choices, media
by signed URL, 1600-character pieces, status callbacks, 429/5xx retried) and Twilio gets its answer within
its 15-second timeout whatever the reply needs to publish.

Outbound from the outbox (the bridge is the outbox sender's `whatsapp` Channel): a message the business
starts (`Reply.kind` set) goes free-form while the chat's 24-hour window is open; outside it, or when Twilio
answers 63016, it goes as the template configured for its kind (HESABU_TWILIO_TEMPLATES), and without one it
is `held` until the chat writes again, when the owner is told and the held messages are released.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any

from sqlalchemy import Engine
from sqlmodel import Session
from twilio.http import HttpClient

from bot.assistant.conversation import handle_message
from bot.assistant.limits import ChatRateLimit
from bot.assistant.messages import InboundMessage, Reply, rendered
from bot.channels.base import ChannelError, Held, RetryLater, SentRef
from bot.channels.whatsapp import OutsideWindow, WhatsAppChannel, build_twilio_client, template_variables
from bot.storage.db import unit_of_work, write_gate
from bot.storage.whatsapp import release_held, remember_offered, store_media, window_open
from webhooks.logs import get_logger
from webhooks.settings import Settings

log = get_logger("whatsapp")
MEDIA_TTL = timedelta(hours=24)
REPLY_ATTEMPTS = 3
Handler = Callable[[Session, InboundMessage, datetime], list[Reply]]


def utcnow() -> datetime:
    return datetime.now(UTC)


def held_notice(count: int) -> Reply:
    what = "1 message" if count == 1 else f"{count} messages"
    return Reply(f"{what} waited while this chat was quiet (WhatsApp lets a business write first only within "
                 "24 hours of your last message). They follow now.")


class MediaSigner:
    """Media URLs `{public}/media/{id}/{expiry}/{signature}`: HMAC-SHA256 with HESABU_SECRET_KEY over id and
    expiry (unix seconds), so a URL can be neither guessed nor stretched past its expiry."""

    def __init__(self, secret_key: str, public_url: str) -> None:
        self.key = secret_key.encode()
        self.public_url = public_url.rstrip("/")

    def signature(self, media_id: str, expiry: int) -> str:
        mac = hmac.new(self.key, f"media:{media_id}:{expiry}".encode(), hashlib.sha256).digest()
        return base64.urlsafe_b64encode(mac).rstrip(b"=").decode()

    def url(self, media_id: str, expiry: int) -> str:
        return f"{self.public_url}/media/{media_id}/{expiry}/{self.signature(media_id, expiry)}"

    def valid(self, media_id: str, expiry: int, signature: str, now: datetime) -> bool:
        expected = self.signature(media_id, expiry)
        return hmac.compare_digest(expected.encode(), signature.encode()) and expiry > now.timestamp()


class WhatsAppBridge:
    """The running WhatsApp side; also the outbox sender's Channel named "whatsapp"."""

    name = "whatsapp"

    def __init__(self, channel: WhatsAppChannel, engine: Engine, signer: MediaSigner, *,
                 templates: dict[str, str] | None = None, handler: Handler | None = None,
                 clock: Callable[[], datetime] = utcnow) -> None:
        self.channel = channel
        self.engine = engine
        self.signer = signer
        self.templates = dict(templates or {})
        # one rate limit per chat for this process; charts and files are drawn after the commit
        self.handler = handler or partial(handle_message, limit=ChatRateLimit(), render=False)
        self.clock = clock
        self.on_released: Callable[[], None] | None = None  # wakes the outbox sender
        self._tasks: set[asyncio.Task[None]] = set()
        channel.publish = self.publish

    # --- inbound ------------------------------------------------------------------------------------------
    async def receive(self, msg: InboundMessage) -> None:
        """Answer one verified inbound message: committed here, replies sent from a task."""
        replies, released = await asyncio.to_thread(self._handle, msg)
        if released and self.on_released is not None:
            self.on_released()
        if replies:
            task = asyncio.create_task(self._reply(msg.chat_id, replies), name="whatsapp-reply")
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    def _handle(self, msg: InboundMessage) -> tuple[list[Reply], int]:
        with write_gate(self.engine), unit_of_work(self.engine) as session:
            now = self.clock()
            replies = self.handler(session, msg, now)
            released = release_held(session, msg.chat_id, now)
        replies = rendered(replies)
        if released:
            log.info("whatsapp.released", count=released)
        return ([held_notice(released), *replies] if released and replies else replies), released

    async def _reply(self, chat_id: str, replies: list[Reply]) -> None:
        for reply in replies:
            for attempt in range(1, REPLY_ATTEMPTS + 1):
                try:
                    await self.channel.send(chat_id, reply)
                    break
                except RetryLater as exc:
                    if attempt == REPLY_ATTEMPTS:
                        log.warning("whatsapp.reply_failed", error=str(exc)[:200])
                        return
                    await asyncio.sleep(min(exc.after_seconds, 30.0))
                except ChannelError as exc:  # the person sees nothing more; they can ask again
                    log.warning("whatsapp.reply_failed", error=str(exc)[:200])
                    return

    async def drain(self) -> None:
        """Wait for the replies being sent (tests; shutdown)."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    async def stop(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        await self.drain()

    # --- Channel, for the outbox --------------------------------------------------------------------------
    async def send(self, chat_id: str, reply: Reply) -> SentRef:
        if reply.kind is None:  # the assistant answering: the person has just written
            return await self.channel.send(chat_id, reply)
        if await asyncio.to_thread(self._window_open, chat_id):
            try:
                ref = await self.channel.send(chat_id, reply)
            except OutsideWindow:
                log.info("whatsapp.outside_window", kind=reply.kind)
                ref = await self._send_template(chat_id, reply)
        else:
            ref = await self._send_template(chat_id, reply)
        if reply.choices:
            await asyncio.to_thread(self._remember, chat_id, [c.data for c in reply.choices])
        return ref

    async def _send_template(self, chat_id: str, reply: Reply) -> SentRef:
        content_sid = self.templates.get(reply.kind or "")
        if not content_sid:
            raise Held(f"whatsapp: the 24-hour window is closed and no template is set for {reply.kind}")
        return await self.channel.send_template(chat_id, content_sid, template_variables(reply))

    def _window_open(self, chat_id: str) -> bool:
        with Session(self.engine) as session:
            return window_open(session, chat_id, self.clock())

    def _remember(self, chat_id: str, choices: list[str]) -> None:
        with write_gate(self.engine), unit_of_work(self.engine) as session:
            remember_offered(session, chat_id, choices, self.clock())

    # --- media ---------------------------------------------------------------------------------------------
    async def publish(self, filename: str, content: bytes, mime: str) -> str:
        """Store a file and return the signed, expiring URL Twilio fetches it from."""
        now = self.clock()

        def store() -> str:
            with write_gate(self.engine), unit_of_work(self.engine) as session:
                return store_media(session, filename, content, mime, now, MEDIA_TTL)

        media_id = await asyncio.to_thread(store)
        return self.signer.url(media_id, int((now + MEDIA_TTL).timestamp()))


def twilio_http_client() -> HttpClient | None:
    """The twilio library's HTTP client: None is its default (requests, run in a thread). Tests replace this."""
    return None


def auth_token(settings: Settings) -> str | None:
    """The auth token, or None when WhatsApp is off (an unset secret closes the routes, never opens them)."""
    token = settings.twilio_auth_token.get_secret_value().strip() if settings.twilio_auth_token else ""
    return token if token and (settings.twilio_account_sid or "").strip() else None


def build_whatsapp(settings: Settings, engine: Engine, **kwargs: Any) -> WhatsAppBridge | None:
    """The bridge when HESABU_TWILIO_ACCOUNT_SID, _AUTH_TOKEN and _WHATSAPP_FROM are set, else None."""
    token = auth_token(settings)
    if token is None:
        return None
    if not (settings.twilio_whatsapp_from or "").strip():
        log.warning("whatsapp.off", reason="HESABU_TWILIO_WHATSAPP_FROM is not set")
        return None
    sid = (settings.twilio_account_sid or "").strip()
    client = build_twilio_client(sid, token, settings.twilio_api_url, http_client=twilio_http_client())
    public = settings.public_url.rstrip("/")
    channel = WhatsAppChannel(client, settings.twilio_whatsapp_from.strip(),  # type: ignore[union-attr]
                              status_callback=f"{public}/whatsapp/status")
    signer = MediaSigner(settings.secret_key.get_secret_value(), public)
    return WhatsAppBridge(channel, engine, signer, templates=settings.twilio_templates, **kwargs)
