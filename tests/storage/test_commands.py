"""`hesabu customers import` and payment exports with their allocations."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from bot.bookkeeping.invoices import find_customers
from bot.storage.db import make_engine, unit_of_work
from tests.bookkeeping.book_support import make_book, pay
from tests.support import add_business
from webhooks.cli import app


def test_customers_import_reads_name_phone_account(db_url, tmp_path, monkeypatch):
    monkeypatch.setenv("HESABU_DATABASE_URL", db_url)
    engine = make_engine(db_url)
    shop = add_business(engine, "600700")
    csv_file = tmp_path / "customers.csv"
    csv_file.write_text("name,phone,account\nMary Wanjiku,0712 345 678,ADM4521\nJohn Otieno,,\nBad Phone,12345,\n")
    result = CliRunner().invoke(app, ["customers", "import", "600700", str(csv_file)])
    assert result.exit_code == 0, result.output
    assert "2 customers imported" in result.output and "line 4" in result.output
    with unit_of_work(engine) as session:
        assert [c.account_code for c in find_customers(session, shop.id, "+254712345678")] == ["ADM4521"]
    engine.dispose()


def test_export_carries_status_and_allocations(db_url, monkeypatch):
    monkeypatch.setenv("HESABU_DATABASE_URL", db_url)
    engine = make_engine(db_url)
    book = make_book(engine, "600800")
    pay(book, "TXEXP0001", "3500.00", "INV-0001")
    result = CliRunner().invoke(app, ["export", "payments", "600800", "--format", "json"])
    assert result.exit_code == 0, result.output
    [record] = json.loads(result.output)
    assert record["status"] == "matched"
    assert record["allocations"] == [{"invoice": "INV-0001", "customer": "Mary Wanjiku Kamau", "amount": "2500.00"},
                                     {"invoice": "INV-0002", "customer": "Mary Wanjiku Kamau", "amount": "1000.00"}]
    engine.dispose()
