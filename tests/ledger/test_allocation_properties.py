"""Invariants of allocation and undo, over generated payments and books (hypothesis)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from bot.ledger.allocation import allocate, allocate_named_first
from bot.ledger.book import OpenInvoice
from bot.ledger.memory_book import InMemoryBook
from bot.ledger.replay import apply_changes, undo_changes

cents = st.integers(min_value=1, max_value=5_000_000).map(lambda c: Decimal(c).scaleb(-2))
balances = st.lists(cents, min_size=1, max_size=6)


def invoices(values: list[Decimal]) -> list[OpenInvoice]:
    return [OpenInvoice(f"I{n}", f"INV-{n:04d}", "C1", v, v, date(2026, 9, 1 + n), date(2026, 9, 8 + n))
            for n, v in enumerate(values)]


@given(cents, balances)
def test_oldest_first_never_over_allocates(amount: Decimal, values: list[Decimal]) -> None:
    open_ = invoices(values)
    settled = allocate(amount, open_)
    by_id = {i.id: i for i in open_}
    assert all(Decimal(0) < a.amount <= by_id[a.invoice_id].open_balance for a in settled.allocations)
    assert settled.applied <= amount
    assert settled.applied + settled.credit == amount
    assert settled.credit >= 0


@given(cents, balances)
def test_named_first_never_over_allocates(amount: Decimal, values: list[Decimal]) -> None:
    open_ = invoices(values)
    settled = allocate_named_first(amount, open_[-1], open_)
    by_id = {i.id: i for i in open_}
    assert all(Decimal(0) < a.amount <= by_id[a.invoice_id].open_balance for a in settled.allocations)
    assert len({a.invoice_id for a in settled.allocations}) == len(settled.allocations)
    assert settled.applied + settled.credit == amount and settled.credit >= 0


@given(cents, balances)
def test_undo_restores_the_book_exactly(amount: Decimal, values: list[Decimal]) -> None:
    book = InMemoryBook()
    open_ = invoices(values)
    for inv in open_:
        book.add_invoice(inv)
    before = book.snapshot()
    settled = allocate(amount, open_)
    book.apply(apply_changes(settled))
    assert all(book.invoice(i.id).open_balance >= 0 for i in open_)
    book.apply(undo_changes(settled))
    assert book.snapshot() == before
