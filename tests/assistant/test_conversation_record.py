"""`record`: a payment received outside M-Pesa, from the chat, matched like any other, shown as manual in
exports and summaries, and undone by undo."""

from __future__ import annotations

from decimal import Decimal

from sqlmodel import Session, select

from bot.storage.tables import InvoiceRow, OwnerActionRow, PaymentRow, PaymentSightingRow
from tests.assistant.test_conversation import Chat, book, code_for, owner  # noqa: F401  (book is a fixture)


def _payments(book):  # noqa: F811
    with Session(book.engine) as session:
        return list(session.exec(select(PaymentRow).where(PaymentRow.business_id == book.shop.id)
                                 .order_by(PaymentRow.id)))


def _invoice(book, number: str) -> InvoiceRow:  # noqa: F811
    with Session(book.engine) as session:
        return session.exec(select(InvoiceRow).where(InvoiceRow.business_id == book.shop.id,
                                                     InvoiceRow.number == number)).one()


def test_a_cash_payment_in_swahili_is_recorded_matched_and_undone(book):  # noqa: F811
    chat = owner(book)
    reply = chat.text("Mary Wanjiku Kamau amelipa elfu moja cash leo")
    [payment] = _payments(book)
    assert payment.source == "manual" and payment.amount == Decimal("1000.00") and payment.trans_id in reply
    assert payment.trans_id.startswith("CASH") and reply.startswith("Nimeandika")
    assert payment.status in ("matched", "suggested")
    with Session(book.engine) as session:
        sighting = session.exec(select(PaymentSightingRow).where(PaymentSightingRow.payment_id == payment.id)).one()
        assert sighting.source == "manual" and "telegram:100" in sighting.detail
        action = session.exec(select(OwnerActionRow).where(OwnerActionRow.kind == "record")).one()
        assert action.payment_id == payment.id
    if payment.status == "matched":
        assert _invoice(book, "INV-0002").open_balance == Decimal("0.00")
    assert "undone" in chat.text("tengua").lower()
    [undone] = _payments(book)
    assert undone.status == "reversed"
    assert _invoice(book, "INV-0002").open_balance == Decimal("1000.00")
    assert _invoice(book, "INV-0001").open_balance == Decimal("2500.00")


def test_staff_record_cash_and_export_shows_it_as_manual(book):  # noqa: F811
    staff = Chat(book.engine, "400")
    staff.text(f"/start {code_for(book.engine, book.shop.id, 'staff')}")
    reply = staff.text("received 3,300 from Grace in cash")
    [payment] = _payments(book)
    assert payment.source == "manual" and payment.trans_id in reply
    boss = owner(book)
    export = boss.say("/export")
    assert export and "1 payment" in export[0].text
    from zoneinfo import ZoneInfo

    from bot.bookkeeping import exports

    with Session(book.engine) as session:
        [record] = exports.payment_records(session, book.shop.id, "600984", ZoneInfo("Africa/Nairobi"), None, None)
    assert record["source"] == "manual"


def test_a_record_without_an_amount_asks_and_the_answer_records(book):  # noqa: F811
    chat = owner(book)
    assert chat.text("John amelipa cash leo").startswith("Amelipa ngapi")
    assert not _payments(book)
    reply = chat.text("elfu saba")
    [payment] = _payments(book)
    assert payment.amount == Decimal("7000.00") and payment.trans_id in reply
