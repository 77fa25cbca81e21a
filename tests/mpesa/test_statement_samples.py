"""The statement readers on the shapes of statement_samples.txt: portal CSV variants, PDF text-layer rows."""

from datetime import datetime
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.ledger.phones import MsisdnKind
from bot.mpesa.fields import NAIROBI
from bot.mpesa.statements import (
    RowKind,
    RowProblem,
    StatementProblem,
    StatementRow,
    csv_lines,
    read_pdf_lines,
    read_portal_csv,
    read_statement_pdf,
)
from tests.statement_support import PORTAL_HEADER, paid_in, portal_csv, statement_pdf, withdrawn


def rows_of(data: bytes):
    read = read_portal_csv(csv_lines(data.decode()))
    assert not isinstance(read, StatementProblem), read
    return read[0], list(read[1])


def local(row: StatementRow) -> str:
    return row.completed_at.astimezone(NAIROBI).strftime("%Y-%m-%d %H:%M:%S")


def test_the_2017_mkopa_row_shape():
    row = ("LDK3XZ91AB,20-04-2017 15:50,20-04-2017 15:50,Pay Bill from 2547XXXXXXXX - Customer Credits Acc. 8123456,"
           "Completed,500.00,,66,TRUE,Pay Utility,2547XXXXXXXX- Customer Credits,,8123456")
    shortcode, [r] = rows_of(portal_csv([row], preamble=()))
    assert shortcode is None
    assert (r.kind, r.receipt, r.amount, local(r), r.account) == (
        RowKind.MONEY_IN, "LDK3XZ91AB", Decimal("500.00"), "2017-04-20 15:50:00", "8123456")
    assert r.payer_name == "Customer Credits"


@pytest.mark.parametrize(("when", "expected"), [
    ("20-04-2017 15:50", "2017-04-20 15:50:00"), ("06-10-2026 09:30:15", "2026-10-06 09:30:15"),
    ("2026-10-02 12:30:00", "2026-10-02 12:30:00"), ("02/10/2026 12:30:00", "2026-10-02 12:30:00")])
def test_every_date_format_seen(when, expected):
    _, [r] = rows_of(portal_csv([paid_in("UJ2H08M4M3", when, "1,131,340.00")]))
    assert local(r) == expected and r.amount == Decimal("1131340.00")


@pytest.mark.parametrize(("party", "kind", "name"), [
    ("254711000001 - ACHIENG OWINO", MsisdnKind.PLAIN, "ACHIENG OWINO"),
    ("2547****0111 - MARY ATIENO", MsisdnKind.MASKED, "MARY ATIENO"),
    ("0712****678 - JOHN DOE", MsisdnKind.MASKED, "JOHN DOE"),
    ("", MsisdnKind.PLAIN, "JANE DOE")])  # no Other Party Info: read from Details
def test_other_party_info_forms(party, kind, name):
    details = "Pay Bill from 254712345678 - JANE DOE Acc. GV-A1"
    _, [r] = rows_of(portal_csv([paid_in("UJ2H08M4M3", "2026-10-02 12:30:00", "100.00", party=party,
                                         details=details, account="")]))
    assert (r.phone.kind, r.payer_name, r.account) == (kind, name, "GV-A1")
    assert "254711000001" not in repr(r) and "254712345678" not in repr(r)


def test_preamble_names_the_shortcode_and_money_out_is_apart():
    shortcode, rows = rows_of(portal_csv([
        paid_in("UJ2H08M4M3", "2026-10-02 12:30:00", "1,500.00"),
        withdrawn("UJ2H08M4M3", "2026-10-02 12:30:00", "15.00"),
        withdrawn("UJ2H09XYZ1", "2026-10-02 13:00:00", "4000.00", details="Business Withdrawal to bank"),
        'UJ2H10AAAA,2026-10-02 14:00:00,,Pay Bill Online,Failed,"200.00",,,,,,,',
        'UJ2H11BBBB,2026-10-02 15:00:00,,Reversal for UJ2H08M4M3,Completed,,"-1,500.00",,,Reversal,,UJ2H08M4M3,']))
    assert shortcode == "600984"
    assert [r.kind for r in rows] == [RowKind.MONEY_IN, RowKind.MONEY_OUT, RowKind.MONEY_OUT, RowKind.NOT_COMPLETED,
                                      RowKind.REVERSAL]
    assert rows[1].charge and not rows[2].charge and rows[2].amount == Decimal("4000.00")
    assert rows[4].original == "UJ2H08M4M3"


