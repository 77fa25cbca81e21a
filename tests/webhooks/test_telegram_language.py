"""Issue 15 through the real python-telegram-bot and the fake Bot API: a Swahili plain-words invoice with a due
date, a question back and the answer that completes it, a cash record, and switching language."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from sqlmodel import Session, select

from bot.storage.tables import InvoiceRow, PaymentRow
from tests.bookkeeping.book_support import make_book
from tests.fakes.telegram_api import FakeTelegramApi
from tests.support import running_service
from tests.webhooks.test_telegram import anyio_backend, fake, ready, telegram_settings
from tests.webhooks.test_telegram_flows import OWNER, code, say

pytestmark = pytest.mark.anyio
__all__ = ["anyio_backend", "fake"]  # fixtures used by name


async def test_swahili_in_plain_words_through_telegram(db_url, tmp_path, fake: FakeTelegramApi) -> None:
    async with running_service(db_url, tmp_path, **telegram_settings(fake)) as svc:
        bridge = await ready(svc)
        book = make_book(svc.engine, "600510")
        await say(svc, bridge, fake, OWNER, f"/start {code(svc.engine, book.shop.id)}")
        reply = await say(svc, bridge, fake, OWNER, "Tuma invoice kwa Wanjiru Kamau ya elfu mbili, alipe kesho")
        tomorrow = datetime.now(UTC).astimezone(ZoneInfo("Africa/Nairobi")).date() + timedelta(days=1)
        with Session(svc.engine) as session:
            new = session.exec(select(InvoiceRow).order_by(InvoiceRow.id.desc())).first()  # type: ignore[union-attr]
        assert new is not None and new.amount == Decimal("2000.00") and new.due == tomorrow
        assert new.number in reply and "Mteja alipe: Paybill 600510" in reply
        asked = await say(svc, bridge, fake, OWNER, "Tengeneza ankara ya 1500 ya unga")
        assert asked.startswith("Invoice ni ya nani")
        done = await say(svc, bridge, fake, OWNER, "Otieno")
        assert "KES 1,500.00" in done and "INV-" in done  # Otieno is the book's John Otieno
        recorded = await say(svc, bridge, fake, OWNER, "Otieno amelipa elfu moja na mia tano cash leo")
        with Session(svc.engine) as session:
            cash = session.exec(select(PaymentRow).where(PaymentRow.source == "manual")).one()
        assert cash.amount == Decimal("1500.00") and cash.trans_id in recorded and recorded.startswith("Nimeandika")
        assert "English" in await say(svc, bridge, fake, OWNER, "/language en")
        assert (await say(svc, bridge, fake, OWNER, "/invoices")).startswith("Open invoices")
