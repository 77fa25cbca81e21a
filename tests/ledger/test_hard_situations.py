"""Table-driven tests of the situations of the hard set: families, shops, tenants; and the invariants of any
decision (hypothesis), multi-customer splits included."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.ledger.book import Alias, AliasKind, Customer, OpenInvoice
from bot.ledger.matching import DecisionKind, match_payment
from bot.ledger.memory_book import InMemoryBook
from bot.ledger.money import quantize
from bot.ledger.payments import IncomingPayment, PaymentSource
from bot.ledger.phones import phone_sha256, read_msisdn
from bot.ledger.references import number_groups
from bot.ledger.replay import apply_changes, undo_changes

PARENT = "254711000001"
KELVIN = Customer("K", "Kelvin Wanjiku Kamau", "ADM5050", (PARENT,))  # one parent's phone on both pupils
EMMA = Customer("E", "Emmanuel Kamau", "ADM6609", (PARENT,))
BARAKA = Customer("B", "Baraka Hardware")  # a shop registered without a phone
TENANT_B12 = Customer("T1", "Agnes Maina", "B12")
TENANT_A7 = Customer("T2", "Antony Onyango", "A7")
MOVED = Customer("T3", "Eunice Musyoka", "C4")  # lived in A7 before
STRANGER = phone_sha256("254799999999")


def inv(number: str, customer: str, amount: str, day: int, month: int = 9) -> OpenInvoice:
    return OpenInvoice(number, number, customer, Decimal(amount), Decimal(amount), date(2026, month, day),
                       date(2026, month, day + 7))


def book() -> InMemoryBook:
    b = InMemoryBook([KELVIN, EMMA, BARAKA, TENANT_B12, TENANT_A7, MOVED])
    for i in (inv("FEE-0001", "K", "17600.00", 1), inv("FEE-0002", "E", "12500.00", 1),
              inv("FEE-0003", "K", "2800.00", 2), inv("FEE-0004", "E", "2800.00", 2),
              inv("INV-0023", "B", "14110.00", 3), inv("INV-0024", "B", "9390.00", 4),
              inv("INV-0031", "B", "7000.00", 5), inv("INV-0040", "B", "3300.00", 6),
              inv("RENT-012", "T1", "9500.00", 1), inv("WTR-012", "T1", "650.00", 5),
              inv("RENT-007", "T2", "6500.00", 1), inv("RENT-044", "T3", "10500.00", 1)):
        b.add_invoice(i)
    return b


def pay(amount: str, reference: str = "", msisdn: str = STRANGER, name: str = "JANE DOE") -> IncomingPayment:
    return IncomingPayment("TX1", quantize(Decimal(amount)), datetime(2026, 9, 20, 10, tzinfo=UTC), "600000",
                           reference, name, read_msisdn(msisdn), PaymentSource.C2B)


@pytest.mark.parametrize(
    ("text", "groups"),
    [("inv 23 24", [("INV", "23"), ("INV", "24")]), ("INV-0023/24", [("INV", "0023"), ("INV", "0024")]),
     ("for INV-0023 and 24", [("INV", "0023"), ("INV", "0024")]),
     ("INV-0134/46/66", [("INV", "0134"), ("INV", "0146"), ("INV", "0166")]),
     ("adm 9454 and 2822", [("ADM", "9454"), ("ADM", "2822")]), ("oct rent b11", [("B", "11")]),
     ("C10 2 months", [("C", "10"), ("", "2")]), ("1 2 3 4 5 6 7", [])],
)
def test_number_groups(text: str, groups: list[tuple[str, str]]) -> None:
    assert number_groups(text) == groups


@pytest.mark.parametrize(
    ("payment", "allocations"),
    [
        # several invoices named in one reference, however typed
        (pay("23500", "inv 23 24"), [("INV-0023", "14110.00"), ("INV-0024", "9390.00")]),
        (pay("23500", "INV-0023/24"), [("INV-0023", "14110.00"), ("INV-0024", "9390.00")]),
        (pay("23500", "for INV-0023 and 24"), [("INV-0023", "14110.00"), ("INV-0024", "9390.00")]),
        (pay("21110", "inv 23&31"), [("INV-0023", "14110.00"), ("INV-0031", "7000.00")]),  # not the oldest two
        # two pupils' admission numbers: one invoice of each
        (pay("30100", "ADM5050/6609"), [("FEE-0001", "17600.00"), ("FEE-0002", "12500.00")]),
        (pay("5600", "adm 5050 and 6609"), [("FEE-0003", "2800.00"), ("FEE-0004", "2800.00")]),
        # an exact sum of the customer's invoices beats oldest first (a disputed one skipped)
        (pay("10300", "Baraka Hardware"), [("INV-0031", "7000.00"), ("INV-0040", "3300.00")]),
        # a house number inside the text; rent with part of the water bill
        (pay("9500", "oct rent b12"), [("RENT-012", "9500.00")]),
        (pay("10000", "hse B12"), [("RENT-012", "9500.00"), ("WTR-012", "500.00")]),
    ],
)
def test_applied(payment: IncomingPayment, allocations: list[tuple[str, str]]) -> None:
    decision = match_payment(payment, book())
    assert decision.kind is DecisionKind.AUTO, decision.reasons
    assert sorted((a.number, str(a.amount)) for a in decision.allocations) == sorted(allocations)


@pytest.mark.parametrize(
    ("payment", "first_choice"),
    [
        # a shared phone narrows to its customers, it does not pick one
        (pay("2800", "", phone_sha256(PARENT)), {"FEE-0003"}),
        # the tenant who moved types the old house: the amount is exactly their own rent
        (pay("10500", "A 7", STRANGER, "EUNICE MUSYOKA"), {"RENT-044"}),
    ],
)
def test_asked(payment: IncomingPayment, first_choice: set[str]) -> None:
    decision = match_payment(payment, book())
    assert decision.kind is DecisionKind.SUGGEST, decision.reasons
    assert first_choice in [set(a.number for a in s.allocations) for s in decision.suggestions[:3]]


def test_books_and_uniforms_are_asked_about_not_applied() -> None:
    b = book()
    b.add_alias(Alias(AliasKind.PHONE_HASH, STRANGER, "T1"))
    assert match_payment(pay("3000", "hse B12"), b).kind is DecisionKind.AUTO  # a part payment of the rent
    assert match_payment(pay("3000", "B12 deposit"), b).kind is DecisionKind.SUGGEST


def test_a_learned_phone_is_a_hint_for_part_payments() -> None:
    b = book()
    b.add_alias(Alias(AliasKind.PHONE_HASH, STRANGER, "B"))  # the shop's staff paid from this phone once
    assert match_payment(pay("3300", ""), b).kind is DecisionKind.AUTO  # equals one open invoice
    assert match_payment(pay("5000", ""), b).kind is DecisionKind.SUGGEST  # pins nothing: ask


# invariants of whatever the engine decides ------------------------------------------------------------
cents = st.integers(min_value=1, max_value=3_000_000).map(lambda c: Decimal(c).scaleb(-2))
references = st.sampled_from(["", "inv 1 2", "INV-0001/3", "ADM5050/6609", "adm 5050 and 6609", "B12", "books",
                              "INV-0002", "Baraka", "1 2 3"])
payers = st.sampled_from([STRANGER, phone_sha256(PARENT)])


@settings(max_examples=150, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["K", "E", "B", "T1"]), cents), min_size=1, max_size=8), cents, references,
       payers)
def test_decisions_keep_the_invariants(invoices: list[tuple[str, Decimal]], amount: Decimal, reference: str,
                                       payer: str) -> None:
    b = InMemoryBook([KELVIN, EMMA, BARAKA, TENANT_B12])
    made = [OpenInvoice(f"I{n}", f"INV-{n:04d}", c, v, v, date(2026, 9, 1 + n), date(2026, 9, 8 + n))
            for n, (c, v) in enumerate(invoices, start=1)]
    for i in made:
        b.add_invoice(i)
    before = b.snapshot()
    decision = match_payment(pay(str(amount), reference, payer), b)
    for settlement in [*([decision.settlement] if decision.settlement else []), *decision.suggestions]:
        by_id = {i.id: i for i in made}
        assert all(Decimal(0) < a.amount <= by_id[a.invoice_id].open_balance for a in settlement.allocations)
        assert len({a.invoice_id for a in settlement.allocations}) == len(settlement.allocations)
        assert settlement.applied + settlement.credit == amount and settlement.credit >= 0
        b.apply(apply_changes(settlement))
        assert all(b.invoice(i.id).open_balance >= 0 for i in made)
        b.apply(undo_changes(settlement))
        assert b.snapshot() == before
