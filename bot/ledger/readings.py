"""Reading an amount against one customer's open invoices: which invoices did the payer mean?

Once the customer is known the amount usually tells the rest: it equals one open balance, or clears the
oldest few exactly, or is one invoice plus a little extra, or is a part payment of the oldest.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Protocol

from bot.ledger.allocation import Settlement, allocate, allocate_named_first
from bot.ledger.book import OpenInvoice
from bot.ledger.money import ZERO, format_kes


class MatchSettings(Protocol):
    """The one threshold a reading needs (bot.ledger.matching.MatchSettings has it): a protocol, so readings
    does not import matching, which imports readings."""

    @property
    def small_overpay_percent(self) -> Decimal: ...


@dataclass(frozen=True, slots=True)
class Reading:
    """One interpretation of the amount; `exact` when it equals an open balance (the safest reading)."""

    settlement: Settlement
    reason: str
    exact: bool


def read_amount(amount: Decimal, invoices: Sequence[OpenInvoice], settings: MatchSettings) -> Reading | None:
    """The single best reading of `amount` over `invoices` (oldest first), or None when two invoices
    have that same balance and nothing says which one."""
    equal = [i for i in invoices if i.open_balance == amount]
    if len(equal) > 1:  # two invoices of the same balance: the owner picks
        return None
    if equal:
        return Reading(allocate(amount, equal), "amount equals the open balance", True)
    if not invoices:
        return None
    close = close_below(amount, invoices, settings)
    if len(close) > 1:
        return None
    return _clears_oldest(amount, invoices) or _small_overpay(amount, close) or _oldest_first(amount, invoices)


def _clears_oldest(amount: Decimal, invoices: Sequence[OpenInvoice]) -> Reading | None:
    running = ZERO
    for count, invoice in enumerate(invoices, start=1):
        running += invoice.open_balance
        if running == amount:
            return Reading(allocate(amount, invoices[:count]), f"amount clears the oldest {count} invoices", False)
        if running > amount:
            return None
    return None


def close_below(amount: Decimal, invoices: Sequence[OpenInvoice], settings: MatchSettings) -> list[OpenInvoice]:
    """Invoices the amount overpays by a little (a tip, rounding up): each a reading of its own."""
    tolerance = settings.small_overpay_percent / 100
    return [i for i in invoices if ZERO < amount - i.open_balance <= i.open_balance * tolerance]


def _small_overpay(amount: Decimal, close: Sequence[OpenInvoice]) -> Reading | None:
    if len(close) != 1:
        return None
    extra = amount - close[0].open_balance
    return Reading(allocate_named_first(amount, close[0], ()), f"{close[0].number} plus {format_kes(extra)} credit",
                   False)


def _oldest_first(amount: Decimal, invoices: Sequence[OpenInvoice]) -> Reading | None:
    """Part of the oldest invoice, or everything with the rest as credit. Anything between (whole
    invoices and part of another, or credit while invoices stay open) has several readings: None."""
    if amount < invoices[0].open_balance:
        return Reading(allocate(amount, invoices[:1]), f"part payment of the oldest invoice {invoices[0].number}",
                       False)
    settled = allocate(amount, invoices)
    if settled.credit > ZERO:
        return Reading(settled, f"clears all open invoices, {format_kes(settled.credit)} credit", False)
    return None
