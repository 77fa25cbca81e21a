"""What every command group shares: the settings, a clear error, a business by its shortcode, a day."""

from __future__ import annotations

from datetime import date, datetime, time
from zoneinfo import ZoneInfo

import typer

from bot.storage.businesses import business_by_shortcode
from bot.storage.db import Session
from bot.storage.tables import BusinessRow
from webhooks.settings import Settings


def read_settings() -> Settings:
    return Settings()


def fail(message: str) -> None:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(code=1)


def business_or_exit(session: Session, shortcode: str) -> BusinessRow:
    found = business_by_shortcode(session, shortcode)
    if found is None:
        fail(f"no business has shortcode {shortcode}; see 'hesabu business list'")
    assert found is not None
    return found


def parse_day(text: str | None, tz: ZoneInfo) -> datetime | None:
    if text is None:
        return None
    try:
        return datetime.combine(date.fromisoformat(text), time.min, tzinfo=tz)
    except ValueError:
        fail(f"dates are YYYY-MM-DD, got {text!r}")
    return None
