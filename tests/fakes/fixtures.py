"""Pytest fixtures for the channel fakes. Use them from any conftest with
`from tests.fakes.fixtures import fake_telegram_api, telegram_bot, twilio_http  # noqa: F401`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest
from telegram import Bot

from tests.fakes.telegram_api import FakeTelegramApi
from tests.fakes.twilio_http import RecordingAsyncTwilioHttp, RecordingTwilioHttp


@pytest.fixture
def fake_telegram_api(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeTelegramApi]:
    """A started fake Bot API on 127.0.0.1; stopped after the test."""
    # PTB 22.2+ warns inside RetryAfter() unless opted in to timedelta periods; with warnings as
    # errors that warning would replace the RetryAfter itself. bot.channels.telegram reads both forms.
    monkeypatch.setenv("PTB_TIMEDELTA", "1")
    # httpx honours HTTP(S)_PROXY; loopback traffic must never go to a proxy
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    with FakeTelegramApi() as fake:
        yield fake


@pytest.fixture
async def telegram_bot(fake_telegram_api: FakeTelegramApi) -> AsyncIterator[Bot]:
    """A real, initialised PTB Bot talking HTTP to `fake_telegram_api` (needs an anyio test)."""
    bot = Bot(
        fake_telegram_api.token,
        base_url=fake_telegram_api.base_url,
        base_file_url=fake_telegram_api.base_file_url,
    )
    async with bot:
        yield bot


@pytest.fixture
def twilio_http() -> RecordingTwilioHttp:
    return RecordingTwilioHttp()


@pytest.fixture
def twilio_async_http() -> RecordingAsyncTwilioHttp:
    return RecordingAsyncTwilioHttp()
