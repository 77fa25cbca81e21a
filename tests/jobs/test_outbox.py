"""The outbox sender on real SQLite and PostgreSQL, sending with the real PTB Bot over HTTP to the fake Bot API."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select
from sqlmodel import Session
from telegram import Bot

from bot.assistant.messages import Reply
from bot.channels.base import RecordingChannel, RetryLater, SentRef
from bot.jobs.outbox import RateLimiter
from bot.storage.db import make_engine, unit_of_work
from bot.storage.outbox import NO_LINKED_CHAT, claim_deliveries, expand_outbox, queue_message
from bot.storage.tables import OutboxRow
from tests.bookkeeping.book_support import make_book
from tests.fakes.telegram_api import FakeTelegramApi
from tests.jobs.outbox_support import CHAT, Clock, OverBot, deliveries, link_chat, pay, queue_unknown_alert, sender
from tests.support import add_business

pytestmark = pytest.mark.anyio


def sent_texts(fake: FakeTelegramApi) -> list[str]:
    return [c.params["text"] for c in fake.calls_to("sendMessage") if c.status == 200]


def buttons(fake: FakeTelegramApi) -> list[tuple[str, str]]:
    markup = fake.last("sendMessage").json("reply_markup")["inline_keyboard"]
    return [(row[0]["text"], row[0]["callback_data"]) for row in markup]


async def test_every_kind_of_alert_arrives_as_a_telegram_message(db_url, telegram_bot: Bot,
                                                                 fake_telegram_api: FakeTelegramApi) -> None:
    engine = make_engine(db_url)
    book = make_book(engine)
    link_chat(engine, book.shop.id)
    job = sender(engine, OverBot(telegram_bot))

    async def alert_for(trans_id: str, amount: str, ref: str = "") -> str:
        payment_id = pay(book, trans_id, amount, ref, name="JOHN DOE KAMAU")
        report = await job.run_once()
        assert report.sent == 1, report
        call = fake_telegram_api.last("sendMessage")
        assert call.params["chat_id"] == str(CHAT)
        return f"{payment_id}|{call.params['text']}"

    split = await alert_for("TXA1", "3500", "ADM4521")
    assert split.split("|")[1] == ("KES 3,500.00 from JOHN D. paid 2 invoices:\n"
                                   "INV-0001 KES 2,500.00 in full\nINV-0002 KES 1,000.00 in full")
    partly = await alert_for("TXA2", "2000", "INV-0003")
    assert partly.split("|")[1] == "KES 2,000.00 from JOHN D. paid part of INV-0003\nStill due: KES 5,000.00"

    suggested = await alert_for("TXA3", "3300")
    payment_id, text = suggested.split("|")
    assert text.startswith("KES 3,300.00 from JOHN D.\nWhich invoice is it for?\n1. INV-0004 Grace A.")
    assert buttons(fake_telegram_api) == [("INV-0004 Grace A. KES 3,300.00", f"c:{payment_id}:4"),
                                          ("Other invoice", f"o:{payment_id}"),
                                          ("Not an invoice", f"x:{payment_id}")]

    over = await alert_for("TXA4", "3500", "INV-0004")
    assert over.split("|")[1] == ("KES 3,500.00 from JOHN D. paid INV-0004 in full\n"
                                  "KES 200.00 extra kept as credit")
    full = await alert_for("TXA5", "5000", "INV-0003")
    assert full.split("|")[1] == "KES 5,000.00 from JOHN D. paid INV-0003 in full"

    unknown = await alert_for("TXA6", "12345")
    payment_id, text = unknown.split("|")
    assert text.startswith("KES 12,345.00 from JOHN D.\nNo invoice fits. Receipt TXA6")
    assert buttons(fake_telegram_api) == [("Other invoice", f"o:{payment_id}"), ("Not an invoice", f"x:{payment_id}")]

    assert len(sent_texts(fake_telegram_api)) == 6
    assert all(d.status == "sent" and d.sent_ref for d in deliveries(engine))
    assert (await job.run_once()).sent == 0  # nothing is sent twice
    engine.dispose()


async def test_rate_limited_by_telegram_is_retried_after_retry_after_and_delivered_once(
        db_url, telegram_bot: Bot, fake_telegram_api: FakeTelegramApi) -> None:
    engine = make_engine(db_url)
    shop = add_business(engine, "600200")
    link_chat(engine, shop.id)
    queue_unknown_alert(engine, shop.id, 1)
    clock = Clock()
    job = sender(engine, OverBot(telegram_bot), clock=clock, base_backoff=1.0)
    fake_telegram_api.rate_limit_next("sendMessage", retry_after=5)

    first = await job.run_once()
    [row] = deliveries(engine)
    assert first.retried == 1 and row.status == "pending" and row.attempts == 1
    assert row.next_attempt_at >= clock.now + timedelta(seconds=5)  # Telegram's hint beats the 1 s back-off

    clock.advance(2)
    assert (await job.run_once()).sent == 0  # not due yet
    clock.advance(4)
    assert (await job.run_once()).sent == 1
    [row] = deliveries(engine)
    assert row.status == "sent" and row.attempts == 2
    assert [c.status for c in fake_telegram_api.calls_to("sendMessage")] == [429, 200]
    engine.dispose()


async def test_a_blocked_bot_is_recorded_failed_and_never_retried(db_url, telegram_bot: Bot,
                                                                  fake_telegram_api: FakeTelegramApi) -> None:
    engine = make_engine(db_url)
    shop = add_business(engine, "600201")
    link_chat(engine, shop.id)
    queue_unknown_alert(engine, shop.id, 1)
    clock = Clock()
    job = sender(engine, OverBot(telegram_bot), clock=clock)
    fake_telegram_api.block_next("sendMessage")

    assert (await job.run_once()).failed == 1
    clock.advance(3600)
    assert (await job.run_once()).sent == 0
    [row] = deliveries(engine)
    assert row.status == "failed" and "blocked" in row.last_error
    assert len(fake_telegram_api.calls_to("sendMessage")) == 1
    engine.dispose()


async def test_repeated_failures_give_up_after_max_attempts(db_url) -> None:
    engine = make_engine(db_url)
    shop = add_business(engine, "600202")
    link_chat(engine, shop.id, channel="recording")
    queue_unknown_alert(engine, shop.id, 1)
    clock = Clock()
    channel = RecordingChannel()
    job = sender(engine, channel, clock=clock, max_attempts=3)
    channel.fail_next(*(RetryLater(0.0, "5xx") for _ in range(5)))
    for _ in range(5):
        await job.run_once()
        clock.advance(3600)
    [row] = deliveries(engine)
    assert row.status == "failed" and row.attempts == 3 and "gave up" in row.last_error
    assert channel.sent == []
    engine.dispose()


class SenderDied(Exception):
    """The process stopping right after Telegram accepted the message, before the database heard of it."""


class DiesAfterSending:
    name = "telegram"

    def __init__(self, channel: OverBot) -> None:
        self.channel = channel

    async def send(self, chat_id: str, reply: Reply) -> SentRef:
        await self.channel.send(chat_id, reply)
        raise SenderDied


async def test_a_delivery_in_doubt_is_sent_once_more_marked_as_a_repeat_and_then_never_again(
        db_url, telegram_bot: Bot, fake_telegram_api: FakeTelegramApi) -> None:
    """The in_doubt policy: the sender died between sending and recording, so the alert may not have arrived.
    It is re-sent once, saying so; if the repeat goes in doubt too, it stays in_doubt and is never sent again."""
    engine = make_engine(db_url)
    shop = add_business(engine, "600203")
    link_chat(engine, shop.id)
    queue_unknown_alert(engine, shop.id, 1)
    clock = Clock()
    with pytest.raises(SenderDied):
        await sender(engine, DiesAfterSending(OverBot(telegram_bot)), clock=clock).run_once()
    assert [d.status for d in deliveries(engine)] == ["sending"]

    counted: list[int] = []
    restarted = sender(engine, OverBot(telegram_bot), clock=clock)
    restarted.on_in_doubt = counted.append
    clock.advance(30)
    assert (await restarted.run_once()).sent == 0  # within the lease: maybe still being sent elsewhere
    clock.advance(120)
    report = await restarted.run_once()
    assert report.in_doubt == 1 and report.sent == 1 and counted == [1]
    texts = [c.params["text"] for c in fake_telegram_api.calls_to("sendMessage")]
    assert len(texts) == 2 and texts[1].startswith("(Sent again: this may have reached you already.)")
    assert texts[1].endswith(texts[0])
    clock.advance(3600)
    assert (await restarted.run_once()).sent == 0
    assert [d.status for d in deliveries(engine)] == ["sent"]

    queue_unknown_alert(engine, shop.id, 2)  # a repeat that goes in doubt too is left in doubt for good
    with pytest.raises(SenderDied):
        await sender(engine, DiesAfterSending(OverBot(telegram_bot)), clock=clock).run_once()
    clock.advance(180)
    with pytest.raises(SenderDied):
        await sender(engine, DiesAfterSending(OverBot(telegram_bot)), clock=clock).run_once()
    clock.advance(180)
    assert (await restarted.run_once()).in_doubt == 1
    clock.advance(3600)
    assert (await restarted.run_once()).sent == 0
    assert [d.status for d in deliveries(engine)] == ["sent", "in_doubt"]
    assert len(fake_telegram_api.calls_to("sendMessage")) == 4
    engine.dispose()


class Hangs:
    """A provider that accepts the connection and never answers."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.calls = 0

    async def send(self, chat_id: str, reply: Reply) -> SentRef:
        self.calls += 1
        await asyncio.sleep(3600)
        return "never"


