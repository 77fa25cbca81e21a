"""Spoken amounts and date phrases: table-driven, and hypothesis for "never raises, never reads past the end"."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.ledger.spoken import DateProblem, find_date, find_month, read_number_words

TUE = date(2026, 12, 1)
SAT = date(2026, 11, 28)


@pytest.mark.parametrize(("words", "value"), [
    ("mia tano", 500), ("elfu tatu", 3000), ("elfu mbili mia tano", 2500), ("elfu mbili na mia tano", 2500),
    ("elfu 2 na mia 5", 2500), ("elfu kumi na tano", 15000), ("elfu ishirini", 20000), ("laki moja", 100000),
    ("laki moja na elfu ishirini", 120000), ("thao mbili", 2000), ("2 thao", 2000), ("ngiri tatu", 3000),
    ("elfu moja mia mbili", 1200), ("mia tatu hamsini", 350), ("two thousand five hundred", 2500),
])
def test_spoken_amounts(words: str, value: int) -> None:
    found = read_number_words(words.split(), 0)
    assert found == (Decimal(value), len(words.split()))


@pytest.mark.parametrize("words", ["tano", "moja", "mara moja", "kumi na mbili", "sawa"])
def test_a_number_word_without_a_scale_is_not_money(words: str) -> None:
    assert read_number_words(words.split(), 0) is None


@pytest.mark.parametrize(("words", "today", "expected"), [
    ("leo", TUE, "2026-12-01"), ("kesho", TUE, "2026-12-02"), ("kesho kutwa", TUE, "2026-12-03"),
    ("day after tomorrow", TUE, "2026-12-03"), ("ijumaa", TUE, "2026-12-04"), ("siku ya ijumaa", TUE, "2026-12-04"),
    ("next friday", SAT, "2026-12-04"), ("ijumaa ijayo", SAT, "2026-12-04"), ("in 7 days", TUE, "2026-12-08"),
    ("baada ya wiki 2", TUE, "2026-12-15"), ("baada ya siku tano", TUE, "2026-12-06"),
    ("wiki ijayo", TUE, "2026-12-08"), ("in a month", TUE, "2027-01-01"), ("mwisho wa mwezi", SAT, "2026-11-30"),
    ("end month", TUE, "2026-12-31"), ("mwisho wa mwezi ujao", TUE, "2027-01-31"), ("tarehe 15", TUE, "2026-12-15"),
    ("the 1st", TUE, "2026-12-01"), ("tarehe 5 mwezi ujao", TUE, "2027-01-05"), ("15/12", TUE, "2026-12-15"),
    ("15.12", TUE, "2026-12-15"), ("15-12", TUE, "2026-12-15"), ("15 dec", TUE, "2026-12-15"),
    ("dec 15", TUE, "2026-12-15"), ("15 desemba", TUE, "2026-12-15"), ("3/1", TUE, "2027-01-03"),
    ("tarehe 15 mwezi wa kumi na mbili", TUE, "2026-12-15"), ("15/12/2027", TUE, "2027-12-15"),
])
def test_due_dates(words: str, today: date, expected: str) -> None:
    found = find_date(words.split(), today)
    assert found is not None and found.value == date.fromisoformat(expected)


@pytest.mark.parametrize(("words", "kind"), [("31/11", "missing_day"), ("30/2", "missing_day"),
                                              ("1/11/2026", "passed")])
def test_dates_that_cannot_be_due(words: str, kind: str) -> None:
    found = find_date(words.split(), TUE)
    assert found is not None and isinstance(found.value, DateProblem) and found.value.kind == kind


def test_summary_days_count_backwards() -> None:
    found = find_date(["tarehe", "25"], TUE, past=True)
    assert found is not None and found.value == date(2026, 11, 25)


@pytest.mark.parametrize(("words", "expected"), [
    ("mwezi huu", (2026, 12)), ("mwezi uliopita", (2026, 11)), ("last month", (2026, 11)), ("nov", (2026, 11)),
    ("novemba", (2026, 11)), ("mwezi wa kumi na moja", (2026, 11)), ("january", (2026, 1)), ("2025-03", (2025, 3)),
])
def test_export_months(words: str, expected: tuple[int, int]) -> None:
    assert find_month(words.split(), TUE) == expected


WORDS = st.sampled_from(["elfu", "mia", "laki", "na", "mbili", "kumi", "tano", "2", "15/12", "tarehe", "mwezi",
                         "wa", "ujao", "kesho", "in", "days", "baada", "ya", "siku", "ijumaa", "thao", "31/11"])


@given(st.lists(WORDS, max_size=12))
def test_readers_never_raise_and_stay_inside_the_words(words: list[str]) -> None:
    for i in range(len(words)):
        number = read_number_words(words, i)
        assert number is None or (number[0] > 0 and i < number[1] <= len(words))
    found = find_date(words, TUE)
    assert found is None or 0 <= found.start < found.end <= len(words)
