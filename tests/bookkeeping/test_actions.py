"""Owner actions on both databases: confirm, match by hand, ignore, undo (exactly), learning, isolation."""

from __future__ import annotations

from decimal import Decimal

import pytest

from bot.bookkeeping.actions import confirm_suggestion, ignore_payment, match_by_hand, undo_last
from bot.bookkeeping.invoices import create_invoice, find_customers, next_invoice_number
from bot.storage.db import make_engine, unit_of_work
from tests.bookkeeping.book_support import MARY_PHONE, STRANGER, Book, allocations, make_book, pay, snapshot


@pytest.fixture
def book(db_url):
    engine = make_engine(db_url)
    yield make_book(engine)
    engine.dispose()


def act(book: Book, action, *args, **kwargs):
    with unit_of_work(book.engine) as session:
        return action(session, book.shop.id, *args, **kwargs)


def test_confirming_once_teaches_the_payer(book):
    first = pay(book, "TXLEARN01", "2500.00", "", STRANGER, "JANE WANJIRU DOE")
    assert first.decision.kind.value == "suggest"
    choice = [i for i, s in enumerate(first.decision.suggestions) if s.invoice_numbers() == {"INV-0001"}][0]
    result = act(book, confirm_suggestion, first.payment_id, choice, "owner:1")
    assert result.ok, result.message
    assert snapshot(book.engine, book.shop.id)["payments"]["TXLEARN01"][0] == "matched"
    again = pay(book, "TXLEARN02", "1000.00", "", STRANGER, "JANE WANJIRU DOE")
    assert again.decision.kind.value == "auto", again.decision.reasons
    assert allocations(again) == [("INV-0002", "1000.00")]


def test_undo_restores_the_exact_previous_state(book):
    pay(book, "TXUNDO001", "3000.00", "INV-0001", MARY_PHONE, "MARY KAMAU")  # auto: 2,500 + 500 credit? or split
    before = snapshot(book.engine, book.shop.id)
    result = act(book, match_by_hand, "TXUNDO001", ["INV-0003"], "owner:1")
    assert result.ok, result.message
    changed = snapshot(book.engine, book.shop.id)
    assert changed != before
    assert changed["invoices"]["INV-0003"] == ("4000.00", "partial")
    undone = act(book, undo_last, "owner:1")
    assert undone.ok and undone.message.startswith("undone")
    assert snapshot(book.engine, book.shop.id) == before
    assert not act(book, undo_last, "owner:1").ok  # nothing left to undo


def test_ignore_takes_off_what_the_engine_applied_and_undo_puts_it_back(book):
    done = pay(book, "TXIGN0001", "2500.00", "INV-0001")
    assert done.status == "matched"
    before = snapshot(book.engine, book.shop.id)
    assert act(book, ignore_payment, done.payment_id, "owner:1").ok
    after = snapshot(book.engine, book.shop.id)
    assert after["invoices"]["INV-0001"] == ("2500.00", "open")
    assert after["payments"]["TXIGN0001"][0] == "ignored" and after["allocations"] == []
    assert act(book, undo_last, "owner:1").ok
    assert snapshot(book.engine, book.shop.id) == before


def test_match_by_hand_overpayment_and_refusals(book):
    done = pay(book, "TXHAND001", "8000.00", "", STRANGER, "PAUL X")
    assert act(book, match_by_hand, "TXHAND001", ["INV-0003"], "owner:1").ok
    state = snapshot(book.engine, book.shop.id)
    assert state["credits"]["John Otieno"] == "1000.00" and state["invoices"]["INV-0003"] == ("0.00", "paid")
    assert not act(book, match_by_hand, "TXNOPE", ["INV-0003"], "o").ok
    assert not act(book, match_by_hand, "TXHAND001", ["INV-9999"], "o").ok
    assert not act(book, match_by_hand, "TXHAND001", ["INV-0001"], "o", [Decimal("9000")]).ok
    assert not act(book, confirm_suggestion, done.payment_id, 7, "o").ok
    assert act(book, match_by_hand, "txhand001", ["inv 1"], "o").ok is False  # `inv 1` names no invoice key


def test_one_payment_split_between_two_customers_and_undone(book):
    """A parent's one payment for two pupils: Mary's and John's invoices, the rest Mary's credit; undo restores."""
    pay(book, "TXSPLIT01", "4000.00", "", STRANGER, "PAUL X")
    before = snapshot(book.engine, book.shop.id)
    done = act(book, match_by_hand, "TXSPLIT01", ["INV-0002", "INV-0003"], "owner:1",
               [Decimal("1000.00"), Decimal("2500.00")])
    assert done.ok, done.message
    state = snapshot(book.engine, book.shop.id)
    assert state["invoices"]["INV-0002"] == ("0.00", "paid") and state["invoices"]["INV-0003"] == ("4500.00", "partial")
    assert state["credits"]["Mary Wanjiku Kamau"] == "500.00"
    assert sorted(a[2] for a in state["allocations"]) == ["1000.00", "2500.00"]
    learned = {a[2] for a in state["aliases"] if a[0] == "phone_hash"}
    assert learned == {book.customers["MARY"], book.customers["JOHN"]}  # the phone now points at both
    assert act(book, undo_last, "owner:1").ok
    assert snapshot(book.engine, book.shop.id) == before


def test_another_business_cannot_touch_a_payment(book):
    done = pay(book, "TXISOL001", "2500.00", "", STRANGER, "JANE DOE")
    other = make_book(book.engine, "600200")
    before = snapshot(book.engine, book.shop.id)
    with unit_of_work(book.engine) as session:
        assert not confirm_suggestion(session, other.shop.id, done.payment_id, 0, "intruder").ok
        assert not match_by_hand(session, other.shop.id, "TXISOL001", ["INV-0001"], "intruder").ok
        assert not ignore_payment(session, other.shop.id, done.payment_id, "intruder").ok
        assert not undo_last(session, other.shop.id, "intruder").ok
    assert act(book, confirm_suggestion, done.payment_id, 0, "owner:1").ok
    with unit_of_work(book.engine) as session:
        assert not undo_last(session, other.shop.id, "intruder").ok
    assert snapshot(book.engine, book.shop.id) != before
    assert act(book, undo_last, "owner:1").ok
    assert snapshot(book.engine, book.shop.id) == before


def test_invoice_numbers_follow_the_business_sequence(book):
    with unit_of_work(book.engine) as session:
        assert next_invoice_number(session, book.shop.id) == "INV-0005"
        made = create_invoice(session, book.shop.id, book.customers["MARY"], Decimal("10"), book_day(), number="X-7")
        again = create_invoice(session, book.shop.id, book.customers["MARY"], Decimal("10"), book_day())
        refused = create_invoice(session, book.shop.id, book.customers["MARY"], Decimal("10"), book_day(),
                                 number="INV-0006")
        found = find_customers(session, book.shop.id, "0712345678")
    assert made.ok and again.number == "INV-0006" and not refused.ok
    assert [c.name for c in found] == ["Mary Wanjiku Kamau"]


def book_day():
    from datetime import date

    return date(2026, 10, 1)