async def test_a_hanging_provider_times_out_and_does_not_hold_up_another_channel(db_url) -> None:
    engine = make_engine(db_url)
    shop = add_business(engine, "600205")
    link_chat(engine, shop.id, 1, channel="hangs")
    link_chat(engine, shop.id, 2, channel="recording")
    queue_unknown_alert(engine, shop.id, 1)
    hanging, recording = Hangs("hangs"), RecordingChannel()
    outbox = sender(engine, hanging, send_timeout=60.0)
    outbox.register(recording)
    await outbox.start()
    try:  # the other channel's alert arrives while the hanging call is still waiting
        deadline = asyncio.get_running_loop().time() + 20
        while not (recording.sent and hanging.calls):
            assert asyncio.get_running_loop().time() < deadline, "a hanging channel held up another"
            await asyncio.sleep(0.05)
    finally:
        await outbox.stop()
    assert hanging.calls == 1 and len(recording.sent) == 1

    timed = sender(engine, Hangs("hangs"), send_timeout=0.2, clock=Clock())  # and the hanging call has a deadline
    for d in deliveries(engine):
        if d.channel == "hangs":
            with Session(engine) as session:
                row = session.get(type(d), d.id)
                row.status, row.claimed_at = "pending", None
                session.add(row)
                session.commit()
    report = await asyncio.wait_for(timed.run_once(), timeout=10)
    assert report.sent == 0
    assert {d.channel: d.status for d in deliveries(engine)} == {"hangs": "repeat", "recording": "sent"}
    engine.dispose()


