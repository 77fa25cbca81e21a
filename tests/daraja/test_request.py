"""`/request`: an STK push's whole life through the real client, the fake Daraja and our real /stk callback,
on real SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import json
import logging

import httpx
import pytest
from sqlmodel import Session, select

from bot.storage.tables import CallbackRow, MatchDecisionRow, OutboxRow, PaymentRow, StkPushRow
from tests.daraja.support import APP_KEY, APP_SECRET, PASSKEY, eventually, live_hesabu
from tests.fakes.daraja import NO_CALLBACK, FakeDaraja

pytestmark = pytest.mark.anyio


def pushes(engine) -> list[StkPushRow]:
    with Session(engine) as session:
        return list(session.exec(select(StkPushRow).order_by(StkPushRow.id)))


def payment_rows(engine) -> list[PaymentRow]:
    with Session(engine) as session:
        return list(session.exec(select(PaymentRow).order_by(PaymentRow.id)))


async def test_a_push_sent_paid_matched_to_its_invoice_and_the_asker_told(db_url, tmp_path, capfd, caplog):
    caplog.set_level(logging.DEBUG)
    async with live_hesabu(db_url, tmp_path) as live:
        live.fake.callback_delay = 1.0
        [reply] = live.say("/request INV-0001")
        assert "Asking Mary W. (2547*****678) to pay KES 1,000.00 for INV-0001" in reply
        [again] = live.say("/request inv-0001")  # the same invoice and phone while the first is open
        assert "still waiting" in again
        await live.told("Sent: Mary W. has the M-Pesa prompt for KES 1,000.00 (INV-0001)")
        [call] = live.fake.calls_to("/mpesa/stkpush/v1/processrequest")
        assert call.body["AccountReference"] == "INV-0001" and call.body["PartyA"] == "254712345678"
        assert call.body["CallBackURL"] == f"http://127.0.0.1:{live.settings.public_url.rsplit(':', 1)[1]}" \
                                           f"/stk/{live.shop.token}/callback"
        await live.told("paid INV-0001 in full")
        [push] = pushes(live.engine)
        assert push.status == "paid" and push.trans_id and push.asked_by == "web:web-asker-1"
        [payment] = payment_rows(live.engine)
        assert payment.trans_id == push.trans_id and payment.status == "matched" and payment.source == "stk"
        with Session(live.engine) as session:
            decision = session.exec(select(MatchDecisionRow)).one()
        assert json.loads(decision.reasons)[0] == "paid by the push for INV-0001"
        assert len(live.fake.calls_to("/mpesa/stkpush/v1/processrequest")) == 1
    logged = "".join(capfd.readouterr()) + caplog.text
    assert "stk.push" in caplog.text  # the log was captured, and it holds no phone and no secret
    for secret in ("254712345678", "0712345678", APP_SECRET, APP_KEY, PASSKEY):
        assert secret not in logged


@pytest.mark.parametrize(("code", "words"), [
    (1032, "Mary W. cancelled the M-Pesa request for INV-0001."),
    (1037, "Mary W. did not answer the M-Pesa prompt for INV-0001"),
    (2001, "Mary W. entered a wrong M-Pesa PIN for INV-0001"),
    (1, "Mary W. does not have enough money on M-Pesa for INV-0001"),
])
async def test_each_failure_is_told_to_the_asker_in_words_and_books_nothing(db_url, tmp_path, code, words):
    async with live_hesabu(db_url, tmp_path) as live:
        live.fake.outcomes["254712345678"] = code
        live.say("/request INV-0001")
        await live.told(words)
        [push] = pushes(live.engine)
        assert push.status == "failed" and push.result_code == code
        assert payment_rows(live.engine) == []
        live.fake.outcomes.clear()
        assert "Asking Mary W." in live.say("/request INV-0001")[0]  # a failed push can be asked again


async def test_a_push_whose_callback_never_comes_is_resolved_by_query(db_url, tmp_path):
    async with live_hesabu(db_url, tmp_path) as live:
        live.fake.outcomes["254722000126"] = NO_CALLBACK
        live.fake.query_pending = 1  # one more 4999 after the customer answered
        live.say("/request INV-0002")
        await live.told("Sent: John O.")
        with Session(live.engine) as session:  # the first check is due 90 s later: bring it forward
            push = session.exec(select(StkPushRow)).one()
            push.next_check_at = push.sent_at
            session.add(push)
            session.commit()
        live.fake.fail_next("/mpesa/stkpushquery/v1/query", 500, {"requestId": "r", "errorCode": "500.001.1001",
                                                                 "errorMessage": ""})
        for _ in range(6):  # 500.001.1001, then 4999 while the prompt is open and once more: all "ask again"
            await live.app.state.services.stk.run_once()
            with Session(live.engine) as session:
                push = session.exec(select(StkPushRow)).one()
                if push.status != "pending":
                    break
                push.next_check_at = push.sent_at
                session.add(push)
                session.commit()
            await asyncio.sleep(0.3)
        answers = [c.status for c in live.fake.calls_to("/mpesa/stkpushquery/v1/query")]
        assert answers[0] == 500 and len(answers) >= 3
        await live.told("John O. did not answer the M-Pesa prompt for INV-0002")
        [push] = pushes(live.engine)
        assert push.status == "failed" and push.result_code == 1037 and push.queries >= 3


async def test_a_forged_stk_result_is_journaled_and_flagged_not_booked(db_url, tmp_path):
    async with live_hesabu(db_url, tmp_path) as live:
        live.link("web-owner", "owner")
        forged = {"Body": {"stkCallback": {
            "MerchantRequestID": "1-2-3", "CheckoutRequestID": "ws_CO_01122026101010101712345678", "ResultCode": 0,
            "ResultDesc": "The service request is processed successfully.", "CallbackMetadata": {"Item": [
                {"Name": "Amount", "Value": 1000}, {"Name": "MpesaReceiptNumber", "Value": "UL1FORGED1"},
                {"Name": "TransactionDate", "Value": 20261201101010},
                {"Name": "PhoneNumber", "Value": 254712345678}]}}}}
        async with httpx.AsyncClient(base_url=live.settings.public_url) as client:
            answer = await client.post(f"/stk/{live.shop.token}/callback", content=json.dumps(forged))
        assert answer.status_code == 200
        assert payment_rows(live.engine) == []
        with Session(live.engine) as session:
            [journal] = session.exec(select(CallbackRow)).all()
            flags = session.exec(select(OutboxRow).where(OutboxRow.kind == "callback.flagged")).all()
        assert journal.outcome == "unsolicited" and journal.flagged and journal.body == json.dumps(forged).encode()
        assert len(flags) == 1 and "never sent" in json.loads(flags[0].payload)["reason"]
        await live.told("never sent", chat_id="web-owner")


async def test_a_business_without_credentials_keeps_stk_results_from_another_system(db_url, tmp_path):
    async with live_hesabu(db_url, tmp_path, credentials=False) as live:
        assert "hesabu daraja set" in live.say("/request INV-0001")[0]
        body = {"Body": {"stkCallback": {
            "MerchantRequestID": "1-2-3", "CheckoutRequestID": "ws_CO_elsewhere", "ResultCode": 0, "ResultDesc": "ok",
            "CallbackMetadata": {"Item": [{"Name": "Amount", "Value": 1000},
                                          {"Name": "MpesaReceiptNumber", "Value": "UL1OTHER01"},
                                          {"Name": "TransactionDate", "Value": 20261201101010},
                                          {"Name": "PhoneNumber", "Value": 254712345678}]}}}}
        async with httpx.AsyncClient(base_url=live.settings.public_url) as client:
            assert (await client.post(f"/stk/{live.shop.token}/callback", json=body)).status_code == 200
        [payment] = payment_rows(live.engine)
        assert payment.trans_id == "UL1OTHER01"


async def test_request_overdue_asks_after_confirmation_one_push_each(db_url, tmp_path):
    async with live_hesabu(db_url, tmp_path, overdue=True) as live:
        [confirm] = live.say("/request overdue")
        assert "Ask 5 customers" in confirm and "INV-0001" in confirm and "INV-0005" in confirm
        assert pushes(live.engine) == []
        [done] = live.tap("rq:y")
        assert "Sending 5 M-Pesa requests" in done
        await eventually(lambda: len(live.fake.calls_to("/mpesa/stkpush/v1/processrequest")) == 5)
        phones = sorted(c.body["PhoneNumber"] for c in live.fake.calls_to("/mpesa/stkpush/v1/processrequest"))
        assert phones == sorted(["254712345678", "254722000126", "254733111222", "254701234567", "254798765432"])
        assert "expired" in live.tap("rq:y")[0]  # a second tap sends nothing more


async def test_daraja_refusing_the_push_is_told_and_never_retried(db_url, tmp_path):
    with FakeDaraja() as fake:
        fake.fail_next("/mpesa/stkpush/v1/processrequest", 400,
                       {"requestId": "x", "errorCode": "400.002.02",
                        "errorMessage": "Bad Request - Invalid PhoneNumber"})
        async with live_hesabu(db_url, tmp_path, fake=fake) as live:
            live.say("/request INV-0001")
            told = await live.told("M-Pesa did not take the request for INV-0001")
            assert "Invalid PhoneNumber" in told
            [push] = pushes(live.engine)
            assert push.status == "refused"
            assert len(fake.calls_to("/mpesa/stkpush/v1/processrequest")) == 1
