"""`hesabu customers import`."""

from __future__ import annotations

import csv
from pathlib import Path

import typer

from bot.bookkeeping.invoices import import_customers
from bot.storage.db import make_single_use_engine, unit_of_work
from webhooks.cli.common import business_or_exit, fail, read_settings

customers_app = typer.Typer(help="A business's customers.", no_args_is_help=True)


def register(app: typer.Typer) -> None:
    app.add_typer(customers_app, name="customers")


@customers_app.command("import")
def customers_import(shortcode: str, file: Path) -> None:
    """Add customers from a CSV with columns name,phone,account (phone and account optional)."""
    try:
        with file.open(newline="", encoding="utf-8-sig") as handle:
            rows = list(csv.DictReader(handle))
    except OSError as exc:
        fail(f"cannot read {file}: {exc}")
    if rows and "name" not in rows[0]:
        fail("the first line must name the columns: name,phone,account")
    engine = make_single_use_engine(read_settings().database_url)
    with unit_of_work(engine) as session:
        business = business_or_exit(session, shortcode)
        result = import_customers(session, business.id or 0, rows)
    for problem in result.problems:
        typer.echo(f"skipped {problem}", err=True)
    typer.echo(f"{result.added} customers imported into {business.name}")