async def test_two_senders_never_deliver_one_delivery_twice(db_url) -> None:
    engine_a, engine_b = make_engine(db_url), make_engine(db_url)
    shop = add_business(engine_a, "600204")
    chats = range(1001, 1006)
    for chat in chats:
        link_chat(engine_a, shop.id, chat, channel="recording")
    for n in range(12):
        queue_unknown_alert(engine_a, shop.id, n)
    channel_a, channel_b = RecordingChannel(), RecordingChannel()
    a = sender(engine_a, channel_a, batch=7)
    b = sender(engine_b, channel_b, batch=7)
    for _ in range(30):
        await asyncio.gather(a.run_once(), b.run_once())
        if all(d.status == "sent" for d in deliveries(engine_a)) and len(deliveries(engine_a)) == 60:
            break
    sent = [(s.chat_id, s.reply.text) for s in channel_a.sent + channel_b.sent]
    assert len(sent) == len(set(sent)) == 60
    assert channel_a.sent and channel_b.sent or db_url.startswith("sqlite")
    engine_a.dispose()
    engine_b.dispose()


def test_claims_on_postgresql_skip_rows_another_sender_holds(pg_url) -> None:
    import tests.conftest as conftest

    conftest._truncate_pg(pg_url)
    engine = make_engine(pg_url)
    shop = add_business(engine, "600205")
    link_chat(engine, shop.id, channel="recording")
    for n in range(6):
        queue_unknown_alert(engine, shop.id, n)
    clock = Clock()
    with unit_of_work(engine) as session:
        assert expand_outbox(session, clock.now, ["recording"]) == 6
    with Session(engine) as first, Session(engine) as second:
        held = claim_deliveries(first, clock.now, ["recording"], limit=4)  # not committed: rows stay locked
        other = claim_deliveries(second, clock.now, ["recording"], limit=4)
        assert len(held) == 4 and len(other) == 2
        assert {d.id for d in held}.isdisjoint(d.id for d in other)
        first.commit()
        second.commit()
    engine.dispose()


