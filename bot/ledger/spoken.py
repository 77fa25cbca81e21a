"""Amounts and dates as Kenyans write them in a sentence: Swahili, Sheng and English, read word by word.

`read_amount` in `chat_input` reads one token (`2,500`, `2.5k`); this module reads phrases out of a list of
lower-case words: "elfu mbili mia tano", "laki moja na elfu ishirini", "2 thao", "kesho kutwa", "Ijumaa
ijayo", "mwisho wa mwezi ujao", "tarehe 5 mwezi ujao", "15 Desemba", "in 2 weeks". Every reader starts at
one position and looks at a bounded number of words, so scanning a message is linear in its length.

Pure: `today` is an argument. A date that does not exist or has passed comes back as a `DateProblem`.
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal, InvalidOperation

# --- numbers -------------------------------------------------------------------------------------

UNITS = {"moja": 1, "mbili": 2, "tatu": 3, "nne": 4, "tano": 5, "sita": 6, "saba": 7, "nane": 8, "tisa": 9,
         "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8, "nine": 9}
TENS = {"kumi": 10, "ishirini": 20, "thelathini": 30, "arobaini": 40, "hamsini": 50, "sitini": 60,
        "sabini": 70, "themanini": 80, "tisini": 90,
        "ten": 10, "twenty": 20, "thirty": 30, "forty": 40, "fifty": 50, "sixty": 60, "seventy": 70,
        "eighty": 80, "ninety": 90}
# Swahili puts the scale first ("elfu mbili"), English and Sheng digits after ("two thousand", "2 thao")
SCALES = {"mia": 100, "hundred": 100, "elfu": 1000, "thao": 1000, "ngiri": 1000, "thousand": 1000,
          "laki": 100_000, "milioni": 1_000_000, "million": 1_000_000}
_SCALE_FIRST = frozenset({"mia", "elfu", "thao", "ngiri", "laki", "milioni"})
_DIGITS = re.compile(r"^[0-9]{1,3}(?:\.[0-9]{1,2})?$")
_SMALL_DIGITS = re.compile(r"^[0-9]{1,3}$")


def _small(words: list[str], i: int, *, digits: bool = True) -> tuple[Decimal, int] | None:
    """1-999 at `i`: `tano`, `kumi na tano`, `ishirini na tano`, `twenty five`, `15`, `1.5`."""
    if i >= len(words):
        return None
    word = words[i]
    if digits and _DIGITS.match(word):
        return Decimal(word), i + 1
    if word in UNITS:
        return Decimal(UNITS[word]), i + 1
    if word in TENS:
        value, j = TENS[word], i + 1
        if j + 1 < len(words) and words[j] == "na" and words[j + 1] in UNITS:  # kumi na tano
            return Decimal(value + UNITS[words[j + 1]]), j + 2
        if j < len(words) and words[j] in UNITS and value >= 20 and word not in _SW_TENS:  # twenty five
            return Decimal(value + UNITS[words[j]]), j + 1
        return Decimal(value), j
    return None


_SW_TENS = frozenset({"kumi", "ishirini", "thelathini", "arobaini", "hamsini", "sitini", "sabini", "themanini",
                      "tisini"})


def read_number_words(words: list[str], i: int) -> tuple[Decimal, int] | None:
    """A spoken amount starting at `i` and where it ends; None unless it has a scale word (elfu, mia, laki,
    thao, thousand): a lone "tano" or "moja" is a word in a sentence, not money."""
    total, j, last_scale, scaled = Decimal(0), i, 10**9, False
    while j < len(words):
        part = _group(words, j, last_scale)
        if part is None:
            if scaled and (small := _small(words, j, digits=False)) is not None:
                total, j = total + small[0], small[1]  # the units at the end: "mia tatu hamsini"
            break
        value, scale, j = part
        total, last_scale, scaled = total + value, scale, True
        if j + 1 < len(words) and words[j] == "na" and _starts_number(words, j + 1):
            j += 1
    if not scaled or total <= 0:
        return None
    return total, j


def _group(words: list[str], j: int, last_scale: int) -> tuple[Decimal, int, int] | None:
    """One scaled group: `elfu mbili` (scale first) or `2 thao`, `two thousand` (scale after)."""
    word = words[j]
    if word in _SCALE_FIRST and SCALES[word] < last_scale:
        scale = SCALES[word]
        small = _small(words, j + 1)
        if small is not None and not (small[1] < len(words) and SCALES.get(words[small[1]], 0) >= scale):
            return small[0] * scale, scale, small[1]
        return Decimal(scale), scale, j + 1  # "elfu" alone is a thousand
    small = _small(words, j)
    if small is not None and small[1] < len(words) and words[small[1]] in SCALES:
        scale = SCALES[words[small[1]]]
        if scale < last_scale:
            return small[0] * scale, scale, small[1] + 1
    return None


def _starts_number(words: list[str], j: int) -> bool:
    return words[j] in SCALES or words[j] in UNITS or words[j] in TENS or bool(_SMALL_DIGITS.match(words[j]))


# --- dates ---------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class DateProblem:
    """A date phrase that was found but cannot be used: `kind` is `missing_day` (31/11) or `passed`."""

    kind: str
    text: str


WEEKDAYS = {
    **{name: n for n, names in enumerate((("monday", "mon"), ("tuesday", "tue", "tues"), ("wednesday", "wed"),
                                           ("thursday", "thu", "thur", "thurs"), ("friday", "fri"),
                                           ("saturday", "sat"), ("sunday", "sun"))) for name in names},
    "jumatatu": 0, "jumanne": 1, "jumatano": 2, "alhamisi": 3, "ijumaa": 4, "jumamosi": 5, "jumapili": 6,
}
_EN_MONTHS = ("january", "february", "march", "april", "may", "june", "july", "august", "september", "october",
              "november", "december")
_SW_MONTHS = ("januari", "februari", "machi", "aprili", "mei", "juni", "julai", "agosti", "septemba", "oktoba",
              "novemba", "desemba")
MONTH_WORDS: dict[str, int] = {}
for _n, (_en, _sw) in enumerate(zip(_EN_MONTHS, _SW_MONTHS, strict=True), start=1):
    MONTH_WORDS.update({_en: _n, _en[:3]: _n, _en[:4]: _n, _sw: _n})
MONTH_WORDS.pop("may", None)  # "may" is too often the verb; "May 15" is still read by _month_day
_ORDINALS = {"kwanza": 1, "pili": 2, "tatu": 3, "nne": 4, "tano": 5, "sita": 6, "saba": 7, "nane": 8, "tisa": 9,
             "kumi": 10}
_NUMERIC = re.compile(r"^([0-9]{1,2})[/.\-]([0-9]{1,2})(?:[/.\-]([0-9]{2}|[0-9]{4}))?$")
_ISO = re.compile(r"^([0-9]{4})-([0-9]{1,2})-([0-9]{1,2})$")
_DAY = re.compile(r"^([0-9]{1,2})(st|nd|rd|th)?$")
_YEAR = re.compile(r"^(20[0-9]{2})$")
_TODAY = frozenset({"leo", "today", "tdy"})
_TOMORROW = frozenset({"kesho", "tomorrow", "tmrw", "tmr", "tomorow", "tommorow", "tommorrow"})


@dataclass(frozen=True, slots=True)
class Found:
    """A date phrase read at [start, end) of the words: the day, or why it cannot be used."""

    value: date | DateProblem
    start: int
    end: int


def find_date(words: list[str], today: date, *, past: bool = False) -> Found | None:
    """The first date phrase in `words`. `past` counts backwards (summaries): "tarehe 25" is the latest 25th
    on or before today; otherwise forwards (due dates) and a day already gone is a `passed` problem."""
    for i in range(len(words)):
        found = read_date_at(words, i, today, past=past)
        if found is not None:
            return found
    return None


def read_date_at(words: list[str], i: int, today: date, *, past: bool = False) -> Found | None:
    for reader in (_relative, _weekday, _in_n, _month_end, _tarehe, _numeric, _day_month, _month_day):
        got = reader(words, i, today, past)
        if got is not None:
            value, end = got
            if isinstance(value, date) and not past and value < today:
                value = DateProblem("passed", " ".join(words[i:end]))
            return Found(value, i, end)
    return None


Read = tuple[date | DateProblem, int] | None


def _at(words: list[str], i: int, *phrase: str) -> bool:
    return tuple(words[i:i + len(phrase)]) == phrase


def _relative(words: list[str], i: int, today: date, past: bool) -> Read:
    if _at(words, i, "kesho", "kutwa") or _at(words, i, "day", "after", "tomorrow"):
        return today + timedelta(days=2), i + (2 if words[i] == "kesho" else 3)
    if words[i] in _TODAY:
        return today, i + 1
    if words[i] in _TOMORROW:
        return today + timedelta(days=1), i + 1
    if words[i] == "jana" or words[i] == "yesterday":
        return today - timedelta(days=1), i + 1
    if _at(words, i, "wiki", "ijayo") or _at(words, i, "next", "week"):
        return today + timedelta(days=7), i + 2
    if _at(words, i, "mwezi", "ujao") or _at(words, i, "next", "month"):
        return add_months(today, 1), i + 2
    return None


def _weekday(words: list[str], i: int, today: date, past: bool) -> Read:
    """`Ijumaa`, `next friday`, `siku ya Ijumaa`, `Ijumaa ijayo`, `this fri`: the first such day after today."""
    j = i
    if _at(words, j, "siku", "ya"):
        j += 2
    elif words[j] in ("next", "this", "coming", "on", "by"):
        j += 1
        if j < len(words) and words[j] in ("next", "this", "coming"):
            j += 1
    if j >= len(words) or words[j] not in WEEKDAYS:
        return None
    target = WEEKDAYS[words[j]]
    j += 1
    if j < len(words) and words[j] in ("ijayo", "hii", "inayokuja"):
        j += 1
    if past:
        return today - timedelta(days=(today.weekday() - target - 1) % 7 + 1), j
    return today + timedelta(days=(target - today.weekday() - 1) % 7 + 1), j


def _count(words: list[str], j: int) -> tuple[int, int] | None:
    if j >= len(words):
        return None
    if _SMALL_DIGITS.match(words[j]):
        return int(words[j]), j + 1
    if words[j] in ("a", "an", "one", "moja"):
        return 1, j + 1
    small = _small(words, j, digits=False)
    return (int(small[0]), small[1]) if small is not None else None


_UNIT_DAYS = {"day": 1, "days": 1, "siku": 1, "week": 7, "weeks": 7, "wiki": 7}
_UNIT_MONTHS = frozenset({"month", "months", "mwezi", "miezi"})


def _in_n(words: list[str], i: int, today: date, past: bool) -> Read:
    """`in 7 days`, `in a month`, `within 2 weeks`, `baada ya siku 5`, `baada ya wiki mbili`, `30 days`."""
    if words[i] in ("in", "within", "after"):
        count = _count(words, i + 1)
        if count is not None and count[1] < len(words):
            return _offset(today, count[0], words[count[1]], count[1] + 1)
        return None
    if _at(words, i, "baada", "ya"):
        unit = words[i + 2] if i + 2 < len(words) else ""
        count = _count(words, i + 3)
        if count is not None:
            return _offset(today, count[0], unit, count[1])
        if unit in _UNIT_DAYS or unit in _UNIT_MONTHS:  # "baada ya wiki" is a week
            return _offset(today, 1, unit, i + 3)
        return None
    if _SMALL_DIGITS.match(words[i]) and i + 1 < len(words) and words[i + 1] in ("days", "weeks"):
        return _offset(today, int(words[i]), words[i + 1], i + 2)
    return None


def _offset(today: date, count: int, unit: str, end: int) -> Read:
    if unit in _UNIT_DAYS:
        return today + timedelta(days=count * _UNIT_DAYS[unit]), end
    if unit in _UNIT_MONTHS:
        return add_months(today, count), end
    return None


def _month_end(words: list[str], i: int, today: date, past: bool) -> Read:
    """`mwisho wa mwezi [huu|ujao]`, `end of (the) month`, `end month`, `month end`, `end of next month`."""
    j: int | None = None
    if _at(words, i, "mwisho", "wa", "mwezi"):
        j = i + 3
    elif _at(words, i, "end", "of", "the", "month"):
        j = i + 4
    elif _at(words, i, "end", "of", "month") or _at(words, i, "end", "this", "month"):
        j = i + 3
    elif _at(words, i, "end", "month") or _at(words, i, "month", "end") or words[i] == "eom":
        j = i + (1 if words[i] == "eom" else 2)
    elif _at(words, i, "end", "of", "next", "month"):
        return _last_day(add_months(today.replace(day=1), 1)), i + 4
    if j is None:
        return None
    if j < len(words) and words[j] in ("ujao", "ijayo", "unaokuja"):
        return _last_day(add_months(today.replace(day=1), 1)), j + 1
    if j < len(words) and words[j] == "huu":
        j += 1
    return _last_day(today), j


def _month_after(words: list[str], j: int) -> tuple[int | str, int] | None:
    """A month named after a day: `mwezi ujao` ("next"), `mwezi wa kumi na mbili`, `Desemba`, `dec`."""
    if j >= len(words):
        return None
    if _at(words, j, "mwezi", "ujao") or _at(words, j, "next", "month"):
        return "next", j + 2
    if _at(words, j, "mwezi", "huu") or _at(words, j, "this", "month"):
        return "this", j + 2
    if _at(words, j, "mwezi", "wa") and j + 2 < len(words):
        number = _month_number(words, j + 2)
        if number is not None:
            return number
    if words[j] == "of" and j + 1 < len(words) and words[j + 1] in MONTH_WORDS:
        return MONTH_WORDS[words[j + 1]], j + 2
    if words[j] in MONTH_WORDS or (words[j] == "may" and j > 0):
        return MONTH_WORDS.get(words[j], 5), j + 1
    return None


def _month_number(words: list[str], j: int) -> tuple[int, int] | None:
    """`kumi na mbili` -> 12, `kumi na moja` -> 11, `kwanza` -> 1, `12` -> 12."""
    if _at(words, j, "kumi", "na") and j + 2 < len(words) and words[j + 2] in ("moja", "mbili"):
        return (11 if words[j + 2] == "moja" else 12), j + 3
    if words[j] in _ORDINALS:
        return _ORDINALS[words[j]], j + 1
    if re.match(r"^[0-9]{1,2}$", words[j]) and 1 <= int(words[j]) <= 12:
        return int(words[j]), j + 1
    return None


def _tarehe(words: list[str], i: int, today: date, past: bool) -> Read:
    """`tarehe 15 [mwezi ujao | mwezi wa 12 | Desemba] [2027]`, `the 15th`, `15th`, `on the 10th`."""
    j = i
    if words[j] in ("tarehe", "tar", "the", "on"):
        j += 1
        if j < len(words) and words[j] == "the":
            j += 1
    match = _DAY.match(words[j]) if j < len(words) else None
    if match is None or (j == i and not match.group(2)):
        return None  # a bare number is an amount, not a day
    day, j = int(match.group(1)), j + 1
    month = _month_after(words, j)
    if month is None:
        return (_latest_day(day, today) if past else _next_day(day, today)), j
    which, j = month
    year = None
    if j < len(words) and _YEAR.match(words[j]):
        year, j = int(words[j]), j + 1
    if which == "next":
        first = add_months(today.replace(day=1), 1)
        return _make(first.year, first.month, day), j
    if which == "this":
        return _make(today.year, today.month, day), j
    assert isinstance(which, int)
    return _dated(day, which, year, today, past), j


def _numeric(words: list[str], i: int, today: date, past: bool) -> Read:
    """`15/12`, `15.12`, `15-12` (day first), `15/12/2026`, `2026-12-15`."""
    iso = _ISO.match(words[i])
    if iso is not None:
        return _make(int(iso.group(1)), int(iso.group(2)), int(iso.group(3))), i + 1
    match = _NUMERIC.match(words[i])
    if match is None:
        return None
    day, month, year = int(match.group(1)), int(match.group(2)), match.group(3)
    if not 1 <= month <= 12:
        return None
    full = None if year is None else (2000 + int(year) if len(year) == 2 else int(year))
    return _dated(day, month, full, today, past), i + 1


def _day_month(words: list[str], i: int, today: date, past: bool) -> Read:
    """`15 dec`, `15th December 2026`, `15 Desemba`, `15 of december`."""
    match = _DAY.match(words[i])
    if match is None:
        return None
    month = _month_after(words, i + 1)
    if month is None or not isinstance(month[0], int):
        return None
    j = month[1]
    year = None
    if j < len(words) and _YEAR.match(words[j]):
        year, j = int(words[j]), j + 1
    return _dated(int(match.group(1)), month[0], year, today, past), j


def _month_day(words: list[str], i: int, today: date, past: bool) -> Read:
    """`Dec 15`, `December 15th 2026`."""
    month = MONTH_WORDS.get(words[i])
    if month is None or i + 1 >= len(words):
        return None
    match = _DAY.match(words[i + 1])
    if match is None:
        return None
    j = i + 2
    year = None
    if j < len(words) and _YEAR.match(words[j]):
        year, j = int(words[j]), j + 1
    return _dated(int(match.group(1)), month, year, today, past), j


def _dated(day: int, month: int, year: int | None, today: date, past: bool) -> date | DateProblem:
    """A day and month: with a year that exact date; without, this year's unless it has passed (then next
    year's); counted backwards for summaries."""
    if year is not None:
        return _make(year, month, day)
    this_year = _make(today.year, month, day)
    if isinstance(this_year, DateProblem) and not (month == 2 and day == 29):
        return this_year
    if past:
        if isinstance(this_year, date) and this_year <= today:
            return this_year
        return _make(today.year - 1, month, day)
    if isinstance(this_year, date) and this_year >= today:
        return this_year
    for later in range(today.year + 1, today.year + 5):  # 29 February waits for a leap year
        candidate = _make(later, month, day)
        if isinstance(candidate, date):
            return candidate
    return DateProblem("missing_day", f"{day}/{month}")  # pragma: no cover


