"""Importing an M-PESA statement: every row confirms a stored payment, adds one the book never saw (source
`statement`, reported as recovered), or is reported as a conflict; money out is kept apart; reversals reverse.

The file is journaled raw first (callback source `statement`, keyed by its SHA-256), then read lazily and written
in batches of `BATCH` rows, each batch its own short transaction: no write transaction is open while a PDF page
is parsed, and a 20,000-row file never sits in memory as rows. Importing the same file twice changes nothing: the
receipts are unique, and so are the sightings and the money-out entries.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from itertools import islice
from typing import Any

from bot.bookkeeping.reversals import reverse_payment
from bot.ledger.money import ZERO
from bot.mpesa.statements import (
    RowKind,
    RowProblem,
    StatementItem,
    StatementProblem,
    StatementRow,
    csv_lines,
    decode_csv,
    looks_like_pdf,
    read_portal_csv,
    read_statement_pdf,
)
from bot.storage.callbacks import record_reports
from bot.storage.db import Engine, unit_of_work, write_gate
from bot.storage.statements import journal_statement, keep_apart

BATCH = 1000
MAX_FILE = 50 * 1024 * 1024
MAX_LISTED = 50
Progress = Callable[[int], None]


@dataclass
class ImportReport:
    format: str
    rows: int = 0
    confirmed: int = 0  # a stored payment the statement agrees with (a new source for it)
    already: int = 0  # the statement had said so before (the same file imported again)
    recovered: int = 0  # money in the book had never seen
    conflicts: int = 0
    money_out: int = 0
    money_out_total: Decimal = ZERO
    charges_total: Decimal = ZERO
    reversals: int = 0
    not_completed: int = 0
    recovered_receipts: list[str] = field(default_factory=list)
    conflict_receipts: list[str] = field(default_factory=list)
    problems: list[RowProblem] = field(default_factory=list)
    problem_count: int = 0

    def as_json(self) -> dict[str, Any]:
        return {"format": self.format, "rows": self.rows, "confirmed": self.confirmed, "already": self.already,
                "recovered": self.recovered, "conflicts": self.conflicts, "money_out": self.money_out,
                "money_out_total": f"{self.money_out_total:.2f}", "charges_total": f"{self.charges_total:.2f}",
                "reversals": self.reversals, "not_completed": self.not_completed,
                "recovered_receipts": self.recovered_receipts, "conflict_receipts": self.conflict_receipts,
                "problems": [{"line": p.line, "reason": p.reason, "receipt": p.receipt} for p in self.problems],
                "problem_count": self.problem_count}


Opened = tuple[str, str | None, Iterator[StatementItem]]


def open_statement(data: bytes, password: str | None) -> Opened | StatementProblem:
    """(format, the shortcode the file names or None, its rows)."""
    if len(data) > MAX_FILE:
        return StatementProblem(f"the file is too large ({len(data) // (1024 * 1024)} MB)")
    if looks_like_pdf(data):
        rows = read_statement_pdf(data, password)
        return rows if isinstance(rows, StatementProblem) else ("pdf", None, rows)
    text = decode_csv(data)
    if isinstance(text, StatementProblem):
        return text
    read = read_portal_csv(csv_lines(text))
    if isinstance(read, StatementProblem):
        return read
    return "csv", read[0], read[1]


def import_statement(engine: Engine, business_id: int, shortcode: str, data: bytes, password: str | None,
                     now: datetime, progress: Progress | None = None) -> ImportReport | StatementProblem:
    opened = open_statement(data, password)
    if isinstance(opened, StatementProblem):
        return opened
    kind, named, rows = opened
    if named is not None and named != shortcode:
        return StatementProblem(f"this statement is for {named}, not {shortcode}")
    callback_id = _journal(engine, business_id, data, now)
    # a portal export is the shortcode's own statement; a personal/Pochi PDF names no shortcode (agrees with any)
    payments_shortcode = shortcode if kind == "csv" else ""
    report = ImportReport(kind)
    while batch := list(islice(rows, BATCH)):
        _import_batch(engine, business_id, payments_shortcode, batch, callback_id, now, report)
        if progress is not None:
            progress(len(batch))
    return report


def _journal(engine: Engine, business_id: int, data: bytes, now: datetime) -> int:
    with write_gate(engine), engine.begin() as conn:
        return journal_statement(conn, business_id, data, now)


def _import_batch(engine: Engine, business_id: int, shortcode: str, batch: list[StatementItem], callback_id: int,
                  now: datetime, report: ImportReport) -> None:
    money_in = [r for r in batch if isinstance(r, StatementRow) and r.kind is RowKind.MONEY_IN]
    apart = [r for r in batch if isinstance(r, StatementRow) and r.kind is not RowKind.MONEY_IN]
    with write_gate(engine), engine.begin() as conn:
        merged = record_reports(conn, business_id, [r.incoming(shortcode) for r in money_in], callback_id, now)
        if apart:
            keep_apart(conn, business_id, [_entry(r) for r in apart], callback_id, now)
    for row, m in zip(money_in, merged, strict=True):
        _count(report, row, m.outcome)
    reversals = [r for r in apart if r.kind is RowKind.REVERSAL and r.original]
    if reversals:
        with write_gate(engine), unit_of_work(engine) as session:
            for row in reversals:
                reverse_payment(session, business_id, row.original, "statement", now)
    for item in batch:
        report.rows += 1
        if isinstance(item, RowProblem):
            report.problem_count += 1
            if len(report.problems) < MAX_LISTED:
                report.problems.append(item)
        elif item.kind is RowKind.MONEY_OUT:
            report.money_out += 1
            report.money_out_total += item.amount
            report.charges_total += item.amount if item.charge else ZERO
        elif item.kind is RowKind.REVERSAL:
            report.reversals += 1
        elif item.kind is RowKind.NOT_COMPLETED:
            report.not_completed += 1


def _entry(r: StatementRow) -> dict[str, object]:
    return {"receipt": r.receipt, "kind": r.kind.value, "amount": r.amount, "charge": r.charge,
            "completed_at": r.completed_at, "details": r.details, "original": r.original}


def _count(report: ImportReport, row: StatementRow, outcome: str) -> None:
    if outcome == "created":
        report.recovered += 1
        if len(report.recovered_receipts) < MAX_LISTED:
            report.recovered_receipts.append(row.receipt)
    elif outcome == "conflict":
        report.conflicts += 1
        if len(report.conflict_receipts) < MAX_LISTED:
            report.conflict_receipts.append(row.receipt)
    elif outcome == "repeat":
        report.already += 1
    else:
        report.confirmed += 1
