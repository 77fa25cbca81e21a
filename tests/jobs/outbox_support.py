"""A book with a linked Telegram chat, payments processed as the live path does, and an outbox sender."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine, select
from sqlmodel import Session
from telegram import Bot

from bot.assistant.messages import Reply
from bot.channels.base import Channel, SentRef
from bot.channels.telegram.sender import TelegramSender
from bot.jobs.outbox import OutboxSender, RateLimiter, utcnow
from bot.storage.db import unit_of_work
from bot.storage.outbox import queue_message
from bot.storage.tables import ChatLinkRow, DeliveryRow
from tests.bookkeeping.book_support import Book, process, receive

CHAT = 777


def link_chat(engine: Engine, business_id: int, chat_id: int = CHAT, channel: str = "telegram") -> None:
    with unit_of_work(engine) as session:
        session.add(ChatLinkRow(channel=channel, chat_id=str(chat_id), business_id=business_id))


def pay(book: Book, trans_id: str, amount: str, ref: str = "", **kwargs: str) -> int:
    payment_id = receive(book, trans_id, amount, ref, **kwargs)
    assert payment_id is not None
    assert process(book, payment_id) is not None
    return payment_id


class Clock:
    """The sender's `now`, moved by the test instead of waiting."""

    def __init__(self) -> None:
        self.now = datetime.now(UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


class OverBot:
    """The outbox's "telegram" Channel over a bare PTB Bot (the runtime's part that sends, without its updates)."""

    name = "telegram"

    def __init__(self, bot: Bot) -> None:
        self.sender = TelegramSender(bot)

    async def send(self, chat_id: str, reply: Reply) -> SentRef:
        return await self.sender.send(chat_id, reply)


def sender(engine: Engine, *channels: Channel, clock: Clock | None = None, **kwargs: object) -> OutboxSender:
    fast = RateLimiter(per_second=10_000, per_chat=0.0)
    return OutboxSender(engine, channels, limiter=fast, clock=clock or utcnow, **kwargs)  # type: ignore[arg-type]


def deliveries(engine: Engine) -> list[DeliveryRow]:
    with Session(engine) as session:
        return list(session.scalars(select(DeliveryRow).order_by(DeliveryRow.id)))  # type: ignore[arg-type]


def queue_unknown_alert(engine: Engine, business_id: int, n: int) -> None:
    """An alert as processing queues it for a payment no invoice fits (rendered without reading the book)."""
    with unit_of_work(engine) as session:
        queue_message(session, business_id, "payment.alert", f"payment.alert:test{n}", {
            "payment_id": n, "trans_id": f"TXTEST{n:04d}", "amount": "100.00", "paid_at": "2026-09-20T10:15:00+03:00",
            "payer_name": "JANE DOE", "reference": "", "decision": "none", "confidence": 0, "reasons": [],
            "applied": None, "suggestions": []}, datetime.now(UTC))
