"""Reading single Daraja field values: text, receipt codes, amounts, result codes, Nairobi times.

Daraja sends the same field as a JSON string in one API and a number in another (TransAmount "5.00",
STK Amount 1.00, TransactionDate 20191219102115), so every reader accepts both. A reader returns the
clean value or raises `FieldError`; the parsers in this package catch it at one place and return it
as a value, so nothing outside bot.mpesa ever sees the exception.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from datetime import UTC, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

from bot.ledger.money import MoneyError, parse_amount

NAIROBI = ZoneInfo("Africa/Nairobi")
MAX_TEXT = 100  # Daraja's longest free text is BillRefNumber (20); more means not Daraja
_RECEIPT = re.compile(r"[A-Z0-9]{1,20}")
_STAMP = re.compile(r"[0-9]{14}")
_MONEY_PHRASES = {
    "not a number": "is not a number",
    "negative amount": "is negative",
    "more than two decimal places": "has more than two decimal places",
    "not a finite number": "is not a finite number",
    "amount too large": "is too large",
}


# Unicode categories Cc (C0, DEL, C1 controls) and Cs (surrogates), as a character class
_UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f\ud800-\udfff]")


class FieldError(ValueError):
    """One field of a callback cannot be used; the message is the human reason."""


def describe(value: object) -> str:
    """A short rendering of a bad value for a reason text, as JSON would show it (never a huge value whole)."""
    if isinstance(value, bool) or value is None:
        return json.dumps(value)
    if isinstance(value, dict | list):
        return "{...}" if isinstance(value, dict) else "[...]"
    text = repr(value) if isinstance(value, str) else str(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _is_number(value: object) -> bool:
    return isinstance(value, int | Decimal) and not isinstance(value, bool)


def read_text(doc: Mapping[str, object], name: str) -> str:
    """An optional text field, stripped; missing or null is "". Numbers are accepted as their digits."""
    value = doc.get(name)
    if value is None:
        return ""
    if isinstance(value, str):
        text = value.strip()
    elif _is_number(value):
        text = str(value)
    else:
        raise FieldError(f"{name} is {describe(value)}, not text")
    _check_text(name, text)
    return text


def _check_text(name: str, text: str) -> None:
    # Control characters and lone surrogates would break the database, logs and chat messages later.
    if len(text) > MAX_TEXT:
        raise FieldError(f"{name} is too long ({len(text)} characters)")
    if _UNSAFE.search(text):  # one regex pass: a per-character category lookup showed on the callback hot path
        raise FieldError(f"{name} contains control characters")


def read_required_text(doc: Mapping[str, object], name: str) -> str:
    """A text field that must be present and non-blank."""
    text = read_text(doc, name)
    if not text:
        raise FieldError(f"missing {name}")
    return text


def read_name(doc: Mapping[str, object], names: tuple[str, ...]) -> str:
    """First, middle and last names joined by single spaces; any part may be missing or empty."""
    parts = (" ".join(read_text(doc, name).split()) for name in names)
    return " ".join(part for part in parts if part)


def read_receipt(value: object, name: str) -> str:
    """A receipt code (TransID, MpesaReceiptNumber): 1-20 letters and digits, uppercased."""
    if value is None or (isinstance(value, str) and not value.strip()):
        raise FieldError(f"missing {name}")
    code = value.strip().upper() if isinstance(value, str) else str(value) if _is_number(value) else None
    if code is None or not _RECEIPT.fullmatch(code):
        raise FieldError(f"{name} {describe(value)} is not a receipt code")
    return code


def read_amount(value: object, name: str = "amount") -> Decimal:
    """A positive amount in shillings with at most two decimals."""
    if value is None or (isinstance(value, str) and not value.strip()):
        raise FieldError(f"missing {name}")
    if isinstance(value, bool | dict | list):
        raise FieldError(f"{name} {describe(value)} is not a number")
    amount = parse_amount(value)
    if isinstance(amount, MoneyError):
        phrase = _MONEY_PHRASES.get(amount.reason, f"is refused: {amount.reason}")
        raise FieldError(f"{name} {describe(value)} {phrase}")
    if amount == 0:
        raise FieldError(f"{name} {describe(value)} is zero")
    return amount


def read_optional_amount(value: object, name: str) -> Decimal | None:
    """Like read_amount, but blank, missing or null is None (OrgAccountBalance in validation requests)."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    return read_amount(value, name)


def read_result_code(value: object) -> int:
    """ResultCode: a number in callbacks, a string in queries; both mean the same code."""
    if value is None or (isinstance(value, str) and not value.strip()):
        raise FieldError("missing ResultCode")
    text = value.strip() if isinstance(value, str) else _integral_text(value)
    if text is None or not re.fullmatch(r"-?[0-9]{1,9}", text):
        raise FieldError(f"ResultCode {describe(value)} is not a number")
    return int(text)


def _integral_text(value: object) -> str | None:
    """Digits of an int, or of a Decimal with no fraction (1.0 -> "1"); None for anything else."""
    if isinstance(value, bool) or not _is_number(value):
        return None
    if isinstance(value, Decimal):
        if not value.is_finite() or value != value.to_integral_value() or abs(value) >= 10**15:
            return None
        return str(int(value))
    return str(value)


def read_nairobi_time(value: object, name: str) -> datetime:
    """`YYYYMMDDHHmmss` in Nairobi local time (string or number) as an aware UTC datetime."""
    if value is None or (isinstance(value, str) and not value.strip()):
        raise FieldError(f"missing {name}")
    text = value.strip() if isinstance(value, str) else _integral_text(value)
    if text is None or not _STAMP.fullmatch(text):
        raise FieldError(f"{name} {describe(value)} is not a YYYYMMDDHHmmss time")
    year = int(text[:4])
    month, day, hour, minute, second = (int(text[i : i + 2]) for i in range(4, 14, 2))
    # Bounded so the UTC conversion can never overflow; M-Pesa started in 2007.
    if not 2000 <= year <= 2099:
        raise FieldError(f"{name} {describe(value)} is not a plausible year")
    try:
        local = datetime(year, month, day, hour, minute, second, tzinfo=NAIROBI)
    except ValueError:
        raise FieldError(f"{name} {describe(value)} is not a real date and time") from None
    return local.astimezone(UTC)
