"""Payment exports for the accountant, in the contract's field names: csv, json and xlsx, and the
bank-statement CSV layouts QuickBooks Online and Xero import, so M-Pesa loads into the books they use.

Money stays Decimal from the database to the file: CSV and JSON carry `2500.00` strings; XLSX carries
numbers (openpyxl writes Decimal as a number) with a two-place format and a total row.
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

from sqlmodel import Session

from bot.storage.payments import payments_between
from bot.storage.settlements import allocations_by_payment
from bot.storage.tables import PaymentRow

FIELDS = ["trans_id", "business_shortcode", "amount", "paid_at", "reference", "payer_name", "msisdn_kind",
          "source", "status", "allocations"]
FORMATS = ("csv", "json", "xlsx", "quickbooks", "xero")
QUICKBOOKS_FIELDS = ["Date", "Description", "Amount"]
XERO_FIELDS = ["Date", "Amount", "Payee", "Description", "Reference"]
BANK_DATE = "%d/%m/%Y"


def payment_record(p: PaymentRow, shortcode: str, tz: ZoneInfo,
                   allocations: Sequence[dict[str, str]] = ()) -> dict[str, Any]:
    return {
        "trans_id": p.trans_id, "business_shortcode": p.shortcode or shortcode, "amount": f"{p.amount:.2f}",
        "paid_at": p.paid_at.astimezone(tz).isoformat(), "reference": p.reference, "payer_name": p.payer_name,
        "msisdn_kind": p.msisdn_kind, "source": p.source, "status": p.status, "allocations": list(allocations),
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
        writer.writerow({**r, "allocations": _allocations_text(r)})
    return out.getvalue()


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
        writer.writerow([_bank_date(r), _description(r), r["amount"]])
    return out.getvalue()


def to_xero(records: list[dict[str, Any]]) -> str:
    """Xero's bank statement import: Date, Amount, Payee, Description, Reference."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(XERO_FIELDS)
    for r in records:
        invoices = ",".join(a["invoice"] for a in r["allocations"])
        writer.writerow([_bank_date(r), r["amount"], r["payer_name"], _description(r), invoices or r["trans_id"]])
    return out.getvalue()


def to_xlsx(records: list[dict[str, Any]], title: str = "Payments") -> bytes:
    """One sheet, the contract's columns, amounts as numbers, a total row under the amounts."""
    from openpyxl import Workbook
    from openpyxl.styles import Font

    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = title[:31]
    sheet.append(FIELDS)
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    total = Decimal("0.00")
    for r in records:
        amount = Decimal(r["amount"])
        total += amount
        sheet.append([*(r[f] for f in FIELDS[:2]), amount, *(r[f] for f in FIELDS[3:9]), _allocations_text(r)])
    sheet.append(["Total", "", total])
    sheet.cell(row=sheet.max_row, column=1).font = Font(bold=True)
    for row in sheet.iter_rows(min_row=2, min_col=3, max_col=3):
        row[0].number_format = "#,##0.00"
    for column, width in zip("ABCDEFGHIJ", (14, 10, 12, 26, 16, 24, 8, 9, 10, 28), strict=True):
        sheet.column_dimensions[column].width = width
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def render(records: list[dict[str, Any]], fmt: str) -> str | bytes:
    """The export in `fmt` (one of FORMATS): text for the CSV/JSON layouts, bytes for xlsx."""
    if fmt == "xlsx":
        return to_xlsx(records)
    writers = {"csv": to_csv, "json": to_json, "quickbooks": to_quickbooks, "xero": to_xero}
    return writers[fmt](records)
