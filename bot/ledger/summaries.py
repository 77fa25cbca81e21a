"""Summaries as values: periods in a business's local time, when a scheduled summary is due, and the
figures a summary shows (built from aggregates the storage layer computed in SQL).

Periods are half-open `[start, end)` in local dates; `period_bounds` turns them into aware instants
(local midnight to local midnight), so a day with a DST change is still exactly one local day.
No clock here: `now` and the zone are always arguments.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from bot.ledger.money import ZERO, quantize

DEFAULT_SUMMARY_TIME = time(20, 0)
DEFAULT_DIGEST_TIME = time(7, 0)
CHART_DAYS = 14
_CLOCK = re.compile(r"^(\d{1,2})(?:[:.h](\d{2}))?\s*(am|pm)?$")


@dataclass(frozen=True, slots=True)
class Period:
    """Local dates, half-open: `Period(d, d + 1 day)` is the day d."""

    start: date
    end: date

    @classmethod
    def day(cls, day: date) -> Period:
        return cls(day, day + timedelta(days=1))

    @property
    def days(self) -> int:
        return (self.end - self.start).days

    @property
    def last_day(self) -> date:
        return self.end - timedelta(days=1)


@dataclass(frozen=True, slots=True)
class DayTotal:
    day: date
    total: Decimal
    count: int


@dataclass(frozen=True, slots=True)
class PayerTotal:
    name: str
    total: Decimal
    count: int


@dataclass(frozen=True, slots=True)
class InvoiceTotal:
    """How many invoices and what is still open on them."""

    count: int
    total: Decimal


@dataclass(frozen=True, slots=True)
class PaymentFigures:
    """The period's payments, aggregated in SQL."""

    count: int
    total: Decimal
    auto_count: int  # matched by the engine, no one had to look
    auto_total: Decimal
    matched_count: int  # matched at all (automatically or by the owner)
    matched_total: Decimal
    needs_owner_count: int  # unmatched or waiting for a suggestion to be confirmed
    needs_owner_total: Decimal


@dataclass(frozen=True, slots=True)
class Comparison:
    previous_day: Decimal  # the day before the summary's last day
    average_7: Decimal  # mean of the 7 days before the summary's last day


@dataclass(frozen=True, slots=True)
class SummaryFigures:
    period: Period
    payments: PaymentFigures
    partial: InvoiceTotal  # invoices paid in part (short-paid): what is still due on them
    overdue: InvoiceTotal  # open past their due date as of the period's last day
    due_today: InvoiceTotal
    top_payers: tuple[PayerTotal, ...]
    series: tuple[DayTotal, ...]  # CHART_DAYS days ending on the period's last day, zeros filled
    comparison: Comparison


# --- periods -----------------------------------------------------------------------------------------


def period_bounds(period: Period, tz: ZoneInfo) -> tuple[datetime, datetime]:
    """Aware instants `[local midnight of start, local midnight of end)`."""
    return (datetime.combine(period.start, time.min, tzinfo=tz), datetime.combine(period.end, time.min, tzinfo=tz))


def day_bounds(first: date, days: int, tz: ZoneInfo) -> list[datetime]:
    """`days + 1` local midnights from `first`: the edges of `days` consecutive local days."""
    return [datetime.combine(first + timedelta(days=i), time.min, tzinfo=tz) for i in range(days + 1)]


def chart_window(period: Period, days: int = CHART_DAYS) -> Period:
    """The `days` days ending on the period's last day: what the chart and the comparison read."""
    return Period(period.end - timedelta(days=days), period.end)


def due_day(now: datetime, tz: ZoneInfo, at: time) -> date | None:
    """The local day whose scheduled message is due at `now`: today once the local clock passed `at`.
    A server that was down at `at` and comes back later the same day still finds it due."""
    local = now.astimezone(tz)
    return local.date() if local.time().replace(tzinfo=None) >= at else None


def due_days(now: datetime, tz: ZoneInfo, at: time, since: datetime | None = None) -> list[date]:
    """The local days whose scheduled message is due at `now`: yesterday's as a catch-up (a server down across
    midnight found nothing due when it came back, so that day's summary was lost), then today's once the clock
    passed `at`. Yesterday's only when `since` (the business's start) is before yesterday's `at`. The caller
    skips days already sent, so the catch-up happens once."""
    local = now.astimezone(tz)
    yesterday = local.date() - timedelta(days=1)
    yesterday_at = datetime.combine(yesterday, at, tzinfo=tz)
    days = [yesterday] if since is None or since < yesterday_at else []
    today = due_day(now, tz, at)
    return days + ([today] if today is not None else [])


def read_clock(text: str) -> time | None:
    """`20:30`, `20.30`, `20`, `8pm`, `8:30 pm` -> a time of day; None when it is not one."""
    found = _CLOCK.match(text.strip().lower())
    if found is None:
        return None
    hour, minute, half = int(found.group(1)), int(found.group(2) or 0), found.group(3)
    if half is not None:
        if not 1 <= hour <= 12:
            return None
        hour = hour % 12 + (12 if half == "pm" else 0)
    if not (0 <= hour <= 23 and 0 <= minute <= 59):
        return None
    return time(hour, minute)


# --- figures -----------------------------------------------------------------------------------------


def fill_days(window: Period, found: Sequence[DayTotal]) -> tuple[DayTotal, ...]:
    """One entry per day of the window, zero where nothing came in."""
    by_day = {d.day: d for d in found}
    days = (window.start + timedelta(days=i) for i in range(window.days))
    return tuple(by_day.get(d, DayTotal(d, ZERO, 0)) for d in days)


def compare(series: Sequence[DayTotal], day: date) -> Comparison:
    """The day before `day`, and the mean of the seven days before it (days without payments count as zero)."""
    by_day = {d.day: d.total for d in series}
    previous = by_day.get(day - timedelta(days=1), ZERO)
    week = [by_day.get(day - timedelta(days=i), ZERO) for i in range(1, 8)]
    return Comparison(previous, quantize(sum(week, ZERO) / 7))


def change_text(now: Decimal, before: Decimal) -> str:
    """`+25%`, `-10%`, `same`, `new` (before was zero): how an owner reads a change at a glance."""
    if before == 0:
        return "same" if now == 0 else "new"
    percent = ((now - before) * 100 / before).quantize(Decimal(1))
    if percent == 0:
        return "same"
    return f"+{percent}%" if percent > 0 else f"{percent}%"


def top_payers(rows: Sequence[PayerTotal], limit: int = 3) -> tuple[PayerTotal, ...]:
    """Merge rows naming the same payer, largest total first (ties by name, so the order is stable)."""
    merged: dict[str, PayerTotal] = {}
    for row in rows:
        key = row.name.strip() or "Unknown payer"
        seen = merged.get(key)
        merged[key] = (PayerTotal(key, row.total, row.count) if seen is None
                       else PayerTotal(key, seen.total + row.total, seen.count + row.count))
    ranked = sorted(merged.values(), key=lambda p: (-p.total, p.name))
    return tuple(ranked[:limit])
