"""Column types that keep money and time exact on SQLite and PostgreSQL alike."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import BigInteger, DateTime
from sqlalchemy.types import TypeDecorator

from bot.ledger.money import CENT


def money_from_cents(value: Any) -> Decimal:
    """Integer cents (a SUM over a Cents column coerced to BigInteger, so it stays exact in SQL) as shillings."""
    return (Decimal(int(value)) / 100).quantize(CENT) if value else Decimal("0.00")


def cents_of(value: Any) -> int:
    """Exact integer cents of a Decimal or int; a float or a sub-cent amount is refused, never rounded.

    A float has already lost exactness (0.1 + 0.2), and a sub-cent Decimal would silently lose money,
    so both raise instead of storing a number nobody wrote.
    """
    if isinstance(value, bool) or not isinstance(value, Decimal | int):
        raise TypeError(f"money must be Decimal or int cents' shillings, not {type(value).__name__}")
    amount = Decimal(value)
    if not amount.is_finite():
        raise ValueError("money must be a finite amount")
    cents = amount * 100
    if cents != cents.to_integral_value():
        raise ValueError(f"sub-cent amount refused: {amount}")
    return int(cents)


class Cents(TypeDecorator[Decimal]):
    """Decimal shillings stored as integer cents: exact sums in SQL, no float anywhere, same on both databases."""

    impl = BigInteger
    cache_ok = True

    def process_bind_param(self, value: Decimal | None, dialect: Any) -> int | None:
        if value is None:
            return None
        return cents_of(value)

    def process_result_value(self, value: int | None, dialect: Any) -> Decimal | None:
        if value is None:
            return None
        return (Decimal(value) / 100).quantize(CENT)


class UtcDateTime(TypeDecorator[datetime]):
    """Aware UTC in, aware UTC out (SQLite forgets the zone; PostgreSQL keeps it as timestamptz)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime refused: store aware UTC")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
