"""The sources check on SQLite and PostgreSQL: SMS reversals applied once, the callback health alarm told once."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select
from sqlmodel import Session

import bot.assistant.sources  # noqa: F401 - the renderers
from bot.assistant.renderers import render_outbox_message
from bot.bookkeeping.health import check_sources
from bot.ledger.payments import IncomingPayment, PaymentSource
from bot.ledger.phones import read_msisdn
from bot.storage.businesses import CallbackTarget
from bot.storage.callbacks import record_callbacks, record_reports
from bot.storage.db import make_engine, unit_of_work
from bot.storage.tables import BusinessRow, CallbackRow, OutboxRow, PaymentRow
from tests.support import add_business, c2b
from webhooks.intake.records import build_record

T0 = datetime(2026, 10, 2, 6, 0, tzinfo=UTC)


@pytest.fixture
def engine(db_url):
    engine = make_engine(db_url)
    yield engine
    engine.dispose()


def callback(engine, shop, trans_id, at):
    target = CallbackTarget(shop.id, shop.token, frozenset({"600984"}), "paybill", False)
    body = json.dumps(c2b(trans_id, "600984")).encode()
    with engine.begin() as conn:
        record_callbacks(conn, [build_record("c2b_confirmation", target, body, "", at)], at)


def sms_payment(engine, shop, trans_id, at):
    p = IncomingPayment(trans_id, Decimal("500.00"), at, "", "", "JANE", read_msisdn(""), PaymentSource.SMS)
    with engine.begin() as conn:
        record_reports(conn, shop.id, [p], None, at)


def silent(engine):
    with Session(engine) as session:
        return list(session.scalars(select(OutboxRow).where(OutboxRow.kind == "callbacks.silent")))


def test_the_alarm_is_raised_once_when_only_sms_sees_payments(engine):
    shop = add_business(engine, "600984")
    callback(engine, shop, "UJ1A000001", T0)
    sms_payment(engine, shop, "UJ1A000002", T0 + timedelta(hours=1))
    assert check_sources(engine, T0 + timedelta(hours=2)).alarms == 0  # not silent long enough yet
    assert check_sources(engine, T0 + timedelta(hours=7)).alarms == 1
    assert check_sources(engine, T0 + timedelta(hours=9)).alarms == 0  # told once
    [row] = silent(engine)
    with Session(engine) as session:
        reply = render_outbox_message(session, row)
    assert reply is not None and "since 02/10 09:00" in reply.text and "one payment arrived another way" in reply.text
    callback(engine, shop, "UJ1A000003", T0 + timedelta(hours=10))  # callbacks are back...
    sms_payment(engine, shop, "UJ1A000004", T0 + timedelta(hours=11))
    assert check_sources(engine, T0 + timedelta(hours=17)).alarms == 1  # ...and silent again: a new alarm


def test_no_alarm_for_a_shop_without_the_api_or_when_callbacks_confirm(engine):
    sms_only = add_business(engine, "600984")
    sms_payment(engine, sms_only, "UJ1A000002", T0)
    api = add_business(engine, "600985")
    with unit_of_work(engine) as session:
        business = session.get(BusinessRow, api.id)
        business.settings_json = json.dumps({"sources": {"callback_alarm_hours": 1}})
        session.add(business)
    target = CallbackTarget(api.id, api.token, frozenset({"600985"}), "paybill", False)
    with engine.begin() as conn:
        record_callbacks(conn, [build_record("c2b_confirmation", target, json.dumps(
            c2b("UJ1A000009", "600985")).encode(), "", T0)], T0)
    assert check_sources(engine, T0 + timedelta(days=2)).alarms == 0
    assert silent(engine) == []


def test_an_sms_reversal_is_applied_once(engine):
    shop = add_business(engine, "600984", till=True)
    callback(engine, shop, "UK2XY34ZZZ", T0)
    target = CallbackTarget(shop.id, shop.token, frozenset({"600984"}), "till", False)
    text = "UK3AB12CDE Confirmed. Transaction UK2XY34ZZZ has been reversed. Your account balance is now Ksh1,200.00."
    body = json.dumps({"from": "MPESA", "text": text, "received_at": "2026-10-02T10:00:00+03:00"}).encode()
    with engine.begin() as conn:
        [recorded] = record_callbacks(conn, [build_record("sms", target, body, "", T0)], T0)
    assert recorded.outcome.value == "reversal"
    assert check_sources(engine, T0 + timedelta(minutes=5)).reversals == 1
    assert check_sources(engine, T0 + timedelta(minutes=10)).reversals == 0
    with Session(engine) as session:
        payment = session.scalars(select(PaymentRow)).one()
        journal = session.get(CallbackRow, recorded.callback_id)
        told = list(session.scalars(select(OutboxRow).where(OutboxRow.kind == "payment.reversed")))
        reply = render_outbox_message(session, told[0])
    assert payment.status == "reversed" and journal.handled_at is not None and len(told) == 1
    assert reply is not None and "UK2XY34ZZZ" in reply.text and "reversed" in reply.text
