"""Allocating a payment to invoices: how much each invoice gets and what is left as credit.

Invariants (tested with hypothesis): no allocation exceeds the payment or the invoice's open balance,
allocations plus credit equal the payment, and undoing a settlement restores the book exactly.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from bot.ledger.book import OpenInvoice
from bot.ledger.money import ZERO


@dataclass(frozen=True, slots=True)
class Allocation:
    """Part of a payment applied to one invoice."""

    invoice_id: str
    number: str
    amount: Decimal


@dataclass(frozen=True, slots=True)
class Settlement:
    """What a payment does to the book: allocations, and the rest kept as the customer's credit.

    `customer_id` is None only for a payment that belongs to nobody (a walk-in): then the payment
    stays unapplied and `credit` is zero."""

    customer_id: str | None
    allocations: tuple[Allocation, ...]
    credit: Decimal

    @property
    def applied(self) -> Decimal:
        return sum((a.amount for a in self.allocations), ZERO)

    def invoice_numbers(self) -> frozenset[str]:
        return frozenset(a.number for a in self.allocations)


UNAPPLIED = Settlement(None, (), ZERO)


def allocate(amount: Decimal, invoices: Sequence[OpenInvoice], customer_id: str | None = None) -> Settlement:
    """Apply `amount` to `invoices` in the given order (callers pass oldest first), each up to its open
    balance; what is left becomes credit of the invoices' customer (or `customer_id`)."""
    remaining = amount
    allocations: list[Allocation] = []
    for invoice in invoices:
        if remaining <= ZERO:
            break
        share = min(remaining, invoice.open_balance)
        if share > ZERO:
            allocations.append(Allocation(invoice.id, invoice.number, share))
            remaining -= share
    owner = customer_id if customer_id is not None else (invoices[0].customer_id if invoices else None)
    if owner is None:
        return UNAPPLIED
    return Settlement(owner, tuple(allocations), remaining)


def allocate_named_first(amount: Decimal, named: OpenInvoice, others: Sequence[OpenInvoice]) -> Settlement:
    """The named invoice first; what is left clears other invoices (oldest first) only where it pays them
    in full, and the rest is credit. A payer who overpays by 50 meant a tip or rounding, not a part
    payment of the next invoice."""
    first = min(amount, named.open_balance)
    remaining = amount - first
    allocations = [Allocation(named.id, named.number, first)] if first > ZERO else []
    for invoice in others:
        if ZERO < invoice.open_balance <= remaining and invoice.id != named.id:
            allocations.append(Allocation(invoice.id, invoice.number, invoice.open_balance))
            remaining -= invoice.open_balance
    return Settlement(named.customer_id, tuple(allocations), remaining)


def allocate_exact(amount: Decimal, chosen: Sequence[tuple[OpenInvoice, Decimal]]) -> Settlement | None:
    """Settle with amounts an owner chose. None when the choice breaks an invariant (an allocation above
    the invoice's open balance or not positive, or more allocated than paid)."""
    allocations: list[Allocation] = []
    for invoice, share in chosen:
        if share <= ZERO or share > invoice.open_balance:
            return None
        allocations.append(Allocation(invoice.id, invoice.number, share))
    total = sum((a.amount for a in allocations), ZERO)
    if total > amount:
        return None
    if not chosen:
        return UNAPPLIED
    return Settlement(chosen[0][0].customer_id, tuple(allocations), amount - total)
