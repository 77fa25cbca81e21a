"""Payment exports for the accountant, in the contract's field names: csv, json and xlsx, and the
bank-statement CSV layouts QuickBooks Online and Xero import, so M-Pesa loads into the books they use.

Money stays Decimal from the database to the file: CSV and JSON carry `2500.00` strings; XLSX carries
numbers (openpyxl writes Decimal as a number) with a two-place format; its data sheet is a plain table
(one header row, one row per payment) and the totals are on a sheet of their own.
Payer names and references are written by strangers: a text cell that a spreadsheet would read as a formula
(`=`, `+`, `-`, `@`, or a tab/CR/LF before one) is neutralised with a leading apostrophe in every spreadsheet
format, and XLSX text cells are always typed as strings, never formulas. JSON is data, not a sheet: kept as is.
Bank layouts: one line per payment received (money in, so positive), dates day-first as Kenyan
accounts are set up; QuickBooks Online takes `Date,Description,Amount`, Xero `Date,Amount,Payee,
Description,Reference`.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from bot.storage.db import Session
from bot.storage.payments import allocations_by_payment, payments_between
from bot.storage.tables import PaymentRow

FIELDS = ["trans_id", "business_shortcode", "amount", "paid_at", "reference", "payer_name", "msisdn_kind",
          "source", "sources", "status", "allocations"]
FORMATS = ("csv", "json", "xlsx", "quickbooks", "xero")
QUICKBOOKS_FIELDS = ["Date", "Description", "Amount"]
XERO_FIELDS = ["Date", "Amount", "Payee", "Description", "Reference"]
TOTALS_SHEET = "Totals"
BANK_DATE = "%d/%m/%Y"
# what makes Excel, LibreOffice or Google Sheets start a formula (or DDE) in a cell
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "\n")


def safe_cell(value: str) -> str:
    """Text as a spreadsheet shows it without ever running it: `=HYPERLINK(...)` becomes `'=HYPERLINK(...)`."""
    if value.startswith(_FORMULA_START) or value.lstrip().startswith(_FORMULA_START[:4]):
        return "'" + value
    return value


def _safe_row(values: Sequence[Any]) -> list[Any]:
    return [safe_cell(v) if isinstance(v, str) else v for v in values]


def payment_record(p: PaymentRow, shortcode: str, tz: ZoneInfo,
                   allocations: Sequence[dict[str, str]] = ()) -> dict[str, Any]:
    return {
        "trans_id": p.trans_id, "business_shortcode": p.shortcode or shortcode, "amount": f"{p.amount:.2f}",
        "paid_at": p.paid_at.astimezone(tz).isoformat(), "reference": p.reference, "payer_name": p.payer_name,
        "msisdn_kind": p.msisdn_kind, "source": p.source,
        "sources": [s for s in (p.sources or p.source).split(",") if s],  # every source that saw it, first first
        "status": p.status, "allocations": list(allocations),
    }


def payment_records(session: Session, business_id: int, shortcode: str, tz: ZoneInfo,
                    start: datetime | None, end: datetime | None) -> list[dict[str, Any]]:
    """The business's payments with `start <= paid_at < end`, oldest first, with their allocations."""
    rows = payments_between(session, business_id, start, end)
    allocations = allocations_by_payment(session, business_id, [p.id for p in rows if p.id is not None])
    return [payment_record(p, shortcode, tz, allocations.get(p.id or 0, ())) for p in rows]


def to_json(records: list[dict[str, Any]]) -> str:
    return json.dumps(records, indent=2, ensure_ascii=False) + "\n"


def to_csv(records: list[dict[str, Any]]) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=FIELDS)
    writer.writeheader()
    for r in records:
        row = {**r, "allocations": _allocations_text(r), "sources": ";".join(r["sources"])}
        writer.writerow({f: row[f] if f == "amount" else _safe_text(row[f]) for f in FIELDS})
    return out.getvalue()


