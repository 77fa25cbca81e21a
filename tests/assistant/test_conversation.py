"""The assistant on real SQLite and PostgreSQL: linking, roles, quick invoices, buttons, isolation."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from sqlmodel import Session, select

from bot.assistant.conversation import handle_message
from bot.assistant.messages import InboundMessage, Reply
from bot.bookkeeping.invoices import create_customer
from bot.storage.businesses import new_link_code
from bot.storage.db import make_engine, unit_of_work
from bot.storage.tables import InvoiceRow, PaymentRow
from tests.bookkeeping.book_support import MARY_PHONE, Book, make_book, pay

NOW = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)  # Wednesday 12:00 in Nairobi


class Chat:
    """One chat talking to the assistant; each message its own transaction, as in production."""

    def __init__(self, engine, chat_id: str = "100", channel: str = "telegram") -> None:
        self.engine, self.chat_id, self.channel = engine, chat_id, channel

    def say(self, text: str = "", choice: str | None = None, ref: str | None = None,
            external_id: str | None = None, now: datetime = NOW) -> list[Reply]:
        # what each channel's inbound reader says it can do (WhatsApp: numbered choices, no "/" needed)
        caps = {"buttons": False, "slash_optional": True} if self.channel == "whatsapp" else {}
        msg = InboundMessage(self.channel, self.chat_id, "Owner", text, choice=choice, message_ref=ref,
                             external_id=external_id, **caps)
        with unit_of_work(self.engine) as session:
            return handle_message(session, msg, now)

    def text(self, *args, **kwargs) -> str:
        return "\n".join(r.text for r in self.say(*args, **kwargs))


def code_for(engine, business_id: int, role: str = "owner", now: datetime = NOW,
             ttl: timedelta = timedelta(hours=24)) -> str:
    with unit_of_work(engine) as session:
        return new_link_code(session, business_id, role, now, ttl)


@pytest.fixture
def book(db_url) -> Book:
    engine = make_engine(db_url)
    yield make_book(engine, "600984")
    engine.dispose()


def owner(book: Book, chat_id: str = "100", channel: str = "telegram") -> Chat:
    chat = Chat(book.engine, chat_id, channel)
    assert "Linked to" in chat.text(f"/start {code_for(book.engine, book.shop.id)}")
    return chat


def invoices(book: Book, business_id: int | None = None) -> list[InvoiceRow]:
    with Session(book.engine) as session:
        return list(session.exec(select(InvoiceRow).where(InvoiceRow.business_id == (business_id or book.shop.id))
                                 .order_by(InvoiceRow.id)))


def test_an_unlinked_chat_gets_an_explanation_and_nothing_else(book):
    chat = Chat(book.engine)
    for text in ("/invoices", "/unmatched", "hello", "/summary"):
        reply = chat.text(text)
        assert "link code" in reply and "INV-" not in reply and "KES" not in reply


def test_link_codes_are_single_use_and_expire(book):
    code = code_for(book.engine, book.shop.id)
    assert "Linked to Duka as owner" in Chat(book.engine, "1").text(f"/start {code}")
    assert "already been used" in Chat(book.engine, "2").text(f"/start {code}")
    old = code_for(book.engine, book.shop.id, now=NOW - timedelta(days=2))
    assert "expired" in Chat(book.engine, "3").text(f"/start {old}")
    assert "not valid" in Chat(book.engine, "4").text("/start NOSUCHCD")
    assert "link code" in Chat(book.engine, "2").text("/invoices")


def test_staff_can_look_up_but_not_undo_export_or_change_settings(book):
    staff = Chat(book.engine, "200")
    assert "as staff" in staff.text(f"/start {code_for(book.engine, book.shop.id, 'staff')}")
    for text in ("/undo", "/export", "/settings", "/match ABC1234567 INV-0001"):
        assert "Only the business owner" in staff.text(text)
    assert "INV-0001" in staff.text("/invoices")
    assert "/undo" not in staff.text("/help")


@pytest.mark.parametrize("amount", ["2500", "2,500", "2.5k", "KES 2500", "Ksh2,500"])
def test_quick_invoice_reads_amounts_the_way_people_type_them(book, amount):
    chat = owner(book)
    reply = chat.text(f"/invoice Mary Wanjiku {amount} school shoes")
    new = invoices(book)[-1]
    assert new.amount == Decimal("2500.00") and new.description == "school shoes"
    assert new.number in reply and f"Paybill 600984, account {new.number}" in reply


@pytest.mark.parametrize(("due", "expected"), [
    ("12/12", date(2026, 12, 12)), ("friday", date(2026, 11, 27)), ("tomorrow", date(2026, 11, 26)),
    ("in 7 days", date(2026, 12, 2)),
])
def test_quick_invoice_reads_due_dates(book, due, expected):
    owner(book).say(f"/invoice Grace Achieng 3300 due {due}")
    assert invoices(book)[-1].due == expected


def test_bare_invoice_walks_through_what_is_missing(book):
    chat = owner(book)
    assert "Who is the invoice for" in chat.text("/invoice")
    assert "How much" in chat.text("Peter Mwangi")
    assert "Sorry" in chat.text("lots")  # a bad amount is explained, the question stays
    reply = chat.text("1.2k")
    new = invoices(book)[-1]
    assert new.amount == Decimal("1200.00") and new.number in reply and "Peter" in reply


def test_a_new_customer_is_created_from_a_phone(book):
    owner(book).say("/invoice 0700 111 222 500")
    new = invoices(book)[-1]
    assert new.amount == Decimal("500.00") and new.customer_id not in book.customers.values()


def test_two_customers_with_one_name_are_asked_about(book):
    with unit_of_work(book.engine) as session:
        other = create_customer(session, book.shop.id, "Mary Wanjiku Kamau", ["0711 000 000"]).customer_id
    chat = owner(book)
    [question] = chat.say("/invoice Mary Wanjiku Kamau 800")
    assert "Which one" in question.text and len(question.choices) == 3
    chat.say(choice=f"i:{other}")
    assert invoices(book)[-1].customer_id == other


def test_a_suggestion_is_confirmed_by_button_and_undone(book):
    chat = owner(book)
    done = pay(book, "SUG0000001", "1000.00", ref="", phone=MARY_PHONE, name="MARY KAMAU")
    assert done.decision.kind.value in ("auto", "suggest")
    stranger = pay(book, "SUG0000002", "7000.00", ref="john", name="J OTIENO")
    assert stranger.decision.kind.value == "suggest"
    first = stranger.decision.suggestions[0].allocations[0]
    [reply] = chat.say(choice=f"c:{stranger.payment_id}:{first.invoice_id}", ref="555")
    assert reply.edit_ref == "555" and first.number in reply.text
    assert _status(book, "SUG0000002") == "matched"
    [undone] = chat.say(choice="u", ref="555")
    assert "undone" in undone.text.lower() and _status(book, "SUG0000002") == "suggested"


def test_match_and_ignore_and_undo_by_command_and_button(book):
    chat = owner(book)
    done = pay(book, "MAN0000001", "3300.00", ref="whatever", name="NOBODY KNOWN")
    assert "INV-0004" in chat.text("/match MAN0000001 INV-0004")
    assert _status(book, "MAN0000001") == "matched"
    assert "undone" in chat.text("/undo").lower()
    [ignored] = chat.say(choice=f"x:{done.payment_id}", ref="9")
    assert ignored.edit_ref == "9" and _status(book, "MAN0000001") == "ignored"
    assert "MAN0000001" not in chat.text("/unmatched")


def test_a_chat_of_business_a_cannot_see_or_touch_business_b(book):
    other = make_book(book.engine, "600985")
    b_payment = pay(other, "BBB0000001", "2500.00", ref="nothing", name="B PAYER")
    with unit_of_work(book.engine) as session:
        create_customer(session, other.shop.id, "Zawadi Only-In-B", ["0799 000 111"])
    chat = owner(book)
    assert "not found" in chat.text("/match BBB0000001 INV-0001")
    assert "No customer" in chat.text("/customer Zawadi")
    assert "BBB0000001" not in chat.text("/unmatched")
    b_invoice = invoices(book, other.shop.id)[0]
    reply = chat.text(choice=f"c:{b_payment.payment_id}:{b_invoice.id}")
    assert "no longer" in reply or "not found" in reply
    assert chat.text(choice=f"x:{b_payment.payment_id}").startswith("Sorry")
    assert _status(other, "BBB0000001") in ("unmatched", "suggested")
    reply = chat.text("/invoice Zawadi 100")
    assert invoices(book)[-1].customer_id not in (None,) and "Zawadi" in reply
    with Session(book.engine) as session:
        assert session.get(InvoiceRow, b_invoice.id).open_balance == b_invoice.open_balance


def test_a_redelivered_message_is_answered_once(book):
    chat = owner(book)
    assert chat.say("/help", external_id="u-1")
    assert chat.say("/help", external_id="u-1") == []


def test_several_businesses_choose_with_a_command_and_whatsapp_numbers(book):
    other = make_book(book.engine, "600986")
    chat = owner(book, "254700000001", "whatsapp")
    chat.say(f"start {code_for(book.engine, other.shop.id)}")
    assert "Now working on" in chat.text("business 1")
    listing = chat.text("business")
    assert "1." in listing and "2." in listing
    assert "Now working on" in chat.text("2")  # the number answers the numbered choice
    assert "600986" in chat.text("settings")


def test_summary_counts_todays_payments(book):
    chat = owner(book)
    pay(book, "SUM0000001", "2500.00", ref="INV-0001", phone=MARY_PHONE)
    pay(book, "SUM0000002", "10.00", ref="", name="WALK IN")
    today = datetime(2026, 9, 20, 12, 0, tzinfo=UTC)  # the payments' day (TransTime 2026-09-20)
    text = chat.text("/summary", now=today)
    assert "KES 2,510.00 in 2 payments" in text and "Need you: 1" in text


def _status(book: Book, trans_id: str) -> str:
    with Session(book.engine) as session:
        return session.exec(select(PaymentRow.status).where(PaymentRow.trans_id == trans_id)).one()


def test_the_practice_for_payments_that_pin_no_invoice_is_a_setting(book):
    """Oldest first by default (a part payment of Mary's is applied); `/settings practice ask` makes it a question."""
    chat = owner(book)
    assert "oldest invoices first" in chat.text("/settings")
    assert _status(book, pay(book, "PRAC000001", "700.00", ref="", phone=MARY_PHONE).trans_id) == "matched"
    assert "ask me" in chat.text("/settings practice ask")
    assert _status(book, pay(book, "PRAC000002", "700.00", ref="", phone=MARY_PHONE).trans_id) == "suggested"
    assert "not a practice" in chat.text("/settings practice sometimes")
    assert "oldest invoices first" in chat.text("/settings practice oldest")
