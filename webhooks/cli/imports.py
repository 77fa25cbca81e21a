"""`hesabu import statement SHORTCODE FILE [--password P] [--json]`: an M-PESA statement (portal CSV or PDF) into the
book. Registered on the main command line by `register(app)` (one line in webhooks.cli.commands)."""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime
from pathlib import Path

import typer

from bot.bookkeeping.statements import ImportReport, import_statement
from bot.mpesa.statements import StatementProblem
from bot.storage.db import Engine, make_single_use_engine, unit_of_work
from webhooks.cli.common import business_or_exit, fail, read_settings

import_app = typer.Typer(help="Bring payments in from files.", no_args_is_help=True)


def register(app: typer.Typer) -> None:
    app.add_typer(import_app, name="import")


@import_app.command("statement")
def statement(shortcode: str, file: Path, password: str = typer.Option(None, help="the PDF's password (ID number)"),
              as_json: bool = typer.Option(False, "--json")) -> None:
    """An M-PESA statement (portal CSV or PDF): counts confirmed, recovered, conflicts, money out."""
    engine = make_single_use_engine(read_settings().database_url)
    try:
        with unit_of_work(engine) as session:
            business = business_or_exit(session, shortcode)
        assert business.id is not None
        try:
            data = file.read_bytes()
        except OSError as error:
            fail(f"cannot read {file}: {error.strerror}")
            return
        result = _run(engine, business.id, shortcode, data, password, show_progress=not as_json)
    finally:
        engine.dispose()
    if isinstance(result, StatementProblem):
        fail(result.reason)
        return
    typer.echo(json.dumps(result.as_json(), indent=2) if as_json else _words(result))


def _run(engine: Engine, business_id: int, shortcode: str, data: bytes, password: str | None,
         show_progress: bool) -> ImportReport | StatementProblem:
    now = datetime.now(UTC)
    if not show_progress or not sys.stderr.isatty():
        return import_statement(engine, business_id, shortcode, data, password, now)
    # rows are read lazily, so the bar counts rows done (no total known before the end of the file)
    with typer.progressbar(length=0, label="rows", file=sys.stderr, show_pos=True) as bar:
        return import_statement(engine, business_id, shortcode, data, password, now,
                                progress=bar.update)


def _words(r: ImportReport) -> str:
    lines = [f"{r.rows} rows read ({r.format})",
             f"confirmed: {r.confirmed} (already imported before: {r.already})",
             f"recovered: {r.recovered} payments the book had not seen",
             f"conflicts: {r.conflicts}",
             f"money out: {r.money_out} rows, KES {r.money_out_total:,.2f} (charges KES {r.charges_total:,.2f})",
             f"reversals: {r.reversals}", f"not completed: {r.not_completed}"]
    if r.recovered_receipts:
        lines.append("recovered receipts: " + ", ".join(r.recovered_receipts))
    if r.conflict_receipts:
        lines.append("conflicting receipts: " + ", ".join(r.conflict_receipts))
    if r.problem_count:
        lines.append(f"rows not read: {r.problem_count}")
        lines.extend(f"  line {p.line}: {p.reason}" for p in r.problems)
    return "\n".join(lines)


