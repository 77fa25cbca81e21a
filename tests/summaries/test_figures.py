"""A summary's figures equal an independent computation from the payments, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from sqlmodel import Session

from bot.assistant.messages import rendered
from bot.assistant.summaries import summary_figures, summary_reply, summary_text
from bot.ledger.summaries import Period
from bot.storage.db import make_engine
from bot.storage.tables import BusinessRow
from tests.summaries.support import add_invoice, local, random_payments, store

NAIROBI = ZoneInfo("Africa/Nairobi")
DAY = date(2026, 11, 27)


@pytest.fixture
def engine(db_url):
    engine = make_engine(db_url)
    yield engine
    engine.dispose()


def _expected(payments, period: Period):
    start, end = local(period.start, 0), local(period.end, 0)
    inside = [p for p in payments if start <= p.paid_at < end]

    def total(rows):
        return sum((p.amount for p in rows), Decimal("0.00"))

    auto = [p for p in inside if p.status == "matched" and p.decision == "auto"]
    needs = [p for p in inside if p.status in ("unmatched", "suggested")]
    by_day = {}
    for p in payments:
        by_day.setdefault((p.paid_at + timedelta(hours=3)).date(), []).append(p)
    return inside, total(inside), auto, total(auto), needs, total(needs), {d: total(r) for d, r in by_day.items()}


@pytest.mark.parametrize("period", [Period.day(DAY), Period(date(2026, 11, 23), date(2026, 11, 28))])
def test_figures_equal_an_independent_computation(engine, period):
    payments = random_payments(7, date(2026, 11, 10), 20, 400)
    business_id = store(engine, "600500", payments)
    inside, total, auto, auto_total, needs, needs_total, by_day = _expected(payments, period)
    with Session(engine) as session:
        f = summary_figures(session, business_id, period, NAIROBI)
    assert (f.payments.count, f.payments.total) == (len(inside), total)
    assert (f.payments.auto_count, f.payments.auto_total) == (len(auto), auto_total)
    assert (f.payments.needs_owner_count, f.payments.needs_owner_total) == (len(needs), needs_total)
    assert [d.day for d in f.series] == [period.end - timedelta(days=14 - i) for i in range(14)]
    assert all(d.total == by_day.get(d.day, Decimal("0.00")) for d in f.series)
    last = period.last_day
    assert f.comparison.previous_day == by_day.get(last - timedelta(days=1), Decimal("0.00"))
    week = sum((by_day.get(last - timedelta(days=i), Decimal(0)) for i in range(1, 8)), Decimal(0))
    assert f.comparison.average_7 == (week / 7).quantize(Decimal("0.01"))
    payer_totals = {}
    for p in inside:
        who = p.customer or p.payer_name
        payer_totals[who] = payer_totals.get(who, Decimal(0)) + p.amount
    best = sorted(payer_totals.items(), key=lambda kv: (-kv[1], kv[0]))[:3]
    assert [(t.name, t.total) for t in f.top_payers] == best


def test_invoice_figures_and_the_words(engine):
    business_id = store(engine, "600501", [])
    add_invoice(engine, business_id, "INV-0001", "5000", "2000", DAY - timedelta(days=3), "partial")
    add_invoice(engine, business_id, "INV-0002", "3000", "3000", DAY - timedelta(days=1), "open")
    add_invoice(engine, business_id, "INV-0003", "1000", "1000", DAY, "open")
    add_invoice(engine, business_id, "INV-0004", "1000", "0", DAY - timedelta(days=9), "paid")
    add_invoice(engine, business_id, "INV-0005", "800", "300", DAY + timedelta(days=5), "partial")
    with Session(engine) as session:
        f = summary_figures(session, business_id, Period.day(DAY), NAIROBI)
        business = session.get(BusinessRow, business_id)
        reply = summary_reply(session, business, Period.day(DAY), DAY)
    assert reply.picture is None and reply.later is not None  # drawn after the transaction
    [reply] = rendered([reply])
    assert (f.partial.count, f.partial.total) == (2, Decimal("2300.00"))
    assert (f.overdue.count, f.overdue.total) == (2, Decimal("5000.00"))
    assert (f.due_today.count, f.due_today.total) == (1, Decimal("1000.00"))
    text = summary_text("Duka", f, DAY)
    assert "Received KES 0.00 in 0 payments" in text
    assert "Paid in part: 2 invoices, KES 2,300.00 still due" in text
    assert "Overdue: 2 invoices, KES 5,000.00" in text
    assert reply.picture is not None and reply.picture.startswith(b"\x89PNG")
    assert reply.choices == ()  # nothing needs the owner: no button


def test_the_words_of_a_busy_day(engine):
    payments = random_payments(3, DAY, 1, 30)
    business_id = store(engine, "600502", payments)
    with Session(engine) as session:
        business = session.get(BusinessRow, business_id)
        reply = summary_reply(session, business, Period.day(DAY), DAY)
    lines = reply.text.splitlines()
    assert lines[0] == "Duka: Today, Fri 27 Nov"
    assert lines[1].startswith("Received KES ") and lines[1].endswith("in 30 payments")
    assert any(line.startswith("Matched automatically: KES ") for line in lines)
    assert any(line.startswith("Need you: ") for line in lines)
    assert any(line.startswith("Top: ") for line in lines)
    assert lines[-2].startswith("vs day before: new (KES 0.00)") and lines[-1].startswith("7-day average: KES 0.00")
    assert [c.data for c in reply.choices] == ["s:u"]
    assert max(len(line) for line in lines) <= 110  # phone-sized