def test_bad_rows_are_problems_with_their_line():
    _, rows = rows_of(portal_csv([paid_in("UJ2H08M4M3", "not a date", "100.00"),
                                  paid_in("UJ2H08M4M4", "2026-10-02 12:30:00", "1.234"),
                                  paid_in("no", "2026-10-02 12:30:00", "100.00"),
                                  paid_in("UJ2H08M4M5", "2026-10-02 12:30:00", "")]))
    assert all(isinstance(r, RowProblem) for r in rows)
    assert [r.line for r in rows] == [4, 5, 6, 7]
    assert rows[0].receipt == "UJ2H08M4M3"


def test_a_file_without_the_header_is_refused():
    assert isinstance(read_portal_csv(csv_lines("a,b,c\n1,2,3\n")), StatementProblem)
    assert isinstance(read_portal_csv(csv_lines("Receipt No.,Details\nX,Y\n")), StatementProblem)


PDF_LINES = [
    "M-PESA STATEMENT",
    "Receipt No. Completion Time Details Transaction Status Paid In Withdrawn Balance",
    "UDT042BA3S 2026-04-29 12:20:13 Customer Transfer to Completed -8,000.00 22,523.94",
    "2547******827 JONATHAN NGEI",
    "UDT042BA3S 2026-04-29 12:20:13 Customer Transfer of Funds Charge Completed -90.00 22,523.94",
    "UDB040CVAI 2026-04-11 18:26:29 Pay Bill Online to 800230 Completed -4,200.00 10,611.94",
    "BrackenHurst Restaurant 1 Acc.",
    "800230",
    "UDA1234567 2026-04-10 09:00:00 Funds received from 2547******689 COLLINS NYONGESA Completed 1,500.00 14,811.94",
    "Page 1 of 12",
]


def test_pdf_text_layer_rows():
    rows = list(read_pdf_lines(PDF_LINES))
    assert [(r.receipt, r.kind, r.amount) for r in rows] == [
        ("UDT042BA3S", RowKind.MONEY_OUT, Decimal("8000.00")), ("UDT042BA3S", RowKind.MONEY_OUT, Decimal("90.00")),
        ("UDB040CVAI", RowKind.MONEY_OUT, Decimal("4200.00")), ("UDA1234567", RowKind.MONEY_IN, Decimal("1500.00"))]
    assert rows[0].details == "Customer Transfer to 2547******827 JONATHAN NGEI"
    assert rows[1].charge and not rows[0].charge
    assert (rows[3].payer_name, rows[3].phone.kind) == ("COLLINS NYONGESA", MsisdnKind.MASKED)
    assert rows[3].completed_at == datetime(2026, 4, 10, 9, 0, tzinfo=NAIROBI)


def test_a_real_password_protected_pdf():
    data = statement_pdf(PDF_LINES, password="12345678")
    assert isinstance(read_statement_pdf(data, None), StatementProblem)
    assert read_statement_pdf(data, "wrong").reason == "wrong password for the PDF"
    rows = list(read_statement_pdf(data, "12345678"))
    assert [r.receipt for r in rows] == ["UDT042BA3S", "UDT042BA3S", "UDB040CVAI", "UDA1234567"]
    assert isinstance(read_statement_pdf(b"%PDF-1.7 garbage", None), StatementProblem)


@settings(max_examples=200)
@given(st.lists(st.text(max_size=80), max_size=20))
def test_readers_never_raise(lines):
    assert all(isinstance(r, StatementRow | RowProblem) for r in read_pdf_lines(lines))
    read = read_portal_csv(iter([PORTAL_HEADER + "\n", *(line + "\n" for line in lines)]))
    assert not isinstance(read, StatementProblem)
    assert all(isinstance(r, StatementRow | RowProblem) for r in read[1])
