"""Every form of amount and due date the chat accepts, and every refusal, with its reason."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from bot.ledger.chat_input import InputError, read_amount, read_date

TODAY = date(2026, 12, 10)  # a Thursday


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2500", "2500.00"),
        ("2,500", "2500.00"),
        ("2500.50", "2500.50"),
        ("2.5", "2.50"),
        ("0.50", "0.50"),
        ("2.5k", "2500.00"),
        ("2.5K", "2500.00"),
        ("15k", "15000.00"),
        ("1m", "1000000.00"),
        ("1.2m", "1200000.00"),
        ("KES 2500", "2500.00"),
        ("kes2500", "2500.00"),
        ("Ksh2,500", "2500.00"),
        ("Ksh. 2,500", "2500.00"),
        ("kshs 2500/=", "2500.00"),
        ("2500/-", "2500.00"),
        ("sh 2500", "2500.00"),
        ("Sh. 300", "300.00"),
        ("2500 kes", "2500.00"),
        (" 1,234,567.89 ", "1234567.89"),
        ("100000000", "100000000.00"),
    ],
)
def test_amounts_read(text: str, expected: str) -> None:
    assert read_amount(text) == Decimal(expected)
    assert str(read_amount(text)) == expected


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("0", "more than zero"),
        ("0.00", "more than zero"),
        ("0k", "more than zero"),
        ("-500", "more than zero"),
        ("KES -500", "more than zero"),
        ("2.555", "two decimal places"),
        ("2.000001k", "two decimal places"),
        ("100000000.01", "too large"),
        ("1000m", "too large"),
        ("99999999999999999999", "too large"),
        ("abc", "not an amount"),
        ("", "not an amount"),
        ("KES", "not an amount"),
        ("two thousand", "not an amount"),
        ("2,50", "groups of three"),
        ("25,00", "groups of three"),
        ("0712345678", "phone number"),
        ("2500x", "could not read"),
        ("1e5", "could not read"),
        ("2.5.5", "could not read"),
        ("12 500", "could not read"),
    ],
)
def test_amounts_refused_with_a_reason_and_an_example(text: str, reason: str) -> None:
    error = read_amount(text)
    assert isinstance(error, InputError)
    assert reason in error.reason
    assert error.text == text
    assert "2500" in error.example


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("12/12", date(2026, 12, 12)),
        ("12/12/2026", date(2026, 12, 12)),
        ("12-12-26", date(2026, 12, 12)),
        ("12.12.2026", date(2026, 12, 12)),
        ("2026-12-12", date(2026, 12, 12)),
        ("2027-1-5", date(2027, 1, 5)),
        ("15/1", date(2027, 1, 15)),  # typed in December: next January
        ("1/2/27", date(2027, 2, 1)),  # day first: 1 February
        ("10/12", date(2026, 12, 10)),  # today is not past
        ("today", TODAY),
        ("Today", TODAY),
        ("leo", TODAY),
        ("tomorrow", date(2026, 12, 11)),
        ("kesho", date(2026, 12, 11)),
        ("monday", date(2026, 12, 14)),
        ("mon", date(2026, 12, 14)),
        ("tue", date(2026, 12, 15)),
        ("tuesday", date(2026, 12, 15)),
        ("wed", date(2026, 12, 16)),
        ("thursday", date(2026, 12, 17)),  # never today: the next Thursday
        ("thu", date(2026, 12, 17)),
        ("fri", date(2026, 12, 11)),
        ("Friday", date(2026, 12, 11)),
        ("sat", date(2026, 12, 12)),
        ("sunday", date(2026, 12, 13)),
        ("next friday", date(2026, 12, 11)),
        ("next thursday", date(2026, 12, 17)),
        ("in 7 days", date(2026, 12, 17)),
        ("in 1 day", date(2026, 12, 11)),
        ("in 2 weeks", date(2026, 12, 24)),
        ("in a week", date(2026, 12, 17)),
        ("in 1 month", date(2027, 1, 10)),
        ("end of month", date(2026, 12, 31)),
        ("end of the month", date(2026, 12, 31)),
        ("eom", date(2026, 12, 31)),
        ("15th", date(2026, 12, 15)),
        ("15", date(2026, 12, 15)),
        ("1st", date(2027, 1, 1)),
        ("9th", date(2027, 1, 9)),
        ("15 dec", date(2026, 12, 15)),
        ("15th December", date(2026, 12, 15)),
        ("15th of dec", date(2026, 12, 15)),
        ("dec 15", date(2026, 12, 15)),
        ("Dec 15th", date(2026, 12, 15)),
        ("dec 15, 2026", date(2026, 12, 15)),
        ("15 jan", date(2027, 1, 15)),
        ("3 sept 2027", date(2027, 9, 3)),
        ("29/2", date(2028, 2, 29)),  # the next 29 February
    ],
)
def test_dates_read(text: str, expected: date) -> None:
    assert read_date(text, TODAY) == expected


def test_end_of_month_and_ordinals_follow_the_calendar() -> None:
    assert read_date("end of month", date(2027, 2, 3)) == date(2027, 2, 28)
    assert read_date("31st", date(2027, 2, 3)) == date(2027, 3, 31)
    assert read_date("in 1 month", date(2027, 1, 31)) == date(2027, 2, 28)
    assert read_date("nov 3", date(2027, 2, 3)) == date(2027, 11, 3)


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("5/12", "5 Dec 2026 has already passed"),
        ("9 dec", "has already passed"),
        ("dec 1", "has already passed"),
        ("12/12/2025", "has already passed"),
        ("2026-12-09", "has already passed"),
        ("12-12-25", "has already passed"),
        ("32/1", "there is no 32/1"),
        ("31/4", "there is no 31/4"),
        ("30/2/2027", "there is no 30/2/2027"),
        ("2026-13-01", "there is no"),
        ("40th", "no day 40"),
        ("15 foo", "month 'foo'"),
        ("12/12/2035", "too far ahead"),
        ("in 500 weeks", "too far ahead"),
        ("someday", "could not read"),
        ("", "could not read"),
        ("next year", "could not read"),
    ],
)
def test_dates_refused_with_a_reason_and_an_example(text: str, reason: str) -> None:
    error = read_date(text, TODAY)
    assert isinstance(error, InputError)
    assert reason in error.reason
    assert "friday" in error.example


def test_past_dates_allowed_when_asked() -> None:
    assert read_date("5/12", TODAY, allow_past=True) == date(2026, 12, 5)
    assert read_date("2025-01-01", TODAY, allow_past=True) == date(2025, 1, 1)


def test_input_error_is_frozen() -> None:
    error = InputError("x", "why", "e.g.")
    with pytest.raises(AttributeError):
        error.reason = "other"  # type: ignore[misc]
