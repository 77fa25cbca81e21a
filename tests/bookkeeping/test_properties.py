"""Invariants of the stored book under random payments and owner choices (hypothesis, real databases):
allocations never exceed the payment or an invoice's open balance, allocations plus credit equal the
payment, undo restores the book exactly, and replaying the same callbacks twice changes nothing."""

from __future__ import annotations

import itertools
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlmodel import Session, select

from bot.bookkeeping.actions import match_by_hand, undo_last
from bot.storage.db import make_engine, unit_of_work
from bot.storage.tables import AllocationRow, InvoiceRow, PaymentRow
from tests.bookkeeping.book_support import STRANGER, make_book, process, receive, snapshot

_shortcodes = itertools.count(700000)
INVOICES = ["INV-0001", "INV-0002", "INV-0003", "INV-0004"]
AMOUNTS = st.integers(min_value=1, max_value=1_200_000).map(lambda c: Decimal(c) / 100)
PAYMENTS = st.lists(st.tuples(AMOUNTS, st.sampled_from(["", "INV-0001", "INV-0003", "b12", "0002", "ADM4521"]),
                              st.lists(st.sampled_from(INVOICES), min_size=1, max_size=2, unique=True)),
                    min_size=1, max_size=4)


@pytest.fixture
def engine(db_url):
    engine = make_engine(db_url)
    yield engine
    engine.dispose()


def check_invariants(engine, business_id: int) -> None:
    with Session(engine) as session:
        invoices = {i.id: i for i in session.scalars(select(InvoiceRow).where(InvoiceRow.business_id == business_id))}
        for payment in session.scalars(select(PaymentRow).where(PaymentRow.business_id == business_id)):
            allocs = list(session.scalars(select(AllocationRow).where(AllocationRow.payment_id == payment.id)))
            applied = sum((a.amount for a in allocs), Decimal(0))
            assert all(a.amount > 0 for a in allocs)
            assert applied <= payment.amount
            if payment.customer_id is not None:
                assert applied + payment.credit == payment.amount
            else:
                assert not allocs and payment.credit == 0
        for invoice in invoices.values():
            paid = sum((a.amount for a in session.scalars(
                select(AllocationRow).where(AllocationRow.invoice_id == invoice.id))), Decimal(0))
            assert 0 <= invoice.open_balance == invoice.amount - paid


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(payments=PAYMENTS)
def test_the_book_stays_consistent_and_undo_is_exact(engine, payments):
    book = make_book(engine, str(next(_shortcodes)))
    for n, (amount, ref, chosen) in enumerate(payments):
        payment_id = receive(book, f"TXP{n:07d}", f"{amount:.2f}", ref, STRANGER)
        assert payment_id is not None
        process(book, payment_id)
        check_invariants(engine, book.shop.id)
        before = snapshot(engine, book.shop.id)
        with unit_of_work(engine) as session:
            result = match_by_hand(session, book.shop.id, f"TXP{n:07d}", chosen, "owner")
        check_invariants(engine, book.shop.id)
        if result.ok:
            with unit_of_work(engine) as session:
                assert undo_last(session, book.shop.id, "owner").ok
            assert snapshot(engine, book.shop.id) == before
            with unit_of_work(engine) as session:
                match_by_hand(session, book.shop.id, f"TXP{n:07d}", chosen, "owner")
    # the same callbacks again: duplicates, nothing processed, nothing changed
    state = snapshot(engine, book.shop.id)
    for n, (amount, ref, _chosen) in enumerate(payments):
        assert receive(book, f"TXP{n:07d}", f"{amount:.2f}", ref, STRANGER) is None
    assert snapshot(engine, book.shop.id) == state
