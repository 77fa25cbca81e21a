"""Exports never hand a spreadsheet a formula: a payer name or reference that starts one is shown as text in
csv, quickbooks, xero and xlsx; the xlsx data sheet is a plain table with its totals on a sheet of their own."""

from __future__ import annotations

import csv
import io

import openpyxl
import pytest

from bot.bookkeeping.exports import render, safe_cell

HOSTILE = ["=HYPERLINK(\"http://evil\",\"x\")", "+1+cmd|' /C calc'!A0", "-2+3", "@SUM(A1:A9)", "\t=1+1",
           "\r=1+1", " =1+1"]


def _record(i: int, name: str, reference: str) -> dict:
    return {"trans_id": f"QKL5ABC{i:03d}", "business_shortcode": "600900", "amount": "100.00",
            "paid_at": "2026-11-20T10:00:00+03:00", "reference": reference, "payer_name": name,
            "msisdn_kind": "plain", "source": "c2b", "sources": ["c2b"], "status": "unmatched",
            "allocations": [{"invoice": name, "customer": name, "amount": "100.00"}]}


RECORDS = [_record(i, h, h) for i, h in enumerate(HOSTILE)]


def _dangerous(cell: object) -> bool:
    return isinstance(cell, str) and cell.lstrip(" ").startswith(("=", "+", "-", "@", "\t", "\r"))


@pytest.mark.parametrize("fmt", ["csv", "quickbooks", "xero"])
def test_no_text_cell_of_a_csv_export_starts_a_formula(fmt):
    rows = list(csv.reader(io.StringIO(str(render(RECORDS, fmt)))))
    cells = [c for row in rows[1:] for c in row]
    assert len(rows) == len(RECORDS) + 1
    assert [c for c in cells if _dangerous(c)] == []
    joined = "\n".join(cells)
    assert all(f"'{h}" in joined for h in HOSTILE if fmt != "quickbooks")


def test_xlsx_text_is_never_a_formula_and_totals_have_their_own_sheet():
    book = openpyxl.load_workbook(io.BytesIO(bytes(render(RECORDS, "xlsx"))))
    data = book.worksheets[0]
    cells = [c for row in data.iter_rows(min_row=2) for c in row]
    assert [c.coordinate for c in cells if c.data_type == "f"] == []
    assert [c.value for c in cells if _dangerous(c.value)] == []
    rows = list(data.iter_rows(values_only=True))
    assert len(rows) == len(RECORDS) + 1 and all(r[0].startswith("QKL5ABC") for r in rows[1:])
    assert list(book["Totals"].iter_rows(values_only=True)) == [("payments", "amount"), (len(RECORDS), 700)]


@pytest.mark.parametrize(("text", "shown"), [("Mary Wanjiku", "Mary Wanjiku"), ("INV-0042", "INV-0042"),
                                             ("=1+1", "'=1+1"), ("-5", "'-5"), ("", "")])
def test_safe_cell_only_touches_what_a_sheet_would_run(text, shown):
    assert safe_cell(text) == shown
