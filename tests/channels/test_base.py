"""The recording channel other tests use in place of Telegram/WhatsApp."""

from __future__ import annotations

import pytest
from telegram import Bot

from bot.assistant.messages import Reply
from bot.channels.base import Channel, RecordingChannel, RetryLater, Undeliverable
from tests.fakes.telegram_api import FakeTelegramApi

pytestmark = pytest.mark.anyio


async def test_recording_channel_records_edits_and_fails_on_request() -> None:
    channel = RecordingChannel()
    channel.fail_next(RetryLater(3), Undeliverable("blocked"))

    with pytest.raises(RetryLater):
        await channel.send("1", Reply("a"))
    with pytest.raises(Undeliverable):
        await channel.send("1", Reply("a"))
    first = await channel.send("1", Reply("a"))
    edited = await channel.send("1", Reply("b", edit_ref=first))
    await channel.send("2", Reply("c"))

    assert isinstance(channel, Channel)
    assert edited == first
    assert channel.texts("1") == ["a", "b"]
    assert [s.chat_id for s in channel.sent] == ["1", "1", "2"]


async def test_fake_keeps_webhook_state(telegram_bot: Bot, fake_telegram_api: FakeTelegramApi) -> None:
    await telegram_bot.set_webhook("https://hesabu.example/telegram")
    info = await telegram_bot.get_webhook_info()
    await telegram_bot.delete_webhook()

    assert info.url == "https://hesabu.example/telegram"
    assert (await telegram_bot.get_webhook_info()).url == ""
    assert [c.method for c in fake_telegram_api.calls][-4:] == [
        "setWebhook", "getWebhookInfo", "deleteWebhook", "getWebhookInfo"
    ]
