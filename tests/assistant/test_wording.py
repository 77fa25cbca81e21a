"""Message wording: the exact texts owners see, choice data sizes, and no full phone number anywhere."""

from __future__ import annotations

import re
from datetime import date, datetime
from decimal import Decimal

import pytest

from bot.assistant import wording as w
from bot.assistant.grammar import HELP_TEXT, GrammarError
from bot.assistant.messages import MAX_CHOICE_DATA_BYTES, Reply
from bot.ledger.chat_input import InputError, read_amount

PHONE = "254712345678"
FULL_PHONE = re.compile(r"(?:\+?254|0)\s*[17]\d{2}\s*\d{3}\s*\d{3}")
D = Decimal


def no_full_phone(reply: Reply) -> bool:
    texts = [reply.text, *(c.label for c in reply.choices), *(c.data for c in reply.choices)]
    return not any(FULL_PHONE.search(text) or "712345678" in text for text in texts)


@pytest.mark.parametrize(
    ("name", "short"),
    [
        ("JOHN DOE KAMAU", "JOHN D."),
        ("Mary Wanjiku", "Mary W."),
        ("mary wanjiku", "mary W."),
        ("MARY", "MARY"),
        ("  ", ""),
        (None, ""),
        ("0712345678", ""),
        ("Mary 0712345678", "Mary"),
    ],
)
def test_short_name(name: str | None, short: str) -> None:
    assert w.short_name(name) == short


def test_payer_label_falls_back_to_a_masked_phone() -> None:
    assert w.payer_label("JOHN DOE KAMAU", PHONE) == "JOHN D."
    assert w.payer_label(None, PHONE) == "2547*****678"
    assert w.payer_label("", "0712 345 678") == "2547*****678"
    assert w.payer_label(None, None) == "a customer"
    assert w.payer_label(None, "2547 ***** 678") == "a customer"


def test_payment_texts() -> None:
    assert w.paid_in_full(D("15000"), "JOHN DOE KAMAU", "INV-0042").text == (
        "KES 15,000.00 from JOHN D. paid INV-0042 in full"
    )
    assert w.paid_partly(D("5000"), "JOHN DOE KAMAU", "INV-0042", D("10000")).text == (
        "KES 5,000.00 from JOHN D. paid part of INV-0042\nStill due: KES 10,000.00"
    )
    assert w.overpaid(D("20000"), "JOHN DOE KAMAU", "INV-0042", D("5000")).text == (
        "KES 20,000.00 from JOHN D. paid INV-0042 in full\nKES 5,000.00 extra kept as credit"
    )
    several = w.paid_several(
        D("16000"), "JOHN DOE KAMAU", [w.Paid("INV-0041", D("10000")), w.Paid("INV-0042", D("5000"), D("2500"))],
        credit=D("1000"),
    )
    assert several.text == (
        "KES 16,000.00 from JOHN D. paid 2 invoices:\n"
        "INV-0041 KES 10,000.00 in full\n"
        "INV-0042 KES 5,000.00 (still due KES 2,500.00)\n"
        "KES 1,000.00 extra kept as credit"
    )
    assert w.paid_in_full(D("100"), None, "INV-1", payer_phone=PHONE).text == (
        "KES 100.00 from 2547*****678 paid INV-1 in full"
    )


CANDIDATES = [
    w.Candidate(42, "INV-0042", "Mary Wanjiku Kamau", D("2500"), "same amount"),
    w.Candidate(43, "INV-0043", "John Doe", D("3000")),
    w.Candidate(44, "INV-0044", "0712345678", D("2500"), "phone matches"),
    w.Candidate(45, "INV-0045", "Fourth Best", D("1")),
]


def test_suggestion_offers_three_candidates_then_other_and_not_an_invoice() -> None:
    reply = w.suggestion(981, D("2500"), "MARY WANJIKU", "mary 0712345678", CANDIDATES)
    assert reply.text == (
        'KES 2,500.00 from MARY W. (ref "mary 2547*****678")\n'
        "Which invoice is it for?\n"
        "1. INV-0042 Mary W. KES 2,500.00 - same amount\n"
        "2. INV-0043 John D. KES 3,000.00\n"
        "3. INV-0044 2547*****678 KES 2,500.00 - phone matches"
    )
    assert [c.data for c in reply.choices] == ["c:981:42", "c:981:43", "c:981:44", "o:981", "x:981"]
    assert [c.label for c in reply.choices][-2:] == ["Other invoice", "Not an invoice"]
    assert reply.choices[0].label == "INV-0042 Mary W. KES 2,500.00"
    assert no_full_phone(reply)