def _next_day(day: int, today: date) -> date | DateProblem:
    """The next `day`-th of a month on or after today."""
    if not 1 <= day <= 31:
        return DateProblem("missing_day", str(day))
    year, month = today.year, today.month
    while day > calendar.monthrange(year, month)[1] or date(year, month, day) < today:
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return date(year, month, day)


def _latest_day(day: int, today: date) -> date | DateProblem:
    """The latest `day`-th of a month on or before today."""
    if not 1 <= day <= 31:
        return DateProblem("missing_day", str(day))
    year, month = today.year, today.month
    while day > calendar.monthrange(year, month)[1] or date(year, month, day) > today:
        year, month = (year - 1, 12) if month == 1 else (year, month - 1)
    return date(year, month, day)


FIRST_YEAR, LAST_YEAR = 2000, 2199  # a year outside these is a typo, and keeps date arithmetic in range


def _make(year: int, month: int, day: int) -> date | DateProblem:
    if not FIRST_YEAR <= year <= LAST_YEAR:
        return DateProblem("missing_day", f"{day}/{month}/{year}")
    try:
        return date(year, month, day)
    except ValueError:
        return DateProblem("missing_day", f"{day}/{month}/{year}")


def _last_day(day: date) -> date:
    return day.replace(day=calendar.monthrange(day.year, day.month)[1])


