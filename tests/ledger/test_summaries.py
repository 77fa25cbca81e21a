"""Pure summary logic: local periods, when a scheduled message is due, comparisons, top payers."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from bot.ledger.summaries import (
    DayTotal,
    PayerTotal,
    Period,
    change_text,
    chart_window,
    compare,
    day_bounds,
    due_day,
    fill_days,
    period_bounds,
    read_clock,
    top_payers,
)

NAIROBI = ZoneInfo("Africa/Nairobi")


def test_a_day_is_local_midnight_to_local_midnight():
    start, end = period_bounds(Period.day(date(2026, 11, 27)), NAIROBI)
    assert start.astimezone(UTC) == datetime(2026, 11, 26, 21, 0, tzinfo=UTC)
    assert end.astimezone(UTC) == datetime(2026, 11, 27, 21, 0, tzinfo=UTC)


def test_day_bounds_follow_dst_in_zones_that_have_it():
    edges = day_bounds(date(2026, 3, 28), 2, ZoneInfo("Europe/London"))  # clocks go forward on 29 March
    utc = [e.astimezone(UTC) for e in edges]  # same-zone subtraction is wall-clock: compare instants
    hours = [(b - a).total_seconds() / 3600 for a, b in zip(utc, utc[1:], strict=False)]
    assert hours == [24, 23]


@pytest.mark.parametrize(("utc", "due"), [
    (datetime(2026, 11, 27, 16, 59, tzinfo=UTC), None),  # 19:59 in Nairobi
    (datetime(2026, 11, 27, 17, 0, tzinfo=UTC), date(2026, 11, 27)),  # 20:00 in Nairobi
    (datetime(2026, 11, 27, 20, 59, tzinfo=UTC), date(2026, 11, 27)),  # 23:59: still that day's
    (datetime(2026, 11, 27, 21, 0, tzinfo=UTC), None),  # 00:00 the next day: nothing due yet
])
def test_due_day_is_read_on_the_business_clock(utc, due):
    assert due_day(utc, NAIROBI, time(20, 0)) == due


@pytest.mark.parametrize(("text", "clock"), [
    ("20:30", time(20, 30)), ("20.30", time(20, 30)), ("8pm", time(20, 0)), ("8:15 am", time(8, 15)),
    ("12am", time(0, 0)), ("12pm", time(12, 0)), ("7", time(7, 0)),
    ("25:00", None), ("13pm", None), ("soon", None), ("20:61", None),
])
def test_read_clock(text, clock):
    assert read_clock(text) == clock


def test_compare_against_the_day_before_and_the_seven_days_before():
    window = chart_window(Period.day(date(2026, 11, 14)))
    assert window == Period(date(2026, 11, 1), date(2026, 11, 15))
    found = [DayTotal(date(2026, 11, d), Decimal(d * 100), 1) for d in (5, 10, 13)]
    series = fill_days(window, found)
    assert len(series) == 14 and series[0].total == 0 and series[12].total == Decimal(1300)
    c = compare(series, date(2026, 11, 14))
    assert c.previous_day == Decimal("1300")
    assert c.average_7 == Decimal("328.57")  # (1000 + 1300) / 7, rounded half up


@pytest.mark.parametrize(("now", "before", "text"), [
    ("125", "100", "+25%"), ("90", "100", "-10%"), ("100", "100", "same"), ("5", "0", "new"), ("0", "0", "same"),
])
def test_change_text(now, before, text):
    assert change_text(Decimal(now), Decimal(before)) == text


def test_top_payers_merge_names_and_order_by_total_then_name():
    rows = [PayerTotal("Mary", Decimal("100"), 1), PayerTotal("John", Decimal("300"), 2),
            PayerTotal("Mary", Decimal("250"), 1), PayerTotal("Ann", Decimal("350"), 1), PayerTotal("", Decimal(5), 1)]
    assert top_payers(rows) == (PayerTotal("Ann", Decimal("350"), 1), PayerTotal("Mary", Decimal("350"), 2),
                                PayerTotal("John", Decimal("300"), 2))
