"""A queued daily summary renders with its chart, and the chart reaches Telegram as a photo (the real PTB Bot
over HTTP to the fake Bot API), its text as the caption and the button under it."""

from __future__ import annotations

import json
from datetime import date

import pytest
from sqlalchemy import select
from sqlmodel import Session
from telegram import Bot

from bot.assistant.messages import rendered
from bot.assistant.summaries import render_scheduled
from bot.channels.telegram.sender import TelegramSender
from bot.jobs.scheduler import queue_due
from bot.storage.db import make_engine
from bot.storage.tables import OutboxRow
from tests.fakes.telegram_api import FakeTelegramApi
from tests.jobs.outbox_support import OverBot, sender
from tests.summaries.support import add_invoice, link_chat, local, random_payments, store

pytestmark = pytest.mark.anyio
DAY = date(2026, 11, 27)


async def test_the_summary_arrives_as_a_photo(db_url, telegram_bot: Bot, fake_telegram_api: FakeTelegramApi):
    engine = make_engine(db_url)
    business_id = store(engine, "600950", random_payments(5, DAY, 1, 25))
    add_invoice(engine, business_id, "INV-0001", "4000", "1500", DAY, "partial")
    assert queue_due(engine, local(DAY, 20, 0), "summary.daily") == [(business_id, DAY)]
    assert queue_due(engine, local(DAY, 20, 0), "digest.morning") == [(business_id, DAY)]
    with Session(engine) as session:
        rows = list(session.scalars(select(OutboxRow).order_by(OutboxRow.id)))
        replies = [render_scheduled(session, row, json.loads(row.payload)) for row in rows]
    summary, digest = rendered([r for r in replies if r is not None])  # drawn after the transaction, as the outbox does
    assert summary is not None and summary.picture is not None and summary.text.startswith("Duka: Today, Fri 27 Nov")
    assert digest is not None and digest.picture is None
    assert digest.text.splitlines()[1:] == ["Due today: 1 invoice, KES 1,500.00",
                                            "INV-0001 KES 1,500.00 due today"]
    channel = TelegramSender(telegram_bot)
    await channel.send("777", summary)
    photo = fake_telegram_api.last("sendPhoto")
    assert photo.params["chat_id"] == "777" and photo.params["caption"] == summary.text
    assert photo.files["photo"].content == summary.picture and summary.picture.startswith(b"\x89PNG")
    if summary.choices:
        assert photo.json("reply_markup")["inline_keyboard"][0][0]["callback_data"] == "s:u"
    engine.dispose()


async def test_the_outbox_sender_delivers_the_scheduled_summary_as_a_photo(db_url, telegram_bot: Bot,
                                                                          fake_telegram_api: FakeTelegramApi):
    engine = make_engine(db_url)
    business_id = store(engine, "600951", random_payments(6, DAY, 1, 10))
    link_chat(engine, business_id, "778")
    assert queue_due(engine, local(DAY, 20, 0), "summary.daily") == [(business_id, DAY)]
    report = await sender(engine, OverBot(telegram_bot)).run_once()
    assert report.sent == 1, report
    photo = fake_telegram_api.last("sendPhoto")
    assert photo.params["chat_id"] == "778" and photo.params["caption"].startswith("Duka: Today, Fri 27 Nov")
    assert photo.files["photo"].content.startswith(b"\x89PNG")
    engine.dispose()