def add_months(start: date, months: int) -> date:
    index = start.month - 1 + months
    year, month = start.year + index // 12, index % 12 + 1
    return date(year, month, min(start.day, calendar.monthrange(year, month)[1]))


# --- months (exports) ----------------------------------------------------------------------------


def find_month(words: list[str], today: date) -> tuple[int, int] | None:
    """(year, month) of an export: `mwezi huu`/`this month`, `mwezi uliopita`/`last month`, `nov`, `Novemba`,
    `mwezi wa kumi na moja`, `2026-11`, `November 2025`. A month without a year is the latest such month not
    after today's."""
    for i, word in enumerate(words):
        if _at(words, i, "mwezi", "huu") or _at(words, i, "this", "month"):
            return today.year, today.month
        if (_at(words, i, "mwezi", "uliopita") or _at(words, i, "last", "month")
                or _at(words, i, "mwezi", "jana") or _at(words, i, "previous", "month")):
            last = add_months(today.replace(day=1), -1)
            return last.year, last.month
        iso = re.match(r"^([0-9]{4})-([0-9]{1,2})$", word)
        if iso and 1 <= int(iso.group(2)) <= 12 and FIRST_YEAR <= int(iso.group(1)) <= LAST_YEAR:
            return int(iso.group(1)), int(iso.group(2))
        month: int | None = None
        end = i + 1
        if _at(words, i, "mwezi", "wa"):
            number = _month_number(words, i + 2) if i + 2 < len(words) else None
            if number is not None:
                month, end = number
        elif word in MONTH_WORDS:
            month = MONTH_WORDS[word]
        if month is not None:
            if end < len(words) and _YEAR.match(words[end]):
                return int(words[end]), month
            return (today.year if month <= today.month else today.year - 1), month
    return None


def read_decimal(text: str) -> Decimal | None:
    try:
        return Decimal(text)
    except InvalidOperation:
        return None
