import pytest

from tests.fakes.fixtures import fake_telegram_api, telegram_bot  # noqa: F401 - fixtures are found by name


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"
