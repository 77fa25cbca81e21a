"""/summary, /export and /settings in the chat, and `hesabu summary` / `hesabu export payments` on the command
line: files that open with the standard library's csv and with openpyxl, totals equal to the book's."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import openpyxl
import pytest
from sqlalchemy import select
from sqlmodel import Session
from typer.testing import CliRunner

from bot.storage.db import make_engine
from bot.storage.tables import BusinessRow, OutboxRow
from tests.assistant.test_conversation import Chat, code_for
from tests.summaries.support import local, random_payments, store
from webhooks.cli import app

NOV = random_payments(11, date(2026, 10, 25), 40, 300)
IN_NOV = [p for p in NOV if local(date(2026, 11, 1), 0) <= p.paid_at < local(date(2026, 12, 1), 0)]
NOW = local(date(2026, 11, 27), 21, 0)


@pytest.fixture
def shop(db_url):
    engine = make_engine(db_url)
    business_id = store(engine, "600900", NOV)
    chat = Chat(engine)
    assert "Linked to" in chat.text(f"/start {code_for(engine, business_id, now=NOW)}", now=NOW)
    yield engine, business_id, chat
    engine.dispose()


def _book_total(rows) -> Decimal:
    return sum((p.amount for p in rows), Decimal("0.00"))


def test_summary_in_chat_has_the_chart_and_the_button(shop):
    engine, _business_id, chat = shop
    [reply] = chat.say("/summary", now=NOW)
    today = [p for p in NOV if local(date(2026, 11, 27), 0) <= p.paid_at < local(date(2026, 11, 28), 0)]
    assert reply.text.startswith("Duka: Today, Fri 27 Nov\nReceived ")
    assert f"in {len(today)} payment" in reply.text
    assert reply.picture is not None and reply.picture.startswith(b"\x89PNG")
    [week] = chat.say("/summary week", now=NOW)
    assert week.text.startswith("Duka: Mon 23 Nov - Fri 27 Nov") and "Per day: KES " in week.text
    [day] = chat.say("/summary 2026-11-20", now=NOW)
    assert day.text.startswith("Duka: Fri 20 Nov") and "vs day before:" in day.text
    if reply.choices:
        assert "Payments that need you:" in chat.text(choice=reply.choices[0].data, now=NOW)


def test_export_sends_csv_and_xlsx_with_the_books_totals(shop):
    _engine, _business_id, chat = shop
    csv_reply, xlsx_reply, xero_reply = chat.say("/export nov xero", now=NOW)
    assert csv_reply.document.filename == "payments-2026-11.csv"
    rows = list(csv.DictReader(io.StringIO(csv_reply.document.content.decode())))
    assert len(rows) == len(IN_NOV)
    assert sum((Decimal(r["amount"]) for r in rows), Decimal(0)) == _book_total(IN_NOV)
    assert f"{len(IN_NOV)} payments" in csv_reply.text
    workbook = openpyxl.load_workbook(io.BytesIO(xlsx_reply.document.content))
    values = list(workbook.worksheets[0].iter_rows(values_only=True))
    assert values[0][:4] == ("trans_id", "business_shortcode", "amount", "paid_at")
    body = values[1:]
    totals = list(workbook["Totals"].iter_rows(values_only=True))
    assert len(body) == len(IN_NOV) and totals[0] == ("payments", "amount") and totals[1][0] == len(IN_NOV)
    assert sum((Decimal(str(v[2])) for v in body), Decimal(0)) == _book_total(IN_NOV) == Decimal(str(totals[1][1]))
    xero = list(csv.reader(io.StringIO(xero_reply.document.content.decode())))
    assert xero[0] == ["Date", "Amount", "Payee", "Description", "Reference"] and len(xero) == len(IN_NOV) + 1
    assert sum((Decimal(r[1]) for r in xero[1:]), Decimal(0)) == _book_total(IN_NOV)


def test_settings_change_the_summary_time(shop):
    engine, business_id, chat = shop
    assert "Daily summary 20:00" in chat.text("/settings", now=NOW)
    assert "Daily summary 18:30" in chat.text("/settings summary 6:30pm", now=NOW)
    assert "Morning digest off" in chat.text("/settings digest off", now=NOW)
    assert "not a time of day" in chat.text("/settings summary soon", now=NOW)
    with Session(engine) as session:
        assert json.loads(session.get(BusinessRow, business_id).settings_json) == {
            "digest_time": "off", "summary_time": "18:30"}


@pytest.mark.parametrize("fmt", ["csv", "json", "xlsx", "quickbooks", "xero"])
def test_cli_export_formats_open_and_add_up(shop, monkeypatch, tmp_path, fmt):
    engine, _business_id, _chat = shop
    monkeypatch.setenv("HESABU_DATABASE_URL", str(engine.url.render_as_string(hide_password=False)))
    out = tmp_path / f"nov.{fmt}"
    result = CliRunner().invoke(app, ["export", "payments", "600900", "--from", "2026-11-01", "--to", "2026-11-30",
                                      "--format", fmt, "-o", str(out)])
    assert result.exit_code == 0, result.output
    if fmt == "xlsx":
        book = openpyxl.load_workbook(out)
        rows = list(book.worksheets[0].iter_rows(values_only=True))[1:]
        book.close()
        amounts = [Decimal(str(r[2])) for r in rows]
    elif fmt == "json":
        amounts = [Decimal(r["amount"]) for r in json.loads(out.read_text())]
    else:
        with out.open(newline="", encoding="utf-8") as handle:
            rows = list(csv.DictReader(handle))
        amounts = [Decimal(r["amount" if fmt == "csv" else "Amount"]) for r in rows]
        if fmt == "quickbooks":
            assert list(rows[0]) == ["Date", "Description", "Amount"]
            assert datetime.strptime(rows[0]["Date"], "%d/%m/%Y").month == 11
    assert len(amounts) == len(IN_NOV) and sum(amounts, Decimal(0)) == _book_total(IN_NOV)


def test_cli_summary_prints_and_sends(shop, monkeypatch):
    engine, business_id, _chat = shop
    monkeypatch.setenv("HESABU_DATABASE_URL", str(engine.url.render_as_string(hide_password=False)))
    result = CliRunner().invoke(app, ["summary", "600900", "--date", "2026-11-20"])
    assert result.exit_code == 0, result.output
    assert result.output.startswith("Duka: Fri 20 Nov") and "Received KES" in result.output
    assert CliRunner().invoke(app, ["summary", "600900", "--date", "2026-11-20", "--send"]).exit_code == 0
    with Session(engine) as session:
        [row] = session.scalars(select(OutboxRow).where(OutboxRow.business_id == business_id))
    assert row.kind == "summary.daily" and json.loads(row.payload) == {"day": "2026-11-20"}
    assert datetime.now(UTC) - row.created_at < timedelta(minutes=5)
