"""/verify, pasted M-PESA messages, photos and /reconcile through the real conversation, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from sqlmodel import Session, select

from bot.assistant.conversation import handle_message
from bot.assistant.messages import Attachment, InboundMessage
from bot.bookkeeping.statements import import_statement
from bot.ledger.payments import IncomingPayment, PaymentSource
from bot.ledger.phones import read_msisdn
from bot.storage.callbacks import record_reports
from bot.storage.db import make_engine, unit_of_work
from bot.storage.tables import BusinessRow, PaymentRow
from tests.assistant.test_conversation import NOW, Chat, code_for
from tests.bookkeeping.book_support import Book, make_book, pay
from tests.statement_support import paid_in, portal_csv

PASTED = ("UJ2H08M4M3 Confirmed.on 25/11/26 at 11:37 AMKSH1,500.00 received from 254700000001 Jane Doe. "
          "New Account balance is KSH1,090.05. Transaction cost, KSH0.00.")


@pytest.fixture
def book(db_url) -> Book:
    engine = make_engine(db_url)
    yield make_book(engine, "600984")
    engine.dispose()


def linked(book: Book, role: str = "owner", chat_id: str = "100") -> Chat:
    chat = Chat(book.engine, chat_id)
    assert "Linked to" in chat.text(f"/start {code_for(book.engine, book.shop.id, role)}")
    return chat


def test_verify_a_received_payment(book):
    pay(book, "UJ2H08M4M3", "1500.00", name="JANE DOE")
    staff = linked(book, "staff", "200")
    answer = staff.text("/verify UJ2H08M4M3")
    assert answer.startswith("RECEIVED: UJ2H08M4M3, KES 1,500.00 from JANE DOE")
    assert "M-Pesa confirmation" in answer
    assert staff.text("/verify uj2h08m4m3 1500").startswith("RECEIVED")


def test_verify_another_amount_and_an_unknown_code(book):
    pay(book, "UJ2H08M4M3", "1500.00")
    staff = linked(book, "staff", "200")
    assert staff.text("/verify UJ2H08M4M3 15000").startswith("DIFFERENT AMOUNT: UJ2H08M4M3 was KES 1,500.00")
    assert staff.text("/verify UJ9Z99Z9Z9").startswith("NOT RECEIVED: UJ9Z99Z9Z9 is not in the book")


def test_verify_shows_a_disagreeing_source(book):
    pay(book, "UJ2H08M4M3", "1500.00")
    sms = IncomingPayment("UJ2H08M4M3", Decimal("150.00"), NOW, "", "", "JANE", read_msisdn(""), PaymentSource.SMS)
    with book.engine.begin() as conn:
        record_reports(conn, book.shop.id, [sms], None, NOW)
    answer = linked(book).text("/verify UJ2H08M4M3")
    assert "RECEIVED" in answer and "forwarded SMS said KES 150.00" in answer


def test_a_pasted_message_is_checked_not_recorded_by_default(book):
    owner = linked(book)
    assert owner.text(PASTED).startswith("NOT RECEIVED: UJ2H08M4M3 (KES 1,500.00) is not in the book")
    with Session(book.engine) as session:
        assert session.scalars(select(PaymentRow)).first() is None
    pay(book, "UJ2H08M4M3", "1500.00")
    assert owner.text(PASTED).startswith("RECEIVED")
    fake = PASTED.replace("KSH1,500.00 received", "KSH15,000.00 received")
    assert owner.text(fake).startswith("DIFFERS: Safaricom told us UJ2H08M4M3 was KES 1,500.00")


def test_a_pasted_message_is_recorded_where_the_business_takes_sms(book):
    with unit_of_work(book.engine) as session:
        business = session.get(BusinessRow, book.shop.id)
        business.settings_json = json.dumps({"sms": {"record_pasted": True}})
        session.add(business)
    staff = linked(book, "staff", "200")
    assert staff.text(PASTED).startswith("NOT RECEIVED")  # staff can check, never add money to the book
    owner = linked(book)
    assert owner.text(PASTED).startswith("Recorded from the pasted message: UJ2H08M4M3")
    assert owner.text(PASTED).startswith("RECEIVED")  # the second paste finds it, nothing doubled
    with Session(book.engine) as session:
        [payment] = session.scalars(select(PaymentRow))
    assert (payment.source, payment.sources, payment.amount) == ("sms", "sms", Decimal("1500.00"))


def test_unreadable_mpesa_text_and_photos(book):
    owner = linked(book)
    text = "UHNK63KR46 Confirmed.You have received Ksh500.00 from NAOMI NJERI NDUNGU 0720***167 on..."
    assert owner.text(text).startswith("This looks like an M-PESA message but I cannot read it")
    photo = InboundMessage("telegram", "100", "Owner", "", attachment=Attachment("photo", "file-1"))
    with unit_of_work(book.engine) as session:
        [reply] = handle_message(session, photo, NOW)
    assert "paste" in reply.text


def test_reconcile_a_day(book):
    c2b = IncomingPayment("UK3A11AAAA", Decimal("1500.00"), NOW, "600984", "INV-0001", "JANE", read_msisdn(""),
                          PaymentSource.C2B)
    with book.engine.begin() as conn:
        record_reports(conn, book.shop.id, [c2b], None, NOW)
    statement = portal_csv([paid_in("UK3A12BBBB", "25-11-2026 10:00:00", "700.00"),
                            paid_in("UK3A11AAAA", "25-11-2026 09:00:00", "1,500.00")], preamble=())
    import_statement(book.engine, book.shop.id, "600984", statement, None, NOW)
    answer = linked(book).text("/reconcile")
    assert answer.startswith("25/11/2026: 2 payments.")
    assert "- M-Pesa confirmation: 1" in answer and "- statement: 2" in answer
    assert "One payment reached us only through the statement." in answer
    other_day = linked(book).text("/reconcile 2026-11-20")
    assert other_day == "No payments on 20/11/2026."


def test_reconcile_is_per_business(db_url):
    engine = make_engine(db_url)
    try:
        mine, theirs = make_book(engine, "600984"), make_book(engine, "600985")
        pay(theirs, "UK3A11AAAA", "1500.00")
        assert linked(mine).text("/reconcile").startswith("No payments on")
        assert linked(mine).text("/verify UK3A11AAAA").startswith("NOT RECEIVED")
    finally:
        engine.dispose()


def test_now_is_the_conversation_clock():
    assert datetime(2026, 11, 25, 9, 0, tzinfo=UTC) == NOW


def test_verify_in_swahili(book):
    pay(book, "UJ2H08M4M3", "1500.00")
    staff = linked(book, "staff", "200")
    assert staff.text("hii UJ2H08M4M3 ni ya kweli? imeingia?").startswith("IMEFIKA: UJ2H08M4M3, KES 1,500.00")
    assert staff.text("UJ9Z99Z9Z9 imeingia kweli?").startswith("HAIJAFIKA")