def _safe_text(value: Any) -> Any:
    return safe_cell(value) if isinstance(value, str) else value


def _allocations_text(record: dict[str, Any]) -> str:
    return ";".join(f"{a['invoice']}={a['amount']}" for a in record["allocations"])


def _description(r: dict[str, Any]) -> str:
    """`M-Pesa QKL5ABCD12 JOHN DOE ref INV-0042 (INV-0042)`: what the accountant reconciles against."""
    parts = [f"M-Pesa {r['trans_id']}", r["payer_name"]]
    if r["reference"]:
        parts.append(f"ref {r['reference']}")
    allocated = ",".join(a["invoice"] for a in r["allocations"])
    if allocated:
        parts.append(f"({allocated})")
    return " ".join(p for p in parts if p)


def _bank_date(r: dict[str, Any]) -> str:
    return datetime.fromisoformat(r["paid_at"]).strftime(BANK_DATE)


def to_quickbooks(records: list[dict[str, Any]]) -> str:
    """QuickBooks Online's 3-column bank upload: Date, Description, Amount (money in is positive)."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(QUICKBOOKS_FIELDS)
    for r in records:
        writer.writerow([_bank_date(r), safe_cell(_description(r)), r["amount"]])
    return out.getvalue()


def to_xero(records: list[dict[str, Any]]) -> str:
    """Xero's bank statement import: Date, Amount, Payee, Description, Reference."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(XERO_FIELDS)
    for r in records:
        invoices = ",".join(a["invoice"] for a in r["allocations"])
        writer.writerow([_bank_date(r), r["amount"],
                         *_safe_row([r["payer_name"], _description(r), invoices or r["trans_id"]])])
    return out.getvalue()


def to_xlsx(records: list[dict[str, Any]], title: str = "Payments") -> bytes:
    """A data sheet that is a plain table (the contract's columns, amounts as numbers, one row per payment)
    and a Totals sheet beside it, so a pivot or an import never reads the total as a payment."""
    from openpyxl import Workbook
    from openpyxl.styles import Font

    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = (title[:31] if title[:31] != TOTALS_SHEET else "Payments")
    sheet.append(FIELDS)
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    total = Decimal("0.00")
    for r in records:
        amount = Decimal(r["amount"])
        total += amount
        _append_text_safe(sheet, [*(r[f] for f in FIELDS[:2]), amount, *(r[f] for f in FIELDS[3:8]),
                                  ";".join(r["sources"]), r["status"], _allocations_text(r)])
    for row in sheet.iter_rows(min_row=2, min_col=3, max_col=3):
        row[0].number_format = "#,##0.00"
    for column, width in zip("ABCDEFGHIJ", (14, 10, 12, 26, 16, 24, 8, 9, 10, 28), strict=True):
        sheet.column_dimensions[column].width = width
    totals = book.create_sheet(TOTALS_SHEET)
    totals.append(["payments", "amount"])
    totals.append([len(records), total])
    totals.cell(row=2, column=2).number_format = "#,##0.00"
    for cell in totals[1]:
        cell.font = Font(bold=True)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _append_text_safe(sheet: Any, values: Sequence[Any]) -> None:
    """Append a row whose text cells are strings, never formulas (openpyxl reads a leading `=` as one)."""
    sheet.append([None if isinstance(v, str) else v for v in values])
    row = sheet.max_row
    for column, value in enumerate(values, start=1):
        if isinstance(value, str):
            cell = sheet.cell(row=row, column=column)
            cell.value = safe_cell(value)
            cell.data_type = "s"


def render(records: list[dict[str, Any]], fmt: str) -> str | bytes:
    """The export in `fmt` (one of FORMATS): text for the CSV/JSON layouts, bytes for xlsx."""
    if fmt == "xlsx":
        return to_xlsx(records)
    writers = {"csv": to_csv, "json": to_json, "quickbooks": to_quickbooks, "xero": to_xero}
    return writers[fmt](records)
