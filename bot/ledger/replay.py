"""Applying, confirming and undoing settlements as changes to the book, the same way live and in replay.

The engine proposes; an owner confirms the true settlement. `confirm` turns "what the engine applied"
and "what the owner says" into the list of book changes (undo the engine's when they differ, then apply
the owner's), plus the aliases learned. The storage layer applies the same change values with SQL.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from bot.ledger.allocation import Settlement
from bot.ledger.book import Alias, Customer
from bot.ledger.learning import learn_from_confirmation
from bot.ledger.payments import IncomingPayment


@dataclass(frozen=True, slots=True)
class BalanceChange:
    """Add `delta` to an invoice's open balance (negative when a payment is applied)."""

    invoice_id: str
    delta: Decimal


@dataclass(frozen=True, slots=True)
class CreditChange:
    """Add `delta` to a customer's credit."""

    customer_id: str
    delta: Decimal


BookChange = BalanceChange | CreditChange


@dataclass(frozen=True, slots=True)
class Confirmation:
    """Everything an owner's confirmation does: book changes in order, and aliases to remember."""

    changes: tuple[BookChange, ...]
    aliases: tuple[Alias, ...]


def apply_changes(settlement: Settlement) -> tuple[BookChange, ...]:
    """The changes that put a settlement on the book."""
    changes: list[BookChange] = [BalanceChange(a.invoice_id, -a.amount) for a in settlement.allocations]
    if settlement.customer_id is not None and settlement.credit:
        changes.append(CreditChange(settlement.customer_id, settlement.credit))
    return tuple(changes)


def undo_changes(settlement: Settlement) -> tuple[BookChange, ...]:
    """The changes that take a settlement off the book again (exact inverse of apply_changes)."""
    return tuple(_inverse(c) for c in reversed(apply_changes(settlement)))


def _inverse(change: BookChange) -> BookChange:
    if isinstance(change, BalanceChange):
        return BalanceChange(change.invoice_id, -change.delta)
    return CreditChange(change.customer_id, -change.delta)


def confirm(
    payment: IncomingPayment, applied: Settlement | None, truth: Settlement, customers: Sequence[Customer]
) -> Confirmation:
    """The owner confirms `truth` for a payment the engine settled as `applied` (None: nothing applied).
    Same settlement: no change. Otherwise undo the engine's, apply the owner's. Learn the payer for every
    customer the truth pays (a parent's one payment for two pupils teaches the phone both)."""
    changes: tuple[BookChange, ...] = ()
    if applied != truth:
        changes = (undo_changes(applied) if applied is not None else ()) + apply_changes(truth)
    aliases = tuple(a for c in customers for a in learn_from_confirmation(payment, c))
    return Confirmation(changes, aliases)
