"""Table-driven tests of the matching ladder: one small book, one payment per situation."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from bot.ledger.book import AliasKind, Customer, OpenInvoice
from bot.ledger.learning import learn_from_confirmation
from bot.ledger.matching import DecisionKind, match_payment
from bot.ledger.memory_book import InMemoryBook
from bot.ledger.money import quantize
from bot.ledger.payments import IncomingPayment, PaymentSource
from bot.ledger.phones import phone_sha256, read_msisdn
from bot.ledger.references import digits_key, is_filler, name_key, reference_key

MARY = Customer("C1", "Mary Wanjiku Kamau", "ADM4521", ("254712345678",))
JOHN = Customer("C2", "John Otieno", "B12", ("254722000126",))
GRACE = Customer("C3", "Grace Achieng", None, ("254733000999",))


def invoice(number: str, customer: str, amount: str, day: int, balance: str | None = None) -> OpenInvoice:
    return OpenInvoice(number, number, customer, Decimal(amount), Decimal(balance or amount),
                       date(2026, 9, day), date(2026, 9, day + 7))


def book() -> InMemoryBook:
    b = InMemoryBook([MARY, JOHN, GRACE])
    for inv in (invoice("INV-0042", "C1", "2500.00", 1), invoice("INV-0043", "C1", "1000.00", 2),
                invoice("INV-0050", "C2", "7000.00", 3), invoice("INV-0051", "C3", "3300.00", 4)):
        b.add_invoice(inv)
    return b


def pay(amount: str, reference: str = "", msisdn: str = "", name: str = "") -> IncomingPayment:
    return IncomingPayment("TX1", quantize(Decimal(amount)), datetime(2026, 9, 20, 10, tzinfo=UTC), "600000", reference,
                           name, read_msisdn(msisdn), PaymentSource.C2B)


UNKNOWN = phone_sha256("254799999999")


@pytest.mark.parametrize(
    ("payment", "kind", "allocations"),
    [
        # the reference typed every which way
        (pay("2500", "INV-0042", UNKNOWN), "auto", [("INV-0042", "2500.00")]),
        (pay("2500", " #inv 0042", UNKNOWN), "auto", [("INV-0042", "2500.00")]),
        (pay("2500", "INVOO42", UNKNOWN), "auto", [("INV-0042", "2500.00")]),
        (pay("2500", "0042", UNKNOWN), "auto", [("INV-0042", "2500.00")]),
        (pay("2500", "INV-00042", UNKNOWN), "auto", [("INV-0042", "2500.00")]),
        # partial and over payments on a named invoice
        (pay("1000", "INV-0042", UNKNOWN), "auto", [("INV-0042", "1000.00")]),
        (pay("2600", "INV-0042", UNKNOWN), "auto", [("INV-0042", "2500.00")]),
        (pay("3500", "INV-0042", UNKNOWN), "auto", [("INV-0042", "2500.00"), ("INV-0043", "1000.00")]),
        # account code, phone or full name instead of an invoice number
        (pay("7000", "b12", UNKNOWN), "auto", [("INV-0050", "7000.00")]),
        (pay("1000", "ADM4521", UNKNOWN), "auto", [("INV-0043", "1000.00")]),
        (pay("3300", "0733 000 999", UNKNOWN), "auto", [("INV-0051", "3300.00")]),
        (pay("3300", "Grace Achieng", UNKNOWN), "auto", [("INV-0051", "3300.00")]),
        # the payer's hashed phone, no reference (a till): equal amount, oldest first, clears all
        (pay("1000", "", phone_sha256("254712345678")), "auto", [("INV-0043", "1000.00")]),
        (pay("3500", "", phone_sha256("254712345678")), "auto", [("INV-0042", "2500.00"), ("INV-0043", "1000.00")]),
        (pay("500", "", phone_sha256("254712345678")), "auto", [("INV-0042", "500.00")]),
        (pay("4000", "", phone_sha256("254712345678")), "auto", [("INV-0042", "2500.00"), ("INV-0043", "1000.00")]),
        # masked phone with the first name agreeing
        (pay("7000", "", "2547 ***** 126", "JOHN"), "auto", [("INV-0050", "7000.00")]),
    ],
)
def test_auto_readings(payment: IncomingPayment, kind: str, allocations: list[tuple[str, str]]) -> None:
    decision = match_payment(payment, book())
    assert decision.kind.value == kind, decision.reasons
    assert sorted((a.number, str(a.amount)) for a in decision.allocations) == sorted(allocations)
    assert decision.reasons


@pytest.mark.parametrize(
    "payment",
    [
        pay("3300", "", UNKNOWN, "PETER MWANGI"),  # walk-in, amount equals an open balance: suggest only
        pay("7000", "", "2547 ***** 126", "PETER"),  # masked phone, first name disagrees
        pay("7000", "John", UNKNOWN, "PETER MWANGI"),  # a first name alone
        pay("7000", "INV-0051", phone_sha256("254722000126")),  # John's phone on Grace's invoice
    ],
)
def test_uncertain_payments_are_suggested_not_applied(payment: IncomingPayment) -> None:
    decision = match_payment(payment, book())
    assert decision.kind is DecisionKind.SUGGEST
    assert decision.settlement is None and decision.suggestions


@pytest.mark.parametrize("reference", ["", "1", "ok", "PAYMENT", "rent", "19"])
def test_walk_in_from_unknown_payer_is_never_applied(reference: str) -> None:
    decision = match_payment(pay("150", reference, UNKNOWN, "SAMUEL WAMBUI"), book())
    assert decision.kind is DecisionKind.NONE
    assert decision.settlement is None


def test_one_slip_needs_the_payer_to_agree() -> None:
    b = book()
    assert match_payment(pay("2500", "INV-0024", UNKNOWN), b).kind is DecisionKind.SUGGEST
    corroborated = match_payment(pay("2500", "INV-0024", phone_sha256("254712345678")), b)
    assert corroborated.kind is DecisionKind.AUTO
    assert [a.number for a in corroborated.allocations] == ["INV-0042"]


def test_learned_alias_recognises_the_payer_next_time() -> None:
    b = book()
    stranger = pay("3300", "", UNKNOWN, "PETER MWANGI")
    assert match_payment(stranger, b).kind is DecisionKind.SUGGEST
    aliases = learn_from_confirmation(stranger, GRACE)
    assert {a.kind for a in aliases} == {AliasKind.PHONE_HASH, AliasKind.PAYER_NAME}
    for alias in aliases:
        b.add_alias(alias)
    again = match_payment(pay("3300", "", UNKNOWN, "PETER MWANGI"), b)
    assert again.kind is DecisionKind.AUTO
    assert "paid for Grace Achieng before" in again.reasons[0]


def test_learning_masked_phone_and_reference() -> None:
    aliases = learn_from_confirmation(pay("10", "Mama Kevin", "2547 ***** 126", "JOHN"), JOHN)
    keys = {(a.kind, a.key) for a in aliases}
    assert (AliasKind.MASKED_PHONE, "2547*126 john") in keys
    assert (AliasKind.REFERENCE, "MAMAKEVIN") in keys


@pytest.mark.parametrize(
    ("func", "text", "key"),
    [(reference_key, " #inv-0042 ", "INV0042"), (reference_key, "FEE/2O26/0O1", "FEE2026001"),
     (digits_key, "INV-0042", "42"), (digits_key, "FEE/2026/014", "2026014"),
     (name_key, "WANJIKU  mary", "mary wanjiku")],
)
def test_keys(func: object, text: str, key: str) -> None:
    assert callable(func) and func(text) == key


def test_filler() -> None:
    assert is_filler("PAYMENT") and is_filler("1") and is_filler("") and not is_filler("B12")


def test_paid_invoice_named_again_points_at_its_customer() -> None:
    b = InMemoryBook([MARY])
    b.add_invoice(invoice("INV-0042", "C1", "2500.00", 1, balance="0.00"))
    b.add_invoice(invoice("INV-0043", "C1", "1000.00", 2))
    decision = match_payment(pay("1000", "INV-0042", UNKNOWN), b)
    assert decision.kind is DecisionKind.AUTO
    assert [a.number for a in decision.allocations] == ["INV-0043"]


def test_overpayment_leaves_credit_to_the_customer() -> None:
    decision = match_payment(pay("4000", "", phone_sha256("254712345678")), book())
    assert decision.settlement is not None
    assert decision.settlement.customer_id == "C1" and decision.settlement.credit == Decimal("500.00")
    assert "credit" in decision.reasons[-1]


def test_confirm_undoes_a_wrong_auto_and_applies_the_truth() -> None:
    from bot.ledger.allocation import allocate
    from bot.ledger.replay import apply_changes, confirm

    b = book()
    payment = pay("1000", "", phone_sha256("254712345678"))
    decision = match_payment(payment, b)
    assert decision.settlement is not None
    b.apply(apply_changes(decision.settlement))
    truth = allocate(payment.amount, [b.invoice("INV-0042")])  # the owner says: part of INV-0042
    confirmation = confirm(payment, decision.settlement, truth, [MARY])
    b.apply(confirmation.changes)
    assert b.invoice("INV-0043").open_balance == Decimal("1000.00")
    assert b.invoice("INV-0042").open_balance == Decimal("1500.00")
    assert confirm(payment, truth, truth, []).changes == ()


def test_a_large_overpayment_on_a_named_invoice_asks_when_another_invoice_is_the_amount_exactly():
    """`INV-0043` paying 3,300 on a 1,000 invoice (2,300 would be credit) while Grace's INV-0051 is 3,300:
    a mistyped reference is likelier than a large overpayment, so both readings are offered, the exact one first."""
    decision = match_payment(pay("3300", "INV-0043", UNKNOWN), book())
    assert decision.kind is DecisionKind.SUGGEST
    assert [sorted(s.invoice_numbers()) for s in decision.suggestions[:2]] == [["INV-0051"], ["INV-0043"]]
    # a small overpayment, or one no other invoice equals, is still applied to the invoice named
    assert match_payment(pay("2600", "INV-0042", UNKNOWN), book()).kind is DecisionKind.AUTO
    assert match_payment(pay("9000", "INV-0043", UNKNOWN), book()).kind is DecisionKind.AUTO
