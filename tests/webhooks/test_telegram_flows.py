"""The chat flows of issue 4 end to end: the real python-telegram-bot over real HTTP against the fake Bot
API, webhook in, replies and alerts out, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from sqlmodel import Session, select

from bot.storage.businesses import new_link_code
from bot.storage.db import unit_of_work
from bot.storage.tables import InvoiceRow, PaymentRow
from tests.bookkeeping.book_support import body, make_book
from tests.fakes.telegram_api import FakeTelegramApi
from tests.support import running_service
from tests.webhooks.test_telegram import anyio_backend, eventually, fake, post_update, ready, telegram_settings

pytestmark = pytest.mark.anyio
__all__ = ["anyio_backend", "fake"]  # fixtures used by name
OWNER, STAFF, STRANGER = 5001, 5002, 5003


def code(engine, business_id: int, role: str = "owner", now: datetime | None = None) -> str:
    with unit_of_work(engine) as session:
        return new_link_code(session, business_id, role, now or datetime.now(UTC))


def texts_to(fake: FakeTelegramApi, chat: int) -> list[str]:
    return [c.params["text"] for c in fake.calls_to("sendMessage") if c.params["chat_id"] == str(chat)]


async def say(svc, bridge, fake: FakeTelegramApi, chat: int, text: str) -> str:
    before = len(texts_to(fake, chat))
    assert await post_update(svc, bridge, fake.text_update(chat, text)) == 200
    return "\n".join(texts_to(fake, chat)[before:])


async def test_codes_roles_and_an_unlinked_chat(db_url, tmp_path, fake: FakeTelegramApi) -> None:
    async with running_service(db_url, tmp_path, **telegram_settings(fake)) as svc:
        bridge = await ready(svc)
        book = make_book(svc.engine, "600500")
        assert "link code" in await say(svc, bridge, fake, STRANGER, "/invoices")
        first = code(svc.engine, book.shop.id)
        assert "Linked to" in await say(svc, bridge, fake, OWNER, f"/start {first}")
        assert "already been used" in await say(svc, bridge, fake, STRANGER, f"/start {first}")
        old = code(svc.engine, book.shop.id, now=datetime.now(UTC) - timedelta(days=2))
        assert "expired" in await say(svc, bridge, fake, STRANGER, f"/start {old}")
        assert "as staff" in await say(svc, bridge, fake, STAFF, f"/start {code(svc.engine, book.shop.id, 'staff')}")
        assert "Only the business owner" in await say(svc, bridge, fake, STAFF, "/export")
        assert "INV-0001" in await say(svc, bridge, fake, STAFF, "/invoices")


@pytest.mark.parametrize(("typed", "amount", "due"), [
    ("2.5k maize due tomorrow", "2500.00", 1), ("KES 2,500 due in 7 days", "2500.00", 7), ("1500", "1500.00", None),
])
async def test_a_quick_invoice_in_one_message(db_url, tmp_path, fake: FakeTelegramApi, typed, amount, due) -> None:
    async with running_service(db_url, tmp_path, **telegram_settings(fake)) as svc:
        bridge = await ready(svc)
        book = make_book(svc.engine, "600501")
        await say(svc, bridge, fake, OWNER, f"/start {code(svc.engine, book.shop.id)}")
        reply = await say(svc, bridge, fake, OWNER, f"/invoice Wanjiru Kamau {typed}")
        with Session(svc.engine) as session:
            new = session.exec(select(InvoiceRow).order_by(InvoiceRow.id.desc())).first()  # type: ignore[union-attr]
        assert new is not None and f"{new.amount}" == amount and new.number in reply
        assert f"Paybill 600501, account {new.number}" in reply
        today = datetime.now(UTC).astimezone(__import__("zoneinfo").ZoneInfo("Africa/Nairobi")).date()
        assert new.due == (today + timedelta(days=due) if due else None)


async def test_a_suggestion_confirmed_by_button_then_undone(db_url, tmp_path, fake: FakeTelegramApi) -> None:
    async with running_service(db_url, tmp_path, **telegram_settings(fake)) as svc:
        bridge = await ready(svc)
        book = make_book(svc.engine, "600502")
        await say(svc, bridge, fake, OWNER, f"/start {code(svc.engine, book.shop.id)}")
        paid = await svc.client.post(f"/c2b/{book.shop.token}/confirmation",
                                     json=body("600502", "TGSUG00001", "7000.00", ref="john", name="J OTIENO"))
        assert paid.status_code == 200
        [alert] = await eventually(lambda: [c for c in fake.calls_to("sendMessage") if "7,000.00" in c.params["text"]])
        buttons = [row[0]["callback_data"] for row in alert.json("reply_markup")["inline_keyboard"]]
        assert buttons[0].startswith("c:")
        tap = fake.callback_update(OWNER, buttons[0])
        assert await post_update(svc, bridge, tap) == 200
        edited = fake.last("editMessageText")
        assert "INV-0003" in edited.params["text"]
        with Session(svc.engine) as session:
            assert session.exec(select(PaymentRow.status)).one() == "matched"
            invoice = session.exec(select(InvoiceRow).where(InvoiceRow.number == "INV-0003")).one()
            assert invoice.open_balance == Decimal("0.00")
        assert await post_update(svc, bridge, fake.callback_update(OWNER, "u")) == 200
        with Session(svc.engine) as session:
            assert session.exec(select(PaymentRow.status)).one() == "suggested"
            invoice = session.exec(select(InvoiceRow).where(InvoiceRow.number == "INV-0003")).one()
            assert invoice.open_balance == Decimal("7000.00")


async def test_a_chat_of_one_business_cannot_see_or_touch_another(db_url, tmp_path, fake: FakeTelegramApi) -> None:
    async with running_service(db_url, tmp_path, **telegram_settings(fake)) as svc:
        bridge = await ready(svc)
        mine, theirs = make_book(svc.engine, "600503"), make_book(svc.engine, "600504")
        await svc.client.post(f"/c2b/{theirs.shop.token}/confirmation",
                              json=body("600504", "TGISO00001", "3300.00", ref="nothing", name="B PAYER"))
        await say(svc, bridge, fake, OWNER, f"/start {code(svc.engine, mine.shop.id)}")
        assert "not found" in await say(svc, bridge, fake, OWNER, "/match TGISO00001 INV-0004")
        assert "TGISO00001" not in await say(svc, bridge, fake, OWNER, "/unmatched")
        assert not any("3,300.00" in t for t in texts_to(fake, OWNER))  # their alert never reached this chat
        with Session(svc.engine) as session:
            assert session.exec(select(PaymentRow.status)).one() in ("unmatched", "suggested")


