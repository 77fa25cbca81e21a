"""What people type in a chat: amounts and due dates, read exactly, refused with a reason and an example.

Pure: no clock (`today` is an argument), no locale. Money comes back as a two-place Decimal as
`bot.ledger.money` makes it. Yearless dates (`12/12`, `15 dec`) mean the next such day, except that a
date passed within the last half year is refused: "12/12" typed on 20 December is a mistake, not next
December. A due date in the past is refused; one more than three years ahead is refused as a typo.
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal, InvalidOperation

from bot.ledger.money import quantize

MAX_AMOUNT = Decimal("100000000")  # KES 100 million: beyond any invoice a chat-run business sends
_MAX_AHEAD = timedelta(days=3 * 366)
_ROLL_OVER = timedelta(days=183)  # a yearless date further back than this means next year

AMOUNT_EXAMPLE = "2500, 2,500.50, 2.5k or KES 2500"
DATE_EXAMPLE = "12/12, 15 dec, friday, in 7 days or end of month"


@dataclass(frozen=True, slots=True)
class InputError:
    """Why `text` was not read: `reason` is a short phrase for the owner, `example` what would work."""

    text: str
    reason: str
    example: str


# --- whole numbers ---------------------------------------------------------------------------------

_PLAIN_NUMBER = re.compile(r"[0-9]{1,19}")  # ASCII only
MAX_ID = 2**63 - 1  # the largest value of a BIGINT column


def plain_number(text: str) -> int | None:
    """`12` -> 12. Only ASCII digits, and inside a 64-bit integer column: `²`, `①` and `٣` pass str.isdigit()
    but are not numbers anyone typed, and a 30-digit id would overflow the column it is looked up in."""
    if not _PLAIN_NUMBER.fullmatch(text):
        return None
    number = int(text)
    return number if number <= MAX_ID else None


# --- amounts -------------------------------------------------------------------------------------

_CURRENCY = r"(?:kshs?|kes|shs?|sh)\.?"
_AMOUNT = re.compile(
    rf"^(?:{_CURRENCY}\s*)?(?P<number>[0-9][0-9,]*(?:\.[0-9]+)?)\s*(?P<suffix>[km])?"
    rf"\s*(?:/=|/-|=/)?\s*(?:{_CURRENCY})?$"
)
_GROUPED = re.compile(r"^[0-9]{1,3}(?:,[0-9]{3})*(?:\.[0-9]+)?$")
_SUFFIX = {"k": Decimal(1000), "m": Decimal(1_000_000)}


def read_amount(text: str) -> Decimal | InputError:
    """`2,500`, `2.5k`, `1.2m`, `KES 2500`, `Ksh2,500`, `kshs 2500/=`, `sh 2500` -> Decimal("2500.00")."""
    cleaned = " ".join(text.strip().lower().split())
    match = _AMOUNT.match(cleaned)
    if match is None:
        return _amount_error(text, _why_not_amount(cleaned))
    number, suffix = match.group("number"), match.group("suffix")
    if "," in number and not _GROUPED.match(number):
        return _amount_error(text, "commas go between groups of three digits")
    digits = number.replace(",", "")
    if len(digits) > 1 and digits.startswith("0") and not digits.startswith("0."):
        return _amount_error(text, "that looks like a phone number, not an amount")
    try:
        value = Decimal(digits) * (_SUFFIX[suffix] if suffix else 1)
    except InvalidOperation:  # pragma: no cover - the pattern admits only digits
        return _amount_error(text, "not a number")
    if value == 0:
        return _amount_error(text, "the amount must be more than zero")
    if value > MAX_AMOUNT:
        return _amount_error(text, "that is too large for one invoice")
    if value != quantize(value):
        return _amount_error(text, "shillings have at most two decimal places")
    return quantize(value)


def _why_not_amount(cleaned: str) -> str:
    if cleaned.lstrip("kesh. ").startswith("-"):
        return "the amount must be more than zero"
    if not any(ch.isdigit() for ch in cleaned):
        return "that is not an amount"
    return "I could not read that amount"


def _amount_error(text: str, reason: str) -> InputError:
    return InputError(text, reason, AMOUNT_EXAMPLE)


# --- dates ---------------------------------------------------------------------------------------

MONTH_ABBR = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
WEEKDAY_ABBR = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MONTH_NAMES = ("january", "february", "march", "april", "may", "june", "july", "august", "september",
                "october", "november", "december")
_WEEKDAYS = {
    name: index
    for index, names in enumerate(
        (
            ("monday", "mon"),
            ("tuesday", "tue", "tues"),
            ("wednesday", "wed"),
            ("thursday", "thu", "thur", "thurs"),
            ("friday", "fri"),
            ("saturday", "sat"),
            ("sunday", "sun"),
        )
    )
    for name in names
}
MONTHS = {
    name: index
    for index, full in enumerate(_MONTH_NAMES, start=1)
    for name in (full, full[:3], full[:4])
}
_NUMERIC = re.compile(r"^(\d{1,2})[/.-](\d{1,2})(?:[/.-](\d{2}|\d{4}))?$")
_ISO = re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})$")
_ORDINAL = re.compile(r"^(\d{1,2})(?:st|nd|rd|th)?$")
_IN_N = re.compile(r"^in (a|an|one|\d{1,3}) (day|days|week|weeks|month|months)$")
_DAY_MONTH = re.compile(r"^(\d{1,2})(?:st|nd|rd|th)? (?:of )?([a-z]+)\.?,?(?: (\d{2}|\d{4}))?$")
_MONTH_DAY = re.compile(r"^([a-z]+)\.? (\d{1,2})(?:st|nd|rd|th)?,?(?: (\d{2}|\d{4}))?$")
_END_OF_MONTH = frozenset({"end of month", "end of the month", "end month", "month end", "eom"})
_TODAY = frozenset({"today", "leo"})
_TOMORROW = frozenset({"tomorrow", "tmrw", "tmr", "kesho"})


def read_date(text: str, today: date, *, allow_past: bool = False) -> date | InputError:
    """A due date as people type it, resolved against `today` (the business's local date)."""
    cleaned = " ".join(text.strip().lower().rstrip(".!").replace(",", " ").split())
    result = _resolve(cleaned, today)
    if isinstance(result, str):
        return InputError(text, result, DATE_EXAMPLE)
    if result < today and not allow_past:
        return InputError(text, f"{_day_text(result)} has already passed", DATE_EXAMPLE)
    if result - today > _MAX_AHEAD:
        return InputError(text, f"{_day_text(result)} is too far ahead", DATE_EXAMPLE)
    return result


def _day_text(day: date) -> str:
    """`5 Dec 2026`, spelled out here so no process locale changes what the owner reads."""
    return f"{day.day} {MONTH_ABBR[day.month - 1]} {day.year}"


def _resolve(cleaned: str, today: date) -> date | str:
    """The date, or the reason it could not be read."""
    if cleaned in _TODAY:
        return today
    if cleaned in _TOMORROW:
        return today + timedelta(days=1)
    if cleaned in _END_OF_MONTH:
        return today.replace(day=calendar.monthrange(today.year, today.month)[1])
    weekday = cleaned.removeprefix("next ").removeprefix("this ")
    if weekday in _WEEKDAYS:
        return today + timedelta(days=(_WEEKDAYS[weekday] - today.weekday() - 1) % 7 + 1)
    for reader in (_read_in_n, _read_iso, _read_numeric, _read_ordinal, _read_named_month):
        found = reader(cleaned, today)
        if found is not None:
            return found
    return "I could not read that date"


def _read_in_n(cleaned: str, today: date) -> date | str | None:
    match = _IN_N.match(cleaned)
    if match is None:
        return None
    count = 1 if match.group(1) in ("a", "an", "one") else int(match.group(1))
    unit = match.group(2).rstrip("s")
    if unit == "day":
        return today + timedelta(days=count)
    if unit == "week":
        return today + timedelta(weeks=count)
    return _add_months(today, count)


def _read_iso(cleaned: str, today: date) -> date | str | None:
    match = _ISO.match(cleaned)
    if match is None:
        return None
    return _make(int(match.group(1)), int(match.group(2)), int(match.group(3)))


def _read_numeric(cleaned: str, today: date) -> date | str | None:
    """Day first, as Kenyans write it: `12/1` is the 12th of January."""
    match = _NUMERIC.match(cleaned)
    if match is None:
        return None
    day, month, year = int(match.group(1)), int(match.group(2)), match.group(3)
    if year is None:
        return _yearless(day, month, today)
    return _make(_full_year(year), month, day)


def _read_ordinal(cleaned: str, today: date) -> date | str | None:
    """`15th`: the next 15th of a month, this month's if not yet passed."""
    match = _ORDINAL.match(cleaned)
    if match is None:
        return None
    day = int(match.group(1))
    if not 1 <= day <= 31:
        return f"there is no day {day} in a month"
    year, month = today.year, today.month
    while day > calendar.monthrange(year, month)[1] or date(year, month, day) < today:
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return date(year, month, day)


def _read_named_month(cleaned: str, today: date) -> date | str | None:
    """`15 dec`, `15th of december 2026`, `dec 15`, `Dec 15, 26`."""
    match = _DAY_MONTH.match(cleaned)
    if match is not None:
        day_text, month_text, year = match.group(1), match.group(2), match.group(3)
    else:
        match = _MONTH_DAY.match(cleaned)
        if match is None:
            return None
        month_text, day_text, year = match.group(1), match.group(2), match.group(3)
    month = MONTHS.get(month_text)
    if month is None:
        return f"I don't know the month {month_text!r}"
    if year is None:
        return _yearless(int(day_text), month, today)
    return _make(_full_year(year), month, int(day_text))


def _yearless(day: int, month: int, today: date) -> date | str:
    this_year = _make(today.year, month, day)
    if isinstance(this_year, str) and not (month == 2 and day == 29):
        return f"there is no {day}/{month}"
    if isinstance(this_year, date) and this_year >= today:
        return this_year
    if isinstance(this_year, date) and today - this_year <= _ROLL_OVER:
        return this_year  # refused as passed by the caller: the owner probably meant a past date by mistake
    for year in range(today.year + 1, today.year + 5):  # 29 Feb waits for a leap year
        candidate = _make(year, month, day)
        if isinstance(candidate, date):
            return candidate
    return f"there is no {day}/{month}"  # pragma: no cover - a leap year always comes within four


def _make(year: int, month: int, day: int) -> date | str:
    try:
        return date(year, month, day)
    except ValueError:
        return f"there is no {day}/{month}/{year}"


def _full_year(text: str) -> int:
    return 2000 + int(text) if len(text) == 2 else int(text)


def _add_months(start: date, months: int) -> date:
    index = start.month - 1 + months
    year, month = start.year + index // 12, index % 12 + 1
    return date(year, month, min(start.day, calendar.monthrange(year, month)[1]))
