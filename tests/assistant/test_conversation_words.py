"""The conversation reads plain words in English, Swahili and the mix with the same reader as `chat parse`:
a request in one sentence, a question back and the answer that completes it, and a new request instead."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from tests.assistant.test_conversation import book, invoices, owner  # noqa: F401  (book is a fixture)


def test_a_swahili_invoice_in_one_sentence_with_a_due_date(book):  # noqa: F811
    chat = owner(book)
    reply = chat.text("Tuma invoice kwa Mary Wanjiku ya elfu mbili mia tano, alipe Ijumaa")
    new = invoices(book)[-1]
    assert new.amount == Decimal("2500.00") and new.due == date(2026, 11, 27)  # NOW is Wednesday 25 Nov
    assert new.number in reply


def test_a_question_back_in_swahili_and_the_answer_completes_the_invoice(book):  # noqa: F811
    chat = owner(book)
    before = len(invoices(book))
    asked = chat.text("Tengeneza invoice ya 2500 ya unga")
    assert asked.startswith("Invoice ni ya nani") and len(invoices(book)) == before
    reply = chat.text("Peter Mwangi")
    new = invoices(book)[-1]
    assert len(invoices(book)) == before + 1 and new.amount == Decimal("2500.00") and new.description == "unga"
    assert new.number in reply and "Peter" in reply


def test_an_unreadable_answer_is_asked_again_and_a_new_request_replaces_the_question(book):  # noqa: F811
    chat = owner(book)
    assert "How much" in chat.text("create an invoice for Grace Achieng")
    assert chat.text("lots").startswith("Sorry")
    assert "Open invoices" in chat.text("who hasn't paid?")  # a new request: the half invoice is dropped
    before = len(invoices(book))
    chat.text("3000")
    assert len(invoices(book)) == before


def test_a_name_and_an_amount_alone_asks_debt_or_payment_and_the_button_decides(book):  # noqa: F811
    chat = owner(book)
    before = len(invoices(book))
    [asked] = chat.say("Mary Wanjiku 1800")
    assert [c.data for c in asked.choices] == ["a:invoice", "a:paid"] and len(invoices(book)) == before
    chat.say(choice="a:invoice")
    assert len(invoices(book)) == before + 1 and invoices(book)[-1].amount == Decimal("1800.00")


def test_statements_and_promises_change_nothing(book):  # noqa: F811
    chat = owner(book)
    before = len(invoices(book))
    for text in ("Mary alisema atalipa 2000 kesho", "Usitume invoice kwa Otieno bado", "Nimelipa stima 2,000",
                 "Mary ni mteja mzuri", "asante sana"):
        assert chat.say(text)
    assert len(invoices(book)) == before


def test_plain_words_list_look_up_and_summarise(book):  # noqa: F811
    chat = owner(book)
    assert "INV-0001" in chat.text("Nani hajalipa?")
    assert "deni KES" in chat.text("Mary Wanjiku anadaiwa ngapi?")  # the chat took Swahili from its first words
    summary = chat.say("Muhtasari wa leo")
    assert summary and summary[0].picture is not None
