"""Reading an amount against one customer's open invoices: which invoices did the payer mean?

Once the customer is known the amount usually tells the rest: it equals one open balance, or clears the
oldest few exactly, or is one invoice plus a little extra, or is a part payment of the oldest.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from itertools import combinations
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
    have that same balance and nothing says which one. The owners' practice (dataset README, and what
    a bookkeeper does): an amount equal to one open invoice pays it; an exact sum of two or three open
    invoices pays those (a disputed one in between is skipped), and beats both a small overpayment and
    oldest-first; anything else pays the oldest first."""
    equal = [i for i in invoices if i.open_balance == amount]
    if len(equal) > 1:  # two invoices of the same balance: the owner picks
        return None
    if equal:
        return Reading(allocate(amount, equal), "amount equals the open balance", True)
    if not invoices:
        return None
    sums = exact_sums(amount, invoices)
    if len(sums) == 1:
        return Reading(allocate(amount, sums[0]), f"amount is the sum of {len(sums[0])} open invoices", True)
    if sums:
        return None
    close = close_below(amount, invoices, settings)
    if len(close) > 1:
        return None
    return _small_overpay(amount, close, invoices) or _oldest_first(amount, invoices)


SUM_SEARCH = 24  # the oldest open invoices an exact sum is looked for among (2 of 24: 276 pairs, 3: 2,024)


def exact_sums(amount: Decimal, invoices: Sequence[OpenInvoice], most: int = 3) -> list[list[OpenInvoice]]:
    """Sets of two or three open invoices (oldest first) whose balances add up to `amount` exactly; the
    smallest sets only (two before three). At most a few are returned: more means nothing is pinned."""
    pool = [i for i in invoices[:SUM_SEARCH] if ZERO < i.open_balance < amount]
    for size in range(2, most + 1):
        found = [list(c) for c in combinations(pool, size) if sum(i.open_balance for i in c) == amount]
        if found:
            return found[:4]
    return []


def close_below(amount: Decimal, invoices: Sequence[OpenInvoice], settings: MatchSettings) -> list[OpenInvoice]:
    """Invoices the amount overpays by a little (a tip, rounding up): each a reading of its own."""
    tolerance = settings.small_overpay_percent / 100
    return [i for i in invoices if ZERO < amount - i.open_balance <= i.open_balance * tolerance]


def _small_overpay(amount: Decimal, close: Sequence[OpenInvoice], invoices: Sequence[OpenInvoice]) -> Reading | None:
    """A little over one invoice: a tip or rounding up (credit) when the extra is a small part of the next
    open invoice; when it is most of it (rent and part of the water bill) it goes on to that invoice."""
    if len(close) != 1:
        return None
    extra = amount - close[0].open_balance
    later = [i for i in invoices if i.id != close[0].id]
    if later and extra * 4 >= later[0].open_balance:
        return Reading(allocate(amount, [close[0], later[0]]), f"{close[0].number} and part of {later[0].number}",
                       False)
    return Reading(allocate_named_first(amount, close[0], ()), f"{close[0].number} plus {format_kes(extra)} credit",
                   False)


def _oldest_first(amount: Decimal, invoices: Sequence[OpenInvoice]) -> Reading:
    """The practice when the amount pins nothing (QuickBooks' and Navari's): the oldest open invoices
    first, each in full while the money lasts, then part of the next; what is left is credit. A little over
    one invoice is not a tip when another invoice is open: it goes on to that one."""
    settled = allocate(amount, invoices)
    if len(settled.allocations) == 1 and amount < invoices[0].open_balance:
        return Reading(settled, f"part payment of the oldest invoice {invoices[0].number}", False)
    if settled.credit > ZERO:
        return Reading(settled, f"clears all open invoices, {format_kes(settled.credit)} credit", False)
    return Reading(settled, f"oldest first over {len(settled.allocations)} invoices", False)
