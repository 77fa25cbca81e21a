"""The web channel: the local chat page (/chat). Sending a reply stores it as a message row of that web chat;
the page polls for rows, so any server process can serve it and a restart loses nothing.

Choices are kept as buttons, pictures and documents are stored with the message and shown inline, and
`edit_ref` edits the tapped message in place (an unknown or foreign ref becomes a new message instead).

Identity: a cookie holding a random chat id and its HMAC-SHA256 signature. In production the key derives from
HESABU_SECRET_KEY and a chat exists only once a `hesabu link-code` code is redeemed at /chat/login/{CODE}. In
development the first visit makes a chat linked (as owner) to the demo business, and the key derives from the
demo business's callback token, a secret kept in the database: HESABU_SECRET_KEY is random per process there,
and a restart must not cut a newcomer off from the conversation they had.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from bot.assistant.conversation import handle_message
from bot.assistant.limits import ChatRateLimit
from bot.assistant.messages import InboundMessage, Reply, rendered
from bot.bookkeeping.demo import Demo, ensure_demo_business, find_demo_business
from bot.channels.base import Channel, SentRef
from bot.ledger.chat_input import plain_number
from bot.logs import get_logger
from bot.storage.businesses import ShortcodeTaken
from bot.storage.chats import LinkedBusiness, chat_state, link_chat, linked_businesses
from bot.storage.db import Engine, IntegrityError, Session, unit_of_work
from bot.storage.web_chat import add_message, edit_message, web_chats_exist

log = get_logger("webchat")
COOKIE = "hesabu_chat"
CHAT_ID_BYTES = 16
WELCOME = ("Karibu! This is {name}, a demo shop with a few customers and open invoices.\n"
           "Send a payment with the simulator and watch it arrive here, or try /invoices.")


@dataclass(frozen=True, slots=True)
class WebChatConfig:
    """What the page needs from the settings: development has the demo business and the simulator."""

    development: bool
    secret_key: str
    timezone: str
    secure_cookie: bool


class WebChannel:
    """The running web chat and the `Channel` named "web". `join_outbox` (the outbox sender's `register`) is
    called once a web chat exists, so a server nobody opens the page on delivers nothing to "web"."""

    name = "web"

    def __init__(self, config: WebChatConfig, engine: Engine, join_outbox: Callable[[Channel], None]) -> None:
        self.config = config
        self.engine = engine
        self._join_outbox = join_outbox
        self.joined = False
        self.demo: Demo | None = None
        self.limit = ChatRateLimit()  # per chat, for this process

    async def send(self, chat_id: str, reply: Reply) -> SentRef:
        return await asyncio.to_thread(self._send, chat_id, reply)

    def _send(self, chat_id: str, reply: Reply) -> SentRef:
        with unit_of_work(self.engine) as session:
            return store_reply(session, chat_id, reply, datetime.now(UTC))

    async def start(self) -> None:
        """In the lifespan. In development the demo business is made at the first visit of /chat, not here, so
        a server nobody opens the page on stays as it was, and the channel joins the outbox sender once a web
        chat exists; in production (where HESABU_WEB_CHAT was set on purpose) it joins at once."""
        try:
            demo, chats = await asyncio.to_thread(self._existing)
        except Exception as exc:  # noqa: BLE001 - the database may still be starting; the first visit looks again
            log.warning("webchat.startup_lookup_failed", error=type(exc).__name__)
            demo, chats = None, False
        self.demo = demo
        if chats or not self.config.development:  # switched on on purpose there: every process delivers at once
            self.join_outbox()
        log.info("webchat.started", demo=demo is not None, chats=chats)

    async def stop(self) -> None:
        """Nothing runs: the page polls the database."""

    def join_outbox(self) -> None:
        """Alerts reach web chats from now on (idempotent; call on the event loop)."""
        if not self.joined:
            self._join_outbox(self)
            self.joined = True

    async def ready_for_visitors(self) -> None:
        """Development: the demo business exists (made now on the first visit). Either way: join the outbox."""
        if self.config.development and self.demo is None:
            self.demo = await asyncio.to_thread(self._ensure_demo)
        self.join_outbox()

    @property
    def key(self) -> bytes | None:
        """The cookie key: HESABU_SECRET_KEY's in production, the demo token's in development (None before the
        demo exists: no cookie is valid yet)."""
        if self.config.development:
            secret = self.demo.token if self.demo is not None else ""
        else:
            secret = self.config.secret_key
        return hmac.new(secret.encode(), b"hesabu web chat cookie", hashlib.sha256).digest() if secret else None

    @property
    def simulator(self) -> bool:
        """Simulated payments go into the books like real ones: development only."""
        return self.config.development

    @property
    def secure_cookie(self) -> bool:
        return self.config.secure_cookie

    # --- identity -----------------------------------------------------------------------------------------
    def cookie_for(self, chat_id: str) -> str:
        return f"{chat_id}.{self._signature(chat_id)}"

    def chat_of(self, cookie: str | None) -> str | None:
        """The chat id in a cookie whose signature is right, else None."""
        chat_id, _, signature = (cookie or "").partition(".")
        if not chat_id or not signature or len(chat_id) != CHAT_ID_BYTES * 2:
            return None
        expected = self._signature(chat_id)
        return chat_id if expected and hmac.compare_digest(signature, expected) else None

    def _signature(self, chat_id: str) -> str:
        key = self.key
        return hmac.new(key, f"web-chat:{chat_id}".encode(), hashlib.sha256).hexdigest() if key else ""

    # --- chats ---------------------------------------------------------------------------------------------
    def new_demo_chat(self) -> str:
        """Development: a new chat linked to the demo business, with a welcome and the help."""
        assert self.demo is not None
        chat_id = secrets.token_hex(CHAT_ID_BYTES)
        now = datetime.now(UTC)
        with unit_of_work(self.engine) as session:
            name = link_chat(session, "web", chat_id, self.demo.business_id, "owner", "demo", now).name
            store_reply(session, chat_id, Reply(WELCOME.format(name=name)), now)
            for reply in handle_message(session, InboundMessage("web", chat_id, "", "/help"), now):
                store_reply(session, chat_id, reply, now)
        log.info("webchat.demo_chat")
        return chat_id

    def redeem(self, chat_id: str | None, code: str) -> tuple[str | None, str]:
        """Link a chat (the visitor's, or a new one) with a one-time code; (chat id, "") or (None, why not)."""
        chat_id = chat_id or secrets.token_hex(CHAT_ID_BYTES)
        now = datetime.now(UTC)
        with unit_of_work(self.engine) as session:
            replies = handle_message(session, InboundMessage("web", chat_id, "", f"/start {code.strip()[:32]}"), now)
            if not linked_businesses(session, "web", chat_id):
                session.rollback()
                return None, replies[0].text if replies else "That code is not valid."
            for reply in replies:
                store_reply(session, chat_id, reply, now)
        return chat_id, ""

    def handle(self, chat_id: str, text: str, choice: str | None, message_ref: str | None,
               client_id: str | None) -> None:
        """What the page posted, answered in one unit of work: the typed text and the replies are stored
        together, and a tapped button's reply edits the tapped message."""
        now = datetime.now(UTC)
        external_id = f"{chat_id}:{client_id}" if client_id else None
        msg = InboundMessage("web", chat_id, "", text, choice=choice, message_ref=message_ref,
                             external_id=external_id)
        with unit_of_work(self.engine) as session:
            replies = handle_message(session, msg, now, limit=self.limit, render=False)
            if external_id is not None and not replies:
                return  # the page retried a post that was already answered
            if text:
                add_message(session, chat_id, "in", text, now)
            if not any(r.later for r in replies):
                _store_replies(session, chat_id, replies, now)
                return
        drawn = rendered(replies)  # a chart or a spreadsheet: drawn with no transaction open, then stored
        with unit_of_work(self.engine) as session:
            _store_replies(session, chat_id, drawn, now)

    def current_business(self, session: Session, chat_id: str) -> LinkedBusiness | None:
        """The business this chat is working on (its only one, or the one it chose)."""
        links = linked_businesses(session, "web", chat_id)
        if not links:
            return None
        state = chat_state(session, "web", chat_id, datetime.now(UTC))
        return next((b for b in links if b.business_id == state.business_id), links[0] if len(links) == 1 else None)


    def _existing(self) -> tuple[Demo | None, bool]:
        with unit_of_work(self.engine) as session:
            demo = find_demo_business(session) if self.config.development else None
            return demo, web_chats_exist(session)

    def _ensure_demo(self) -> Demo:
        tz = self.config.timezone
        today = datetime.now(ZoneInfo(tz)).date()
        try:
            with unit_of_work(self.engine) as session:
                demo = ensure_demo_business(session, today, tz)
        except (ShortcodeTaken, IntegrityError):  # another process made it a moment ago
            with unit_of_work(self.engine) as session:
                demo = ensure_demo_business(session, today, tz)
        if demo.created:
            log.info("webchat.demo_created", business_id=demo.business_id)
        return demo


def _store_replies(session: Session, chat_id: str, replies: list[Reply], now: datetime) -> None:
    for reply in replies:
        store_reply(session, chat_id, reply, now)


def store_reply(session: Session, chat_id: str, reply: Reply, now: datetime) -> SentRef:
    """One reply as a message of `chat_id`; returns the message id as the SentRef."""
    choices = [(c.label, c.data) for c in reply.choices]
    has_file = reply.picture is not None or reply.document is not None
    edit_id = plain_number(reply.edit_ref) if reply.edit_ref is not None else None
    if edit_id is not None and not has_file and edit_message(session, chat_id, edit_id, reply.text, choices, now):
        return reply.edit_ref
    document = None
    if reply.document is not None:
        document = (reply.document.filename, reply.document.content, reply.document.mime)
    return str(add_message(session, chat_id, "out", reply.text, now, choices=choices, picture=reply.picture,
                           document=document))
