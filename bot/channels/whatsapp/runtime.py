"""The WhatsApp channel through Twilio: inbound forms to the assistant, replies and outbox messages out.

Inbound (`POST /whatsapp`, webhooks.routes.whatsapp, signature already verified):
  inbound_from_form -> (thread) unit_of_work: handle_message (de-duplicated by MessageSid, so Twilio's retries
  are answered once) + release the chat's held deliveries, committed -> the route answers an empty TwiML
  `<Response/>` at once -> the replies go out through the REST API in order, from a task.
Replies go by REST rather than in the TwiML answer so every message takes one path (numbered choices, media
by signed URL, 1600-character pieces, status callbacks, 429/5xx retried) and Twilio gets its answer within
its 15-second timeout whatever the reply needs to publish.

Outbound from the outbox (this is the outbox sender's `whatsapp` Channel): a message the business
starts (`Reply.kind` set) goes free-form while the chat's 24-hour window is open; outside it, or when Twilio
answers 63016, it goes as the template configured for its kind (HESABU_TWILIO_TEMPLATES), and without one it
is `held` until the chat writes again, when the owner is told and the held messages are released.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime
from functools import partial

from bot.assistant.conversation import handle_message
from bot.assistant.limits import ChatRateLimit
from bot.assistant.messages import InboundMessage, Reply, rendered
from bot.channels.base import ChannelError, Held, RetryLater, SentRef
from bot.channels.whatsapp.sender import OutsideWindow, WhatsAppSender, template_variables
from bot.logs import get_logger
from bot.storage.chats import remember_offered, window_open
from bot.storage.db import Engine, Session, unit_of_work, write_gate
from bot.storage.outbox import release_held

log = get_logger("whatsapp")
REPLY_ATTEMPTS = 3
Handler = Callable[[Session, InboundMessage, datetime], list[Reply]]


def utcnow() -> datetime:
    return datetime.now(UTC)


def held_notice(count: int) -> Reply:
    what = "1 message" if count == 1 else f"{count} messages"
    return Reply(f"{what} waited while this chat was quiet (WhatsApp lets a business write first only within "
                 "24 hours of your last message). They follow now.")


class WhatsAppChannel:
    """The running WhatsApp side, and the outbox sender's Channel named "whatsapp". `on_released` (the outbox's
    wakeup) is raised when held messages are released or a delivery failed, so they go out at once."""

    name = "whatsapp"

    def __init__(self, sender: WhatsAppSender, engine: Engine, *, templates: dict[str, str] | None = None,
                 on_released: Callable[[], None] = lambda: None, handler: Handler | None = None,
                 clock: Callable[[], datetime] = utcnow) -> None:
        self.sender = sender
        self.engine = engine
        self.templates = dict(templates or {})
        # one rate limit per chat for this process; charts and files are drawn after the commit
        self.handler = handler or partial(handle_message, limit=ChatRateLimit(), render=False)
        self.clock = clock
        self.on_released = on_released
        self._tasks: set[asyncio.Task[None]] = set()

    # --- inbound ------------------------------------------------------------------------------------------
    async def receive(self, msg: InboundMessage) -> None:
        """Answer one verified inbound message: committed here, replies sent from a task."""
        replies, released = await asyncio.to_thread(self._handle, msg)
        if released:
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
                    await self.sender.send(chat_id, reply)
                    break
                except RetryLater as exc:
                    if attempt == REPLY_ATTEMPTS:
                        log.warning("whatsapp.reply_failed", error=str(exc)[:200])
                        return
                    await asyncio.sleep(min(exc.after_seconds, 30.0))
                except ChannelError as exc:  # the person sees nothing more; they can ask again
                    log.warning("whatsapp.reply_failed", error=str(exc)[:200])
                    return

    async def start(self) -> None:
        """Nothing to start: Twilio posts to us, we call its REST API."""

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
            return await self.sender.send(chat_id, reply)
        if await asyncio.to_thread(self._window_open, chat_id):
            try:
                ref = await self.sender.send(chat_id, reply)
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
        return await self.sender.send_template(chat_id, content_sid, template_variables(reply))

    def _window_open(self, chat_id: str) -> bool:
        with Session(self.engine) as session:
            return window_open(session, chat_id, self.clock())

    def _remember(self, chat_id: str, choices: list[str]) -> None:
        with write_gate(self.engine), unit_of_work(self.engine) as session:
            remember_offered(session, chat_id, choices, self.clock())
