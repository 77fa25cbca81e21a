"""The chat grammar, table-driven: every command form, with and without `/`, and every refusal."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from bot.assistant.grammar import (
    HELP_TEXT,
    Chat,
    ChooseBusiness,
    Command,
    CreateInvoice,
    CustomerLookup,
    Export,
    GrammarError,
    Help,
    ListInvoices,
    Match,
    Settings,
    Start,
    Summary,
    Undo,
    Unmatched,
    parse_command,
)


def invoice(
    customer: str | None,
    amount: str | None,
    description: str = "",
    due: str | None = None,
    missing: tuple[str, ...] = (),
    phone: str | None = None,
) -> CreateInvoice:
    return CreateInvoice(customer, phone, Decimal(amount) if amount else None, description, due, missing)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("/start ABC123", Start("ABC123")),
        ("start ABC123", Start("ABC123")),
        ("/start@HesabuBot ABC123", Start("ABC123")),
        ("/START", Start(None)),
        ("/help", Help()),
        ("HELP", Help()),
        ("/help@HesabuBot", Help()),
        ("/unmatched", Unmatched()),
        ("Unmatched", Unmatched()),
        ("/undo", Undo()),
        ("undo", Undo()),
        ("/invoices", ListInvoices("open")),
        ("/invoices open", ListInvoices("open")),
        ("invoices OVERDUE", ListInvoices("overdue")),
        ("/invoices all", ListInvoices("all")),
        ("/match qkl5abcd12 INV-0042", Match("QKL5ABCD12", ("INV-0042",))),
        ("match QKL5ABCD12 INV-1, INV-2", Match("QKL5ABCD12", ("INV-1", "INV-2"))),
        ("/match QKL5ABCD12 INV-1,INV-2 42", Match("QKL5ABCD12", ("INV-1", "INV-2", "42"))),
        ("/summary", Summary("today")),
        ("/summary today", Summary("today")),
        ("summary Yesterday", Summary("yesterday")),
        ("/summary week", Summary("week")),
        ("/summary month", Summary("month")),
        ("/summary 2026-12-01", Summary("day", date(2026, 12, 1))),
        ("/customer Mary Wanjiku", CustomerLookup("Mary Wanjiku", None)),
        ("/customer 0712 345 678", CustomerLookup("0712 345 678", "254712345678")),
        ("customer +254712345678", CustomerLookup("+254712345678", "254712345678")),
        ("/export", Export()),
        ("/export nov", Export(month=11)),
        ("/export November", Export(month=11)),
        ("/export 2026-11", Export(month=11, year=2026)),
        ("/export last", Export(last=True)),
        ("/settings", Settings()),
        ("/settings language", Settings("language")),
        ("/settings Summary_Time 20:00", Settings("summary_time", "20:00")),
        ("/business", ChooseBusiness()),
        ("/business 2", ChooseBusiness(2)),
        ("business 1", ChooseBusiness(1)),
        ("hello", Chat("hello")),
        ("  how much did I make today?  ", Chat("how much did I make today?")),
        ("business is slow today", Chat("business is slow today")),  # no `/`: a failed parse is just chat
        ("help me please", Chat("help me please")),
        ("", Chat("")),
        ("QKL5ABCD12 Confirmed. Ksh2,500.00 received", Chat("QKL5ABCD12 Confirmed. Ksh2,500.00 received")),
    ],
)
def test_commands(text: str, expected: Command) -> None:
    assert parse_command(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("/invoice Mary Wanjiku 2500", invoice("Mary Wanjiku", "2500")),
        ("/invoice Mary 2,500 cake and cream due fri", invoice("Mary", "2500", "cake and cream", "fri")),
        ("invoice mary 2.5k", invoice("mary", "2500")),
        ("/INVOICE@HesabuBot Mary 2500", invoice("Mary", "2500")),
        ("/invoice Mary KES 2,500 rent", invoice("Mary", "2500", "rent")),
        ("/invoice Mary Ksh2500/= rent", invoice("Mary", "2500", "rent")),
        ("/invoice Mary 2500 due 12/12", invoice("Mary", "2500", "", "12/12")),
        ("/invoice Mary 2500 overdue fees due next friday", invoice("Mary", "2500", "overdue fees", "next friday")),
        ("/invoice Mary 2500 Due end of month", invoice("Mary", "2500", "", "end of month")),
        ("/invoice John Doe Kamau 15000 school fees term 1", invoice("John Doe Kamau", "15000", "school fees term 1")),
        # the first amount-reading token after a customer token is the amount
        ("/invoice Shop 24 2500", invoice("Shop", "24", "2500")),
        ('/invoice "Shop 24" 2500 goods', invoice("Shop 24", "2500", "goods")),
        ("/invoice 0712345678 2500", invoice("0712345678", "2500", phone="254712345678")),
        ("/invoice 0712 345 678 2500 milk", invoice("0712345678", "2500", "milk", phone="254712345678")),
        ("/invoice +254 712 345 678 1k", invoice("+254712345678", "1000", phone="254712345678")),
        ("/invoice Mary 0712345678 2500", invoice("Mary 0712345678", "2500")),
        # parts missing: the caller walks through them
        ("/invoice", invoice(None, None, missing=("customer", "amount"))),
        ("/invoice Mary Wanjiku", invoice("Mary Wanjiku", None, missing=("amount",))),
        ("/invoice 0712345678", invoice("0712345678", None, missing=("amount",), phone="254712345678")),
        ("/invoice 2500 cake", invoice(None, "2500", "cake", missing=("customer",))),
        ("/invoice Mary 2500 due", invoice("Mary", "2500", missing=("due",))),
        ("/invoice Mary due friday", invoice("Mary", None, "", "friday", missing=("amount",))),
    ],
)
def test_invoice(text: str, expected: CreateInvoice) -> None:
    assert parse_command(text) == expected


@pytest.mark.parametrize(
    ("text", "command", "reason"),
    [
        ("/invoice Mary 0", "invoice", "more than zero"),
        ("/invoice Mary -500", "invoice", "more than zero"),
        ("/invoice Mary 2.555 cake", "invoice", "two decimal places"),
        ("/invoice Mary 2,50", "invoice", "groups of three"),
        ("/invoice Mary 1000m", "invoice", "too large"),
        ("/invoices x", "invoices", "open, overdue or all"),
        ("/invoices open all", "invoices", "open, overdue or all"),
        ("/match", "match", "receipt"),
        ("/match x INV-1", "match", "not an M-Pesa receipt"),
        ("/match QKL5ABCD12", "match", "which invoice"),
        ("/summary fortnight", "summary", "today, yesterday"),
        ("/summary 2026-02-30", "summary", "no date"),
        ("/customer", "customer", "name or a phone"),
        ("/export foo", "export", "month like"),
        ("/export 2026-13", "export", "month like"),
        ("/business two", "business", "number"),
        ("/business 0", "business", "number"),
        ("/help me", "help", "takes nothing"),
        ("/undo it", "undo", "takes nothing"),
        ("/unmatched all", "unmatched", "takes nothing"),
        ("/start A B", "start", "on its own"),
        ("/frobnicate", "frobnicate", "don't know"),
    ],
)
def test_refusals_say_why_and_show_an_example(text: str, command: str, reason: str) -> None:
    result = parse_command(text)
    assert isinstance(result, GrammarError)
    assert result.command == command
    assert reason in result.reason
    assert result.example.startswith("/")


def test_summary_periods_are_half_open() -> None:
    today = date(2026, 12, 10)  # Thursday
    assert Summary().period_range(today) == (today, date(2026, 12, 11))
    assert Summary("yesterday").period_range(today) == (date(2026, 12, 9), today)
    assert Summary("week").period_range(today) == (date(2026, 12, 7), date(2026, 12, 11))
    assert Summary("month").period_range(today) == (date(2026, 12, 1), date(2026, 12, 11))
    assert Summary("day", date(2026, 11, 3)).period_range(today) == (date(2026, 11, 3), date(2026, 11, 4))


@pytest.mark.parametrize(
    ("export", "today", "start", "end"),
    [
        (Export(), date(2026, 12, 10), date(2026, 12, 1), date(2027, 1, 1)),
        (Export(last=True), date(2026, 12, 10), date(2026, 11, 1), date(2026, 12, 1)),
        (Export(last=True), date(2027, 1, 5), date(2026, 12, 1), date(2027, 1, 1)),
        (Export(month=11), date(2026, 12, 10), date(2026, 11, 1), date(2026, 12, 1)),
        (Export(month=11), date(2027, 2, 10), date(2026, 11, 1), date(2026, 12, 1)),  # latest November
        (Export(month=2), date(2027, 2, 10), date(2027, 2, 1), date(2027, 3, 1)),
        (Export(month=11, year=2025), date(2027, 2, 10), date(2025, 11, 1), date(2025, 12, 1)),
    ],
)
def test_export_months(export: Export, today: date, start: date, end: date) -> None:
    assert export.period_range(today) == (start, end)


def test_help_text_per_role() -> None:
    from bot.assistant.understanding import read_message

    owner, staff = HELP_TEXT["owner"], HELP_TEXT["staff"]
    commands = [line for line in owner + staff if line.startswith("/")]
    assert len(commands) == len(owner + staff) - 2  # and one line per role on plain words
    assert any(line.startswith("/undo") for line in owner)
    assert not any(line.startswith(("/undo", "/match", "/settings", "/export")) for line in staff)
    assert all(len(line) <= 66 for line in owner + staff)  # one line on a phone
    for line in commands:  # every command named in help is one the reader knows
        assert read_message(line.split()[0], date(2026, 12, 1)).ask != "unknown_command", line
