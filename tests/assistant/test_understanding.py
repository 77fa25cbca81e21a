"""The reader: every intent in English, Swahili and the mix, the things never booked, and the scores.

`chat_own.jsonl` is our own set of the benchmark's kinds, written apart from dev.jsonl (other names, days,
amounts and wording) to catch a reader that only fits the dev lines.
"""

from __future__ import annotations

import io
import json
from datetime import date
from pathlib import Path

import pytest

from bot.assistant.reading import BOOKING
from bot.assistant.understanding import read_message
from tests import score_chat
from webhooks.cli.chat import parse_line, parse_lines

HERE = Path(__file__).parent
DEV = Path("/work/shared/datasets/chat/dev.jsonl")
WED = date(2026, 12, 9)


def read(text: str, today: date = WED) -> tuple[str | None, dict[str, str]]:
    found = read_message(text, today)
    return found.intent, found.args


@pytest.mark.parametrize(("text", "intent", "args"), [
    ("/invoice Mary Wanjiku 2500 cake due friday", "invoice",
     {"customer": "Mary Wanjiku", "amount": "2500.00", "description": "cake", "due": "2026-12-11"}),
    ("Tuma bill ya elfu moja mia mbili kwa Esther, due 7/1", "invoice",
     {"customer": "Esther", "amount": "1200.00", "due": "2027-01-07"}),
    ("weka invoice ya Kerubo elfu 2 na mia 5, alipe Ijumaa ijayo", "invoice",
     {"customer": "Kerubo", "amount": "2500.00", "due": "2026-12-11"}),
    ("Invoice Cheruiyot laki moja na elfu ishirini, mahindi, due mwisho wa mwezi ujao", "invoice",
     {"customer": "Cheruiyot", "amount": "120000.00", "description": "mahindi", "due": "2027-01-31"}),
    ("Niaje, invoice Hamisi 2 thao, repair ya simu", "invoice",
     {"customer": "Hamisi", "amount": "2000.00", "description": "repair ya simu"}),
    ("invoice 0712 345 678 1500", "invoice", {"customer": "254712345678", "amount": "1500.00"}),
    ('/invoice "Shop 24" 3000 delivery', "invoice", {"customer": "Shop 24", "amount": "3000.00",
                                                      "description": "delivery"}),
    ("Nani hajalipa?", "invoices", {"filter": "open"}),
    ("Nani amechelewa kulipa?", "invoices", {"filter": "overdue"}),
    ("invoice zote, hata zilizolipwa", "invoices", {"filter": "all"}),
    ("Kuna pesa imeingia bila invoice?", "unmatched", {}),
    ("UL6HF2W9XC ni malipo ya INV-0033", "match", {"receipt": "UL6HF2W9XC", "invoice": "INV-0033"}),
    ("Weka ul8kc6v3ty kwa invoice namba 64", "match", {"receipt": "UL8KC6V3TY", "invoice": "INV-0064"}),
    ("Rudisha hiyo match ya mwisho", "undo", {}),
    ("Muhtasari wa jana", "summary", {"period": "yesterday"}),
    ("Nipe summary ya tarehe 25", "summary", {"period": "2026-11-25"}),
    ("Nitumie excel ya malipo ya mwezi uliopita", "export", {"month": "2026-11"}),
    ("export ya Oktoba", "export", {"month": "2026-10"}),
    ("Mary Wanjiku anadaiwa ngapi?", "customer", {"query": "Mary Wanjiku"}),
    ("Je, Achieng ameshalipa?", "customer", {"query": "Achieng"}),
    ("customer 0722 123 456", "customer", {"query": "254722123456"}),
    ("Mipangilio", "settings", {}),
    ("unaweza kufanya nini?", "help", {}),
    ("Niunganishe na biashara, code ni P9DK2MRS", "start", {"code": "P9DK2MRS"}),
    ("/start", "start", {}),
    ("Kiswahili tafadhali", "language", {"lang": "sw"}),
    ("switch to English", "language", {"lang": "en"}),
    ("Tuma prompt ya M-Pesa kwa 0798 765 432 ya invoice 64", "request",
     {"invoice": "INV-0064", "phone": "254798765432"}),
    ("Is UL5DN3K8RA real?", "verify", {"receipt": "UL5DN3K8RA"}),
    ("Boss, angalia kama UL9WX3P7HD ya 850 ni real", "verify", {"receipt": "UL9WX3P7HD", "amount": "850.00"}),
    ("Mary amelipa 2000 cash", "record", {"customer": "Mary", "amount": "2000.00"}),
    ("Otieno ameniletea laki moja cash", "record", {"customer": "Otieno", "amount": "100000.00"}),
    ("received 800 from Brian in cash", "record", {"customer": "Brian", "amount": "800.00"}),
])
def test_reads(text: str, intent: str, args: dict[str, str]) -> None:
    assert read(text) == (intent, args)


