"""The chat's language: chosen with /language or in words, read from the first messages, else the business's
default; questions back in the person's language."""

from __future__ import annotations

from tests.assistant.test_conversation import Chat, book, code_for, owner  # noqa: F401  (book is a fixture)


def test_switching_language_by_command_and_in_words(book):  # noqa: F811
    chat = owner(book)
    assert chat.text("/invoices").startswith("Open invoices")
    assert "Kiswahili" in chat.text("/language sw")
    assert chat.text("/invoices").startswith("Invoice ambazo hazijalipwa")
    assert "orodha hii" in chat.text("/help")
    assert "English" in chat.text("switch to English")
    assert chat.text("/invoices").startswith("Open invoices")
    chat.text("Kiswahili tafadhali")
    assert "deni KES" in chat.text("/customer Mary")


def test_the_first_clear_message_sets_the_chat_language(book):  # noqa: F811
    chat = Chat(book.engine, "200")
    assert "Umeunganishwa" not in chat.text(f"/start {code_for(book.engine, book.shop.id)}")
    assert chat.text("Nionyeshe invoice ambazo hazijalipwa").startswith("Invoice ambazo hazijalipwa")
    assert chat.text("/unmatched").startswith(("Malipo", "Malipo yote"))  # a bare command stays in Swahili


def test_the_business_default_language_is_a_setting(book):  # noqa: F811
    chat = owner(book)
    assert "Language English" in chat.text("/settings")
    assert "Lugha Kiswahili" in chat.text("/settings language sw")
    other = Chat(book.engine, "300")
    linked = other.text(f"/start {code_for(book.engine, book.shop.id, 'staff')}")
    assert linked.startswith("Umeunganishwa")  # a new chat that said nothing yet: the business's language
    assert other.text("/invoices").startswith("Invoice ambazo")


def test_a_question_back_is_in_the_language_of_the_message(book):  # noqa: F811
    chat = owner(book)
    assert chat.text("Tengeneza invoice ya 2500").startswith("Invoice ni ya nani")
    assert chat.text("create an invoice for Mary").startswith("How much")


def test_a_swahili_summary_with_its_chart(book):  # noqa: F811
    chat = owner(book)
    chat.text("/language sw")
    [summary] = chat.say("Muhtasari wa leo")
    assert "Leo," in summary.text and "Umepokea KES" in summary.text and summary.picture is not None
