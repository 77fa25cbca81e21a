"""Pull Transactions through the real client and the fake Daraja: recovering a payment the callback missed,
confirming the ones Hesabu had, flagging a disagreement, never doubling one; the counts in /settings."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import Session, select

from bot.assistant.conversation import handle_message
from bot.assistant.messages import InboundMessage
from bot.assistant.renderers import render_outbox_message
from bot.storage.businesses import callback_targets
from bot.storage.callbacks import record_callbacks
from bot.storage.chats import link_chat
from bot.storage.db import make_engine, unit_of_work
from bot.storage.tables import CallbackRow, OutboxRow, PaymentRow
from tests.daraja.support import fill_book
from tests.daraja.test_credentials import SECRETS, cli, lines
from tests.fakes.daraja import FakeDaraja
from tests.support import add_business, c2b
from webhooks.intake.records import build_record

NOW = datetime.now(UTC).replace(microsecond=0)


@pytest.fixture
def pulled(db_url, monkeypatch):
    monkeypatch.setenv("HESABU_DATABASE_URL", db_url)
    monkeypatch.setenv("HESABU_SECRET_KEY", "p" * 40)
    monkeypatch.setenv("HESABU_PUBLIC_URL", "https://pay.example.co.ke")
    engine = make_engine(db_url)
    shop = add_business(engine, "600984")
    fill_book(engine, shop, NOW.date())
    with FakeDaraja(pull_page_size=2) as fake:
        fake.add_app(SECRETS["consumer_key"], SECRETS["consumer_secret"])
        monkeypatch.setenv("HESABU_DARAJA_URL", fake.url)
        cli("daraja", "set", "600984", stdin=lines(SECRETS))
        cli("daraja", "register-pull", "600984", "--nominated-number", "0722000000")
        target = next(t for t in callback_targets(engine).values() if t.business_id == shop.id)
        with engine.begin() as conn:  # two receipts whose C2B confirmation did arrive
            record_callbacks(conn, [build_record("c2b_confirmation", target, json.dumps(c2b(code, "600984", amount,
                                                                                                ref)).encode(),
                                                 "196.201.214.200", NOW) for code, amount, ref in
                                    (("UL10000001", "1000.00", "INV-0001"), ("UL10000003", "2000.00", "INV-0003"))],
                             NOW)
        fake.add_pull_row("600984", "UL10000001", "1000.00", NOW - timedelta(minutes=50), reference="INV-0001")
        fake.add_pull_row("600984", "UL10000002", "1500.00", NOW - timedelta(minutes=40), reference="INV-0002")
        fake.add_pull_row("600984", "UL10000003", "2100.00", NOW - timedelta(minutes=30), reference="INV-0003")
        fake.add_pull_row("600984", "UL10000009", "99.00", NOW - timedelta(hours=30))  # outside the window
        yield engine, shop, fake
    engine.dispose()


def stored(engine) -> dict[str, PaymentRow]:
    with Session(engine) as session:
        return {p.trans_id: p for p in session.exec(select(PaymentRow))}


def test_pull_recovers_confirms_and_flags_and_never_doubles(pulled):
    engine, shop, fake = pulled
    first = json.loads(cli("daraja", "pull", "600984", "--hours", "3", "--json"))
    assert (first["recovered"], first["confirmed"], first["conflicts"], first["rows"]) == (1, 1, 1, 3)
    assert first["pages"] == 3  # 2 + 1 rows, then an empty page
    assert [c.body["OffSetValue"] for c in fake.calls_to("/pulltransactions/v1/query")] == ["0", "2", "3"]
    payments = stored(engine)
    assert set(payments) == {"UL10000001", "UL10000002", "UL10000003"}
    recovered = payments["UL10000002"]
    assert recovered.source == "pull" and recovered.status == "matched" and recovered.confirmed_at is not None
    assert payments["UL10000001"].confirmed_at is not None and payments["UL10000001"].source == "c2b"
    assert payments["UL10000003"].confirmed_at is None and payments["UL10000003"].amount == 2000  # unchanged
    with Session(engine) as session:
        alert = session.exec(select(OutboxRow).where(OutboxRow.kind == "payment.alert",
                                                     OutboxRow.dedupe_key.contains(str(recovered.id)))).one()
        text = render_outbox_message(session, alert).text
        conflict = session.exec(select(OutboxRow).where(OutboxRow.kind == "payment.conflict")).one()
        journaled = session.exec(select(CallbackRow).where(CallbackRow.source == "pull")).all()
    assert text.startswith("Recovered: this payment's notification never arrived") and "INV-0002" in text
    assert json.loads(conflict.payload)["trans_id"] == "UL10000003"
    assert len(journaled) == 3  # every row journaled raw, like a callback

    again = json.loads(cli("daraja", "pull", "600984", "--json"))
    assert (again["recovered"], again["confirmed"], again["conflicts"]) == (0, 2, 1)
    assert set(stored(engine)) == {"UL10000001", "UL10000002", "UL10000003"}
    with Session(engine) as session:
        assert len(session.exec(select(OutboxRow).where(OutboxRow.kind == "payment.conflict")).all()) == 1

    shown = json.loads(cli("daraja", "show", "600984", "--json"))
    assert shown["last_pull"]["recovered"] == 0 and shown["last_pull_at"] is not None
    with unit_of_work(engine) as session:
        link_chat(session, "web", "owner-1", shop.id, "owner", "Owner", NOW)
        [reply] = handle_message(session, InboundMessage("web", "owner-1", "Owner", "/settings"), NOW)
    assert "M-Pesa check (Pull) 600984 at" in reply.text and "0 recovered, 2 confirmed, 1 disagreeing" in reply.text


def test_pull_errors_are_said_plainly(pulled):
    _engine, _shop, fake = pulled
    fake.fail_next("/pulltransactions/v1/query", 500, {"requestId": "x", "errorCode": "500.003.03",
                                                      "errorMessage": "Quota Violation"}, times=3)
    out = cli("daraja", "pull", "600984", ok=False)
    assert "Quota Violation" in out
    assert "no business has shortcode 111111" in cli("daraja", "pull", "111111", ok=False)