def test_choice_data_stays_within_telegram_limit_for_the_largest_ids() -> None:
    huge = 2**63 - 1  # a BIGINT primary key at its maximum
    reply = w.suggestion(huge, D("1"), "A", None, [w.Candidate(huge, "INV-1", "B", D("1"))])
    assert all(len(c.data.encode()) <= MAX_CHOICE_DATA_BYTES for c in reply.choices)
    assert w.read_choice(reply.choices[0].data) == w.ChoiceData("c", huge, huge)


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        ("c:12:42", w.ChoiceData("c", 12, 42)),
        ("o:12", w.ChoiceData("o", 12)),
        ("x:12", w.ChoiceData("x", 12)),
        ("c:12", None),
        ("o:12:1", None),
        ("c:a:1", None),
        ("z:12", None),
        ("summary:today", None),
        ("", None),
        ("x:", None),
    ],
)
def test_read_choice(data: str, expected: w.ChoiceData | None) -> None:
    assert w.read_choice(data) == expected


def test_unknown_payment() -> None:
    reply = w.unknown_payment(7, D("2500"), None, "0712345678", "QKL5ABCD12", payer_phone=PHONE)
    assert reply.text == (
        'KES 2,500.00 from 2547*****678 (ref "2547*****678")\n'
        "No invoice fits. Receipt QKL5ABCD12\n"
        "To match it: /match QKL5ABCD12 INV-…"
    )
    assert [c.data for c in reply.choices] == ["o:7", "x:7"]
    assert no_full_phone(reply)


def test_flagged_callback() -> None:
    reply = w.flagged_callback("C2B confirmation", datetime(2026, 12, 10, 14, 5), "not JSON")
    assert reply.text == (
        "Warning: something that is not an M-Pesa payment reached your C2B confirmation address "
        "at 14:05 on Thu 10 Dec.\nWhy: not JSON\nIt was kept, not counted. If you did not expect it, tell us."
    )


@pytest.mark.parametrize(
    ("till", "how"),
    [(False, "Paybill 600984, account INV-0042"), (True, "Till 600984, reference INV-0042")],
)
def test_invoice_created(till: bool, how: str) -> None:
    reply = w.invoice_created("INV-0042", "Mary Wanjiku", D("2500"), date(2026, 12, 12), "600984", till=till)
    assert reply.text == f"INV-0042 for Mary W. KES 2,500.00 due Sat 12 Dec\nCustomer pays: {how}"


def test_invoice_created_variants() -> None:
    no_due = w.invoice_created("INV-1", "0712345678", D("2500.5"), None, "600984")
    assert no_due.text.splitlines()[0] == "INV-1 for 2547*****678 KES 2,500.50"
    assert no_full_phone(no_due)
    next_year = w.invoice_created("INV-2", "Mary", D("1"), date(2027, 1, 15), "600984", today=date(2026, 12, 10))
    assert "due Fri 15 Jan 2027" in next_year.text


def test_day_text() -> None:
    assert w.day_text(date(2026, 12, 11)) == "Fri 11 Dec"
    assert w.day_text(date(2026, 12, 11), today=date(2026, 1, 1)) == "Fri 11 Dec"
    assert w.day_text(date(2027, 1, 4), today=date(2026, 12, 30)) == "Mon 4 Jan 2027"


def test_errors_show_an_example() -> None:
    error = read_amount("2.555")
    assert isinstance(error, InputError)
    assert w.input_problem(error).text == (
        "Sorry, '2.555': shillings have at most two decimal places.\nExample: 2500, 2,500.50, 2.5k or KES 2500"
    )
    grammar = GrammarError("invoices", "choose open, overdue or all", "/invoices overdue")
    assert w.grammar_problem(grammar).text == "Sorry, choose open, overdue or all.\nExample: /invoices overdue"
    assert w.grammar_problem(grammar, slash=False).text.endswith("Example: invoices overdue")
    assert w.problem("no such invoice", "/invoices").text == "Sorry, no such invoice.\nExample: /invoices"
    assert no_full_phone(w.input_problem(InputError("0712345678", "looks like a phone", "2500")))


@pytest.mark.parametrize("part", ["customer", "amount", "due"])
def test_ask_for_missing_invoice_parts(part: str) -> None:
    assert "e.g." in w.ask_for(part).text


def test_help_reply_without_slash_for_whatsapp() -> None:
    text = w.help_reply(HELP_TEXT["staff"], slash=False).text
    assert text.startswith("invoice NAME AMOUNT")
    assert "/" not in text.replace("open|overdue|all", "").replace("today|yesterday", "")


def test_safe_text_masks_every_phone_form() -> None:
    for phone in ("0712345678", "0712 345 678", "+254712345678", "254-712-345-678", "0112345678"):
        assert "*" in w.safe_text(f"paid by {phone} ok")
    assert w.safe_text("INV-0042 2500") == "INV-0042 2500"


def test_short_lines_for_phones() -> None:
    replies = [
        w.paid_in_full(D("15000"), "JOHN DOE KAMAU", "INV-0042"),
        w.suggestion(1, D("2500"), "MARY W", "x", CANDIDATES),
        w.invoice_created("INV-0042", "Mary Wanjiku", D("2500"), date(2026, 12, 12), "600984"),
    ]
    for reply in replies:
        assert all(len(line) <= 60 for line in reply.text.splitlines())
        assert len(reply.text) < 1600  # Twilio WhatsApp body limit
