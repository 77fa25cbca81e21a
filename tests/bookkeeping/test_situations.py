"""Table-driven matching situations through storage: a C2B confirmation stored as live, then processed."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select
from sqlmodel import Session

from bot.storage.db import make_engine
from bot.storage.tables import CustomerRow, InvoiceRow, MatchDecisionRow, OutboxRow
from tests.bookkeeping.book_support import GRACE_PHONE, JOHN_PHONE, MARY_PHONE, STRANGER, allocations, make_book, pay

SITUATIONS = [
    # (name, amount, reference, phone, payer, decision, allocations, status)
    ("exact invoice reference", "2500.00", "INV-0001", STRANGER, "JANE DOE", "auto", [("INV-0001", "2500.00")],
     "matched"),
    ("mangled reference", "2500.00", " #inv 0OO1", STRANGER, "JANE DOE", "auto", [("INV-0001", "2500.00")],
     "matched"),
    ("account code", "7000.00", "b12", STRANGER, "JANE DOE", "auto", [("INV-0003", "7000.00")], "matched"),
    ("phone hash, no reference", "3300.00", "", GRACE_PHONE, "GRACE ACHIENG", "auto", [("INV-0004", "3300.00")],
     "matched"),
    ("partial payment", "1000.00", "INV-0001", STRANGER, "JANE DOE", "auto", [("INV-0001", "1000.00")], "matched"),
    ("split across invoices", "3500.00", "INV-0001", MARY_PHONE, "MARY KAMAU", "auto",
     [("INV-0001", "2500.00"), ("INV-0002", "1000.00")], "matched"),
    ("unknown payer, no reference: never auto", "2500.00", "", STRANGER, "JANE DOE", "suggest", [], "suggested"),
    ("walk-in stays unmatched", "437.00", "", STRANGER, "PETER NJOROGE", "none", [], "unmatched"),
]


@pytest.mark.parametrize(("name", "amount", "ref", "phone", "payer", "kind", "allocs", "status"), SITUATIONS,
                         ids=[s[0] for s in SITUATIONS])
def test_situation(db_url, name, amount, ref, phone, payer, kind, allocs, status):
    engine = make_engine(db_url)
    book = make_book(engine)
    done = pay(book, "TX0000001", amount, ref, phone, payer)
    assert (done.decision.kind.value, allocations(done), done.status) == (kind, allocs, status), done.decision.reasons
    with Session(engine) as session:
        decision = session.scalars(select(MatchDecisionRow)).one()
        assert decision.kind == kind and (kind != "auto" or decision.reasons != "[]")
        assert session.execute(select(func.count()).select_from(OutboxRow)).scalar_one() == 1
    engine.dispose()


def test_overpayment_becomes_credit_and_balances_follow(db_url):
    engine = make_engine(db_url)
    book = make_book(engine)
    done = pay(book, "TX0000002", "7500.00", "INV-0003", JOHN_PHONE, "JOHN OTIENO")
    assert allocations(done) == [("INV-0003", "7000.00")]
    with Session(engine) as session:
        john = session.get(CustomerRow, book.customers["JOHN"])
        invoice = session.scalars(select(InvoiceRow).where(InvoiceRow.number == "INV-0003")).one()
        assert john is not None and str(john.credit) == "500.00"
        assert (str(invoice.open_balance), invoice.status) == ("0.00", "paid")
    partial = pay(book, "TX0000003", "1000.00", "INV-0001")
    assert partial.status == "matched"
    with Session(engine) as session:
        first = session.scalars(select(InvoiceRow).where(InvoiceRow.number == "INV-0001")).one()
        assert (str(first.open_balance), first.status) == ("1500.00", "partial")
    engine.dispose()


def test_till_payment_with_no_reference_is_matched_by_phone(db_url):
    engine = make_engine(db_url)
    book = make_book(engine, "5600100", till=True)
    done = pay(book, "TX0000004", "1000.00", "", MARY_PHONE, "MARY KAMAU")
    assert done.decision.kind.value in ("auto", "suggest")
    assert done.decision.kind.value != "auto" or allocations(done)[0][0].startswith("INV-000")
    engine.dispose()
