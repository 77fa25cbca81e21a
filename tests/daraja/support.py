"""A live Hesabu on a real port (uvicorn in this event loop) wired to a fake Daraja, so the fake's STK callbacks
and asynchronous results reach our real endpoints over real HTTP; and a web chat linked to the business."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import uvicorn
from fastapi import FastAPI
from sqlalchemy import Engine
from sqlmodel import Session

from bot.assistant.conversation import handle_message
from bot.assistant.messages import InboundMessage
from bot.bookkeeping.invoices import create_customer, create_invoice
from bot.storage.chats import link_chat
from bot.storage.daraja import save_credentials
from bot.storage.db import make_engine, unit_of_work
from bot.storage.sealing import Keyring
from bot.storage.web_chat import messages_since
from tests.fakes.daraja import FakeDaraja
from tests.support import Shop, add_business
from webhooks.app import create_app
from webhooks.settings import Settings

KEY = "s" * 40
PASSKEY = "bfb279f9aa9bdbcf158e97dd71a467cd2e0c893059b10f78e6b72ada1ed2c919"
APP_KEY, APP_SECRET = "live-consumer-key-0001", "live-consumer-secret-0001"
CUSTOMERS = (("Mary Wanjiku", "0712345678"), ("John Otieno", "0722000126"), ("Achieng Hardware", "0733111222"),
             ("Peter Kamau", "0701234567"), ("Grace Njeri", "0798765432"))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Live:
    app: FastAPI
    engine: Engine
    settings: Settings
    fake: FakeDaraja
    shop: Shop
    chat_id: str = "web-asker-1"

    def say(self, text: str, chat_id: str | None = None) -> list[str]:
        msg = InboundMessage("web", chat_id or self.chat_id, "Asker", text)
        with unit_of_work(self.engine) as session:
            return [r.text for r in handle_message(session, msg, datetime.now(UTC))]

    def tap(self, data: str, chat_id: str | None = None) -> list[str]:
        msg = InboundMessage("web", chat_id or self.chat_id, "Asker", "", choice=data)
        with unit_of_work(self.engine) as session:
            return [r.text for r in handle_message(session, msg, datetime.now(UTC))]

    def delivered(self, chat_id: str | None = None) -> list[str]:
        with Session(self.engine) as session:
            return [m.text for m in messages_since(session, chat_id or self.chat_id, None) if m.direction == "out"]

    async def told(self, fragment: str, chat_id: str | None = None, within: float = 15.0) -> str:
        return await eventually(lambda: next((t for t in self.delivered(chat_id) if fragment in t), None), within)

    def link(self, chat_id: str, role: str = "owner") -> None:
        with unit_of_work(self.engine) as session:
            link_chat(session, "web", chat_id, self.shop.id, role, chat_id, datetime.now(UTC))


async def eventually(check: Callable[[], Any], within: float = 15.0) -> Any:
    deadline = asyncio.get_running_loop().time() + within
    while True:
        found = await asyncio.to_thread(check)
        if found:
            return found
        assert asyncio.get_running_loop().time() < deadline, "timed out waiting"
        await asyncio.sleep(0.05)


def fill_book(engine: Engine, shop: Shop, today: date, overdue: bool = False) -> None:
    """Five customers with phones and INV-0001…INV-0005 (due in the past when `overdue`)."""
    with unit_of_work(engine) as session:
        for i, (name, phone) in enumerate(CUSTOMERS):
            made = create_customer(session, shop.id, name, [phone])
            assert made.customer_id is not None
            due = today - timedelta(days=3) if overdue else today + timedelta(days=7)
            create_invoice(session, shop.id, made.customer_id, Decimal(1000 + 500 * i), today - timedelta(days=10),
                           due, "goods")


@asynccontextmanager
async def live_hesabu(db_url: str, tmp_path: Path, *, credentials: bool = True, overdue: bool = False,
                      fake: FakeDaraja | None = None, **settings: Any) -> AsyncIterator[Live]:
    own_fake = fake is None
    fake = fake or FakeDaraja(callback_delay=0.4).start()
    fake.add_app(APP_KEY, APP_SECRET)
    fake.add_shortcode("600984", PASSKEY)
    port = free_port()
    config = Settings(database_url=db_url, public_url=f"http://127.0.0.1:{port}", daraja_url=fake.url,
                      secret_key=KEY, spool_dir=str(tmp_path / "spool"), web_chat=True, **settings)
    engine = make_engine(db_url)
    shop = add_business(engine, "600984")
    fill_book(engine, shop, datetime.now(UTC).date(), overdue=overdue)
    if credentials:
        with unit_of_work(engine) as session:
            save_credentials(session, Keyring(KEY), shop.id, "600984", "sandbox",
                             {"consumer_key": APP_KEY, "consumer_secret": APP_SECRET, "passkey": PASSKEY,
                              "initiator_name": "hesabu-api", "security_credential": "cred-0001"},
                             datetime.now(UTC))
    fake.add_initiator("hesabu-api", "cred-0001")
    with unit_of_work(engine) as session:  # linked before start-up: the web channel joins the outbox at once
        link_chat(session, "web", "web-asker-1", shop.id, "staff", "Asker", datetime.now(UTC))
    app = create_app(config)
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on"))
    task = asyncio.create_task(server.serve())
    try:
        await eventually(lambda: server.started, within=30)
        yield Live(app, engine, config, fake, shop)
    finally:
        server.should_exit = True
        await task
        engine.dispose()
        if own_fake:
            fake.stop()
