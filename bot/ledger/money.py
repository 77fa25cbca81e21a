"""Money: exact shillings as Decimal with two places. Never float.

Parsing returns a value or an error value; it does not raise for bad input.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

CENT = Decimal("0.01")
ZERO = Decimal("0.00")


@dataclass(frozen=True, slots=True)
class MoneyError:
    """Why a text could not be read as an amount."""

    text: str
    reason: str


def quantize(amount: Decimal) -> Decimal:
    """Round to cents the way a cashier does (half up)."""
    return amount.quantize(CENT, rounding=ROUND_HALF_UP)


def parse_amount(value: object) -> Decimal | MoneyError:
    """Read an amount as Daraja sends it: a string ("5.00", "10") or a JSON number already
    parsed as Decimal or int. Floats are refused: they mean someone parsed JSON lossily."""
    if isinstance(value, bool | float):
        return MoneyError(repr(value), "amount must not pass through float")
    if isinstance(value, int | Decimal):
        raw: Decimal = Decimal(value)
        text = str(value)
    elif isinstance(value, str):
        text = value.strip().replace(",", "")
        try:
            raw = Decimal(text)
        except InvalidOperation:
            return MoneyError(value, "not a number")
    else:
        return MoneyError(repr(value), "not a number")
    if not raw.is_finite():
        return MoneyError(text, "not a finite number")
    if raw < 0:
        return MoneyError(text, "negative amount")
    if raw.adjusted() > 12:  # a trillion shillings: no M-Pesa payment; also keeps quantize in range
        return MoneyError(text, "amount too large")
    if raw != quantize(raw):
        return MoneyError(text, "more than two decimal places")
    return quantize(raw)


def format_kes(amount: Decimal) -> str:
    """`KES 15,000.00`: how an owner reads money on a small screen."""
    return f"KES {quantize(amount):,.2f}"
