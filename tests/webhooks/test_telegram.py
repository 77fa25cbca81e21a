"""Telegram at the edge: the webhook route, polling, the lifespan wiring and the outbox sender together, with
the real PTB Application talking HTTP to the fake Bot API and the app on a real database."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import select
from sqlmodel import Session
from typer.testing import CliRunner

from bot.channels.base import Channel
from bot.channels.telegram.runtime import SORRY, TelegramChannel
from bot.storage.businesses import new_link_code
from bot.storage.db import unit_of_work
from bot.storage.tables import ChatLinkRow, DeliveryRow, PaymentRow
from tests.fakes.telegram_api import FakeTelegramApi
from tests.support import Service, add_business, c2b, running_service
from webhooks.cli import app as cli
from webhooks.routes.telegram import SECRET_HEADER

pytestmark = pytest.mark.anyio
SECRET = "s3cret_Token-123"
CHAT = 4242


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def fake(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeTelegramApi]:
    """As tests.fakes.fixtures.fake (timedelta retry_after, no proxy for loopback)."""
    monkeypatch.setenv("PTB_TIMEDELTA", "1")
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    with FakeTelegramApi() as api:
        yield api


def telegram_settings(fake: FakeTelegramApi, secret: str | None = SECRET) -> dict[str, Any]:
    settings: dict[str, Any] = {"telegram_token": fake.token, "telegram_api_url": fake.base_url}
    if secret is not None:
        settings["telegram_webhook_secret"] = secret
    return settings


async def ready(svc: Service) -> TelegramChannel:
    bridge: TelegramChannel = svc.app.state.services.telegram
    await asyncio.wait_for(bridge.ready.wait(), timeout=5)
    assert isinstance(bridge, Channel) and bridge.name == "telegram"  # one Channel per provider
    return bridge


async def eventually(check: Callable[[], Any], within: float = 5.0) -> Any:
    deadline = asyncio.get_running_loop().time() + within
    while True:
        found = check()
        if found:
            return found
        assert asyncio.get_running_loop().time() < deadline, "timed out"
        await asyncio.sleep(0.05)


def link_code(svc: Service, business_id: int) -> str:
    with unit_of_work(svc.engine) as session:
        return new_link_code(session, business_id, "owner", datetime.now(UTC))


def delivery_status(svc: Service, delivery_id: int) -> str:
    with Session(svc.engine) as session:
        row = session.get(DeliveryRow, delivery_id)
        return row.status if row is not None else ""


async def post_update(svc: Service, bridge: TelegramChannel, update: dict[str, Any], secret: str = SECRET) -> int:
    response = await svc.client.post("/telegram", json=update, headers={SECRET_HEADER: secret})
    await asyncio.wait_for(bridge.application.update_queue.join(), timeout=15)  # a stuck update fails, not hangs
    return response.status_code


async def test_the_webhook_refuses_a_wrong_or_missing_secret(db_url, tmp_path,
                                                             fake: FakeTelegramApi) -> None:
    async with running_service(db_url, tmp_path, **telegram_settings(fake)) as svc:
        bridge = await ready(svc)
        update = fake.text_update(CHAT, "/help")

        assert await post_update(svc, bridge, update, secret="wrong") == 403
        assert (await svc.client.post("/telegram", json=update)).status_code == 403
        assert fake.calls_to("sendMessage") == []
        assert await post_update(svc, bridge, {"not": "an update"}) == 200  # logged, never retried


async def test_start_code_links_the_chat_and_its_payment_alert_arrives_with_working_buttons(
        db_url, tmp_path, fake: FakeTelegramApi, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    async with running_service(db_url, tmp_path, **telegram_settings(fake)) as svc:
        bridge = await ready(svc)
        shop = add_business(svc.engine, "600400")

        start = fake.text_update(CHAT, f"/start {link_code(svc, shop.id)}")
        assert await post_update(svc, bridge, start) == 200
        assert fake.calls_to("sendMessage")[0].params["text"] == "Linked to Duka as owner."
        with Session(svc.engine) as session:
            link = session.scalars(select(ChatLinkRow)).one()
            assert (link.chat_id, link.business_id, link.role) == (str(CHAT), shop.id, "owner")

        paid = await svc.client.post(f"/c2b/{shop.token}/confirmation", json=c2b("TXTG000001", "600400", ref="X9"))
        assert paid.status_code == 200
        alert = await eventually(lambda: [c for c in fake.calls_to("sendMessage")
                                          if "TXTG000001" in c.params["text"]])
        assert alert[0].params["chat_id"] == str(CHAT) and len(alert) == 1
        with Session(svc.engine) as session:
            payment = session.scalars(select(PaymentRow)).one()
            delivery = session.scalars(select(DeliveryRow)).one()
        labels = [row[0] for row in alert[0].json("reply_markup")["inline_keyboard"]]
        assert labels[-1] == {"text": "Not an invoice", "callback_data": f"x:{payment.id}"}
        await eventually(lambda: delivery_status(svc, delivery.id or 0) == "sent")

        tap = fake.callback_update(CHAT, f"x:{payment.id}")
        assert await post_update(svc, bridge, tap) == 200
        assert fake.calls_to("answerCallbackQuery")
        edit = fake.last("editMessageText")
        assert edit.params["message_id"] == str(tap["callback_query"]["message"]["message_id"])
        with Session(svc.engine) as session:
            assert session.scalars(select(PaymentRow)).one().status == "ignored"
    assert fake.token not in caplog.text  # httpx would log each Bot API URL, token included


async def test_a_failing_update_is_logged_and_answered_briefly(db_url, tmp_path,
                                                                fake: FakeTelegramApi) -> None:
    async with running_service(db_url, tmp_path, **telegram_settings(fake)) as svc:
        bridge = await ready(svc)

        def broken(*_: object) -> list[Any]:
            raise RuntimeError("a bug")

        bridge.handler = broken
        assert await post_update(svc, bridge, fake.text_update(CHAT, "/help")) == 200
        assert fake.last("sendMessage").params["text"] == SORRY.text


async def test_without_a_secret_the_route_is_closed_and_polling_answers(tmp_path,
                                                                         fake: FakeTelegramApi) -> None:
    db_url = f"sqlite:///{tmp_path / 'polling.db'}"
    from bot.storage.migrate import upgrade

    upgrade(db_url)
    async with running_service(db_url, tmp_path, **telegram_settings(fake, secret=None)) as svc:
        await ready(svc)
        update = fake.text_update(CHAT, "/help")
        assert (await svc.client.post("/telegram", json=update, headers={SECRET_HEADER: ""})).status_code == 404

        fake.queue_update(update)
        reply = await eventually(lambda: fake.calls_to("sendMessage"))
        assert reply[0].params["chat_id"] == str(CHAT)
        assert fake.calls_to("deleteWebhook")  # PTB clears a webhook before polling


async def test_without_a_token_telegram_is_off(tmp_path) -> None:
    db_url = f"sqlite:///{tmp_path / 'off.db'}"
    from bot.storage.migrate import upgrade

    upgrade(db_url)
    async with running_service(db_url, tmp_path, telegram_webhook_secret=SECRET) as svc:
        assert svc.app.state.services.telegram is None
        response = await svc.client.post("/telegram", json={"update_id": 1}, headers={SECRET_HEADER: SECRET})
        assert response.status_code == 404


def test_set_webhook_points_telegram_at_the_public_url(monkeypatch, tmp_path,
                                                       fake: FakeTelegramApi) -> None:
    monkeypatch.chdir(tmp_path)  # no stray .env
    monkeypatch.setenv("HESABU_TELEGRAM_API_URL", fake.base_url)
    monkeypatch.setenv("HESABU_PUBLIC_URL", "https://hesabu.example.com/")
    monkeypatch.setenv("HESABU_TELEGRAM_WEBHOOK_SECRET", SECRET)
    runner = CliRunner()

    missing = runner.invoke(cli, ["telegram", "set-webhook"])
    assert missing.exit_code == 1 and "HESABU_TELEGRAM_TOKEN is not set" in missing.output

    monkeypatch.setenv("HESABU_TELEGRAM_TOKEN", fake.token)
    result = runner.invoke(cli, ["telegram", "set-webhook"])
    assert result.exit_code == 0, result.output
    assert "https://hesabu.example.com/telegram" in result.output
    call = fake.last("setWebhook")
    assert call.params["url"] == "https://hesabu.example.com/telegram"
    assert call.params["secret_token"] == SECRET
    assert call.json("allowed_updates") == ["message", "callback_query"]
    assert fake.token not in result.output


async def test_an_update_nested_fifty_thousand_deep_is_answered_not_a_500(db_url, tmp_path,
                                                                          fake: FakeTelegramApi) -> None:
    async with running_service(db_url, tmp_path, **telegram_settings(fake)) as svc:
        await ready(svc)
        deep = b'{"update_id": 5, "message": ' + b"[" * 50_000 + b"]" * 50_000 + b"}"
        response = await svc.client.post("/telegram", content=deep, headers={SECRET_HEADER: SECRET,
                                                                             "Content-Type": "application/json"})
        assert response.status_code == 200  # logged and dropped: Telegram must not retry it forever
        assert fake.calls_to("sendMessage") == []
