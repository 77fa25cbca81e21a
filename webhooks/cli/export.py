"""`hesabu export payments` and `hesabu summary`: what the accountant and the owner read."""

from __future__ import annotations

import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import typer

from bot.bookkeeping import exports
from bot.storage.db import make_single_use_engine, unit_of_work
from webhooks.cli.common import business_or_exit, fail, parse_day, read_settings

export_app = typer.Typer(help="Exports for the accountant.", no_args_is_help=True)


def register(app: typer.Typer) -> None:
    app.add_typer(export_app, name="export")
    app.command()(summary)


@export_app.command("payments")
def export_payments(shortcode: str, date_from: str = typer.Option(None, "--from"),
                    date_to: str = typer.Option(None, "--to", help="inclusive day"),
                    fmt: str = typer.Option(..., "--format", help="csv | json | xlsx | quickbooks | xero"),
                    output: Path = typer.Option(None, "-o")) -> None:
    """Every stored payment with its match state (quickbooks, xero: their bank-statement CSV layouts)."""
    if fmt not in exports.FORMATS:
        fail("--format is csv, json, xlsx, quickbooks or xero")
    if fmt == "xlsx" and output is None and sys.stdout.isatty():
        fail("xlsx is a binary file: give -o FILE.xlsx (or redirect the output)")
    engine = make_single_use_engine(read_settings().database_url)
    with unit_of_work(engine) as session:
        business = business_or_exit(session, shortcode)
        tz = ZoneInfo(business.timezone)
        end = parse_day(date_to, tz)
        until = end + timedelta(days=1) if end else None
        records = exports.payment_records(session, business.id or 0, shortcode, tz, parse_day(date_from, tz), until)
    content = exports.render(records, fmt)
    if output is None:
        if isinstance(content, bytes):
            sys.stdout.buffer.write(content)
        else:
            sys.stdout.write(content)
        return
    if isinstance(content, bytes):
        output.write_bytes(content)
    else:
        output.write_text(content, encoding="utf-8")
    typer.echo(f"{len(records)} payments written to {output}", err=True)


def summary(shortcode: str, day: str = typer.Option(None, "--date", help="YYYY-MM-DD; default today"),
            send: bool = typer.Option(False, "--send", help="also deliver it to the business's chats")) -> None:
    """Print that day's summary; --send also queues it for the business's linked chats."""
    from bot.assistant.summaries import SUMMARY_DAILY, summary_reply
    from bot.ledger.summaries import Period
    from bot.storage.outbox import queue_message

    engine = make_single_use_engine(read_settings().database_url)
    now = datetime.now(UTC)
    with unit_of_work(engine) as session:
        business = business_or_exit(session, shortcode)
        today = now.astimezone(ZoneInfo(business.timezone)).date()
        chosen = parse_day(day, ZoneInfo(business.timezone))
        the_day = chosen.date() if chosen else today
        reply = summary_reply(session, business, Period.day(the_day), today, chart=False)
        if send:  # an explicit request: its own dedupe key, so it is sent even when the 20:00 one was
            queue_message(session, business.id or 0, SUMMARY_DAILY, f"summary.manual:{business.id}:{now.isoformat()}",
                          {"day": the_day.isoformat()}, now)
    typer.echo(reply.text)
    if send:
        typer.echo("queued for the business's chats", err=True)
