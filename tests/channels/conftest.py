import pytest

from tests.fakes.fixtures import (  # noqa: F401 - fixtures are found by name
    fake_telegram_api,
    telegram_bot,
    twilio_async_http,
    twilio_http,
)


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"