@pytest.mark.parametrize("text", [
    "Mary alisema atalipa 2000 kesho", "Kamau atanilipa 5000 kesho", "Nitatuma invoices kesho",
    "Usitume invoice kwa Otieno bado", "Don't invoice Peter yet", "Nimelipa stima 2,000", "I paid the supplier 4000",
    "Mary ni mteja mzuri", "Kamau hulipa kila Ijumaa", "Mary amelipa 2000?", "Did Mary pay 2000?",
    "Invoice Mary na Kamau 3000", "invoice Mary 2000 na Kamau 3000", "Mary 2500", "amelipa 1500",
    "Kamau amelipa cash", "invoice Peter 0", "invoice Grace 1500 due 31/11", "/invoice Mary 2500 due",
    "Tuma STK push kwa Mary", "match UL3XK9P2QM", "futa", "habari", "asante sana",
])
def test_never_books_a_statement_a_question_or_a_half_request(text: str) -> None:
    intent, _ = read(text)
    assert intent not in BOOKING


def test_a_half_read_invoice_keeps_what_it_read_and_asks_in_the_persons_language() -> None:
    found = read_message("Tengeneza invoice ya 2500", WED)
    assert (found.intent, found.partial, found.ask, found.lang) == (None, "invoice", "invoice.customer", "sw")
    assert found.args == {"amount": "2500.00"}
    english = read_message("create an invoice for Mary", WED)
    assert (english.ask, english.lang, english.args) == ("invoice.amount", "en", {"customer": "Mary"})


def test_parse_line_answers_every_line_with_errors_as_values() -> None:
    assert parse_line("not json", WED)["error"]
    assert parse_line('["a"]', WED) == {"id": None, "error": "not a JSON object"}
    assert parse_line('{"id": "x", "text": 5}', WED) == {"id": "x", "error": "text must be a string"}
    asked = parse_line('{"id": "y", "text": "Tengeneza invoice ya 2500", "role": "staff"}', WED)
    assert asked["intent"] is None and asked["ask"].startswith("Invoice ni ya nani")
    out = io.StringIO()
    parse_lines(['{"id": 1, "text": "undo"}\n', "\n", '{"id": 2, "text": "msaada"}\n'], out, WED)
    assert [json.loads(line)["intent"] for line in out.getvalue().splitlines()] == ["undo", "help"]


def test_a_long_message_is_read_in_bounded_time() -> None:
    text = "Tuma invoice ya elfu mbili kwa Mary " * 3000
    found = read_message(text, WED)
    assert found.intent in (None, "invoice")


def _score(path: Path) -> dict[str, object]:
    rows = score_chat.read_jsonl(str(path))
    actual = [parse_line(json.dumps({"id": r["id"], "text": r["text"], "role": r["role"]}),
                         date.fromisoformat(r["today"])) for r in rows]
    report, _ = score_chat.score(rows, actual)
    return report


def _meets_targets(report: dict[str, object]) -> None:
    overall = report["overall"]
    assert isinstance(overall, dict)
    assert overall["harmful"] <= 1 and overall["wrong_booking"] <= 3, overall
    assert overall["exact"] >= 0.85 and overall["intent"] >= 0.92 and overall["reply_lang"] >= 0.90, overall
    by_lang, by_form = report["by_lang"], report["by_form"]
    assert isinstance(by_lang, dict) and isinstance(by_form, dict)
    assert all(by_lang[lang]["exact"] >= 0.80 for lang in ("en", "sw", "mix")), by_lang
    assert by_form["slash"]["exact"] >= 0.95, by_form


def test_our_own_set_meets_the_targets() -> None:
    _meets_targets(_score(HERE / "data" / "chat_own.jsonl"))


@pytest.mark.skipif(not DEV.exists(), reason="benchmark dataset not mounted")
def test_dev_set_meets_the_targets() -> None:
    _meets_targets(_score(DEV))
