"""Importing statements on SQLite and PostgreSQL: confirmed, recovered, conflicts, money out apart, reversals,
the same file twice, a real password-protected PDF, and the command line."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from sqlalchemy import select
from sqlmodel import Session
from typer.testing import CliRunner

from bot.bookkeeping.statements import ImportReport, import_statement
from bot.mpesa.statements import StatementProblem
from bot.storage.db import make_engine
from bot.storage.tables import (
    AllocationRow,
    CallbackRow,
    InvoiceRow,
    OutboxRow,
    PaymentRow,
    PaymentSightingRow,
    StatementEntryRow,
)
from tests.statement_support import paid_in, portal_csv, statement_pdf, withdrawn
from tests.support import add_business, c2b
from webhooks.cli import app
from webhooks.intake.records import build_record

NOW = datetime(2026, 10, 3, 6, 0, tzinfo=UTC)


@pytest.fixture
def engine(db_url):
    engine = make_engine(db_url)
    yield engine
    engine.dispose()


def deliver_c2b(engine, shop, trans_id, amount="1500.00", ref="INV-0001"):
    from bot.storage.businesses import CallbackTarget
    from bot.storage.callbacks import record_callbacks

    target = CallbackTarget(shop.id, shop.token, frozenset({shop.shortcode}), "paybill", False)
    body = json.dumps(c2b(trans_id, shop.shortcode, amount=amount, ref=ref)).encode()
    with engine.begin() as conn:
        record_callbacks(conn, [build_record("c2b_confirmation", target, body, "", NOW)], NOW)


STATEMENT = portal_csv([
    paid_in("UJ2H08M4M1", "02-10-2026 09:30:15", "1,500.00"),  # the callback came: confirmed
    paid_in("UJ2H08M4M2", "02-10-2026 10:00:00", "700.00", account="INV-0002"),  # never came: recovered
    paid_in("UJ2H08M4M3", "02-10-2026 11:00:00", "999.00"),  # the callback said 900: conflict
    withdrawn("UJ2H08M4M1", "02-10-2026 09:30:15", "15.00"),  # a charge sharing its parent's receipt
    withdrawn("UJ2H09XYZ1", "02-10-2026 12:00:00", "4,000.00", details="Business Withdrawal to bank"),
    'UJ2H10AAAA,02-10-2026 13:00:00,,Pay Bill Online,Failed,"200.00",,,,,,,',
    "not,a,row",
])


def test_a_portal_csv_confirms_recovers_flags_and_keeps_money_out_apart(engine):
    shop = add_business(engine, "600984")
    deliver_c2b(engine, shop, "UJ2H08M4M1")
    deliver_c2b(engine, shop, "UJ2H08M4M3", amount="900.00")
    report = import_statement(engine, shop.id, "600984", STATEMENT, None, NOW)
    assert isinstance(report, ImportReport)
    assert (report.rows, report.confirmed, report.recovered, report.conflicts) == (7, 1, 1, 1)
    assert (report.money_out, report.money_out_total, report.charges_total) == (2, Decimal("4015.00"), Decimal("15.00"))
    assert (report.not_completed, report.problem_count) == (1, 1)
    assert report.recovered_receipts == ["UJ2H08M4M2"] and report.conflict_receipts == ["UJ2H08M4M3"]
    with Session(engine) as session:
        pays = {p.trans_id: p for p in session.scalars(select(PaymentRow))}
        entries = list(session.scalars(select(StatementEntryRow)))
        conflicts = list(session.scalars(select(OutboxRow).where(OutboxRow.kind == "payment.conflict")))
        journal = [c for c in session.scalars(select(CallbackRow)) if c.source == "statement"]
    assert set(pays) == {"UJ2H08M4M1", "UJ2H08M4M2", "UJ2H08M4M3"}  # money out never became a payment
    assert pays["UJ2H08M4M1"].sources == "c2b,statement"
    recovered = pays["UJ2H08M4M2"]
    assert (recovered.source, recovered.sources, recovered.amount, recovered.reference, recovered.shortcode) == (
        "statement", "statement", Decimal("700.00"), "INV-0002", "600984")
    assert recovered.processed_at is None  # matching (the sweep) picks it up
    assert pays["UJ2H08M4M3"].amount == Decimal("900.00") and pays["UJ2H08M4M3"].sources == "c2b"
    assert len(conflicts) == 1
    assert sorted((e.kind, str(e.amount), e.charge) for e in entries) == [
        ("not_completed", "200.00", False), ("out", "15.00", True), ("out", "4000.00", False)]
    assert len(journal) == 1 and journal[0].body == STATEMENT


def test_importing_the_same_statement_twice_changes_nothing(engine):
    shop = add_business(engine, "600984")
    deliver_c2b(engine, shop, "UJ2H08M4M3", amount="900.00")
    import_statement(engine, shop.id, "600984", STATEMENT, None, NOW)

    def book():
        with Session(engine) as session:
            return ([(p.trans_id, p.amount, p.sources) for p in session.scalars(select(PaymentRow))],
                    len(list(session.scalars(select(PaymentSightingRow)))),
                    len(list(session.scalars(select(StatementEntryRow)))),
                    len(list(session.scalars(select(OutboxRow)))))

    before = book()
    again = import_statement(engine, shop.id, "600984", STATEMENT, None, NOW)
    assert book() == before
    assert (again.recovered, again.conflicts, again.already) == (0, 0, 3)


def test_a_statement_for_another_shortcode_is_refused(engine):
    shop = add_business(engine, "600985")
    result = import_statement(engine, shop.id, "600985", STATEMENT, None, NOW)
    assert isinstance(result, StatementProblem) and "600984" in result.reason


def test_a_reversal_row_reverses_the_payment_and_reopens_its_invoice(engine):
    shop = add_business(engine, "600984")
    deliver_c2b(engine, shop, "UJ2H08M4M1")
    with Session(engine) as session:  # matched to an invoice
        payment = session.scalars(select(PaymentRow)).one()
        invoice = InvoiceRow(business_id=shop.id, number="INV-0001", number_key="INV0001", digits_key="1",
                             amount=Decimal("1500.00"), open_balance=Decimal("0.00"), issued=NOW.date(), status="paid")
        session.add(invoice)
        session.flush()
        session.add(AllocationRow(business_id=shop.id, payment_id=payment.id, invoice_id=invoice.id,
                                  amount=Decimal("1500.00")))
        payment.status, payment.processed_at = "matched", NOW
        session.add(payment)
        session.commit()
    reversal = portal_csv(['UJ3A11BBBB,03-10-2026 08:00:00,,Reversal for UJ2H08M4M1,Completed,,"-1,500.00",,,'
                           'Reversal,,UJ2H08M4M1,'])
    report = import_statement(engine, shop.id, "600984", reversal, None, NOW)
    assert report.reversals == 1
    with Session(engine) as session:
        payment = session.scalars(select(PaymentRow)).one()
        invoice = session.scalars(select(InvoiceRow)).one()
        told = list(session.scalars(select(OutboxRow).where(OutboxRow.kind == "payment.reversed")))
    assert payment.status == "reversed"
    assert invoice.open_balance == Decimal("1500.00")
    assert len(told) == 1 and "INV-0001" in told[0].payload
    again = import_statement(engine, shop.id, "600984", reversal, None, NOW)
    assert again.reversals == 1
    with Session(engine) as session:
        assert len(list(session.scalars(select(OutboxRow).where(OutboxRow.kind == "payment.reversed")))) == 1


PDF_LINES = [
    "M-PESA STATEMENT",
    "Receipt No. Completion Time Details Transaction Status Paid In Withdrawn Balance",
    "UDA1234567 2026-04-10 09:00:00 Funds received from 2547******689 COLLINS NYONGESA Completed 1,500.00 14,811.94",
    "UDA1234568 2026-04-10 10:00:00 Customer Payment to Small Business from - 2547******103 SERAH BORO",
    "Completed 250.00 15,061.94",
    "UDT042BA3S 2026-04-29 12:20:13 Customer Transfer to Completed -8,000.00 22,523.94",
    "2547******827 JONATHAN NGEI",
    "UDT042BA3S 2026-04-29 12:20:13 Customer Transfer of Funds Charge Completed -90.00 22,523.94",
]


def test_a_password_protected_pdf_statement(engine):
    shop = add_business(engine, "600984", till=True)
    data = statement_pdf(PDF_LINES, password="27182818")
    assert isinstance(import_statement(engine, shop.id, "600984", data, None, NOW), StatementProblem)
    assert import_statement(engine, shop.id, "600984", data, "nope", NOW).reason == "wrong password for the PDF"
    report = import_statement(engine, shop.id, "600984", data, "27182818", NOW)
    assert (report.format, report.recovered, report.money_out) == ("pdf", 1, 2)
    assert report.problem_count == 1  # a row whose status and amount wrapped onto the next line is not guessed
    with Session(engine) as session:
        [payment] = session.scalars(select(PaymentRow))
    assert (payment.trans_id, payment.amount, payment.payer_name, payment.shortcode) == (
        "UDA1234567", Decimal("1500.00"), "COLLINS NYONGESA", "")


def test_the_command_line(engine, db_url, tmp_path, monkeypatch):
    add_business(engine, "600984")
    monkeypatch.setenv("HESABU_DATABASE_URL", db_url)
    path = tmp_path / "statement.csv"
    path.write_bytes(STATEMENT)
    runner = CliRunner()
    result = runner.invoke(app, ["import", "statement", "600984", str(path), "--json"])
    assert result.exit_code == 0, result.output
    figures = json.loads(result.output)
    assert (figures["recovered"], figures["money_out"], figures["money_out_total"]) == (3, 2, "4015.00")
    words = runner.invoke(app, ["import", "statement", "600984", str(path)])
    assert words.exit_code == 0 and "recovered: 0" in words.output and "already imported before: 3" in words.output
    missing = runner.invoke(app, ["import", "statement", "600999", str(path)])
    assert missing.exit_code == 1 and "no business" in missing.output
    pdf = tmp_path / "statement.pdf"
    pdf.write_bytes(statement_pdf(PDF_LINES, password="1234"))
    locked = runner.invoke(app, ["import", "statement", "600984", str(pdf)])
    assert locked.exit_code == 1 and "password" in locked.output
    opened = runner.invoke(app, ["import", "statement", "600984", str(pdf), "--password", "1234", "--json"])
    assert opened.exit_code == 0 and json.loads(opened.output)["format"] == "pdf"