async def test_an_alert_for_a_business_without_linked_chats_is_marked_failed(db_url) -> None:
    engine = make_engine(db_url)
    shop = add_business(engine, "600206")
    queue_unknown_alert(engine, shop.id, 1)
    assert (await sender(engine, RecordingChannel()).run_once()).expanded == 1
    with Session(engine) as session:
        [row] = session.scalars(select(OutboxRow)).all()
        assert row.status == "failed" and row.last_error == NO_LINKED_CHAT
    assert deliveries(engine) == []
    engine.dispose()


async def test_the_rate_limiter_spaces_one_chat_and_caps_the_total() -> None:
    limiter = RateLimiter(per_second=100, per_chat=0.05)
    started = time.monotonic()
    for _ in range(3):
        await limiter.wait("telegram:1")
    assert time.monotonic() - started >= 0.09  # three sends to one chat: two gaps
    started = time.monotonic()
    await asyncio.gather(*(limiter.wait(f"telegram:{n}") for n in range(10, 20)))
    assert time.monotonic() - started >= 0.08  # ten chats at 100/s


async def test_a_flagged_callback_reaches_the_owner_and_unknown_kinds_are_not_sent(db_url) -> None:
    engine = make_engine(db_url)
    shop = add_business(engine, "600207")
    link_chat(engine, shop.id, channel="recording")
    with unit_of_work(engine) as session:
        received = datetime(2026, 9, 20, 7, 5, tzinfo=UTC)  # 10:05 in Nairobi
        queue_message(session, shop.id, "callback.flagged", "callback.flagged:1", {
            "callback_id": 1, "source": "c2b_confirmation", "reason": "not JSON", "outcome": "invalid",
            "received_at": received.isoformat()}, received)
        queue_message(session, shop.id, "summary.someday", "summary.someday:1", {}, received)
    channel = RecordingChannel()
    report = await sender(engine, channel).run_once()
    assert report.sent == 1 and report.failed == 1
    [text] = channel.texts()
    assert text.startswith("Warning: something that is not an M-Pesa payment reached your payment confirmation "
                           "address at 10:05 on Sun 20 Sep.\nWhy: not JSON")
    assert sorted(d.status for d in deliveries(engine)) == ["failed", "sent"]
    engine.dispose()


async def test_a_channel_still_starting_keeps_its_deliveries_pending(db_url) -> None:
    engine = make_engine(db_url)
    shop = add_business(engine, "600208")
    link_chat(engine, shop.id, channel="recording")
    queue_unknown_alert(engine, shop.id, 1)
    channel = RecordingChannel()
    channel.ready = asyncio.Event()  # type: ignore[attr-defined]
    job = sender(engine, channel)
    assert (await job.run_once()).sent == 0
    [row] = deliveries(engine)
    assert row.status == "pending" and row.attempts == 0
    channel.ready.set()  # type: ignore[attr-defined]
    assert (await job.run_once()).sent == 1
    engine.dispose()


@pytest.mark.parametrize("turns", range(6))
async def test_stop_right_after_a_wake_ends_the_sender(turns: int) -> None:
    """A wake() a few loop turns before stop() (a status callback or a payment just before shutdown): on Python 3.11
    asyncio.wait_for swallowed the cancellation when the wake-up event was already set, and stop(), so the app's
    shutdown, waited forever. Each turn count puts the cancellation at another point of that window."""
    job = sender(make_engine("sqlite://"))  # no channels: each pass returns at once and the loop goes back to waiting
    job.poll_every = 60.0  # only a wake or stop() moves it within the test
    await job.start()
    for _ in range(5):
        await asyncio.sleep(0)  # the first pass, then waiting for a wake
    job.wake()
    for _ in range(turns):
        await asyncio.sleep(0)
    await asyncio.wait_for(job.stop(), timeout=5)  # a regression fails here instead of hanging the run
    assert job._task is None
