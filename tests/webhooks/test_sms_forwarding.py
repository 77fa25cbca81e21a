"""`POST /sms/{token}` against real SQLite and PostgreSQL: each forwarder's shape, signatures, other senders,
bad bodies, and an SMS merging with the C2B callback of the same receipt."""

from __future__ import annotations

import json
import time

import pytest
from sqlmodel import Session, select

import bot.assistant.sources  # noqa: F401 - the conflict renderer
from bot.assistant.renderers import render_outbox_message
from bot.storage.db import unit_of_work
from bot.storage.forwarding import set_up_forwarding
from bot.storage.tables import BusinessRow, CallbackRow, OutboxRow, PaymentRow
from tests.support import add_business, c2b, count, journal, payments, running_service
from webhooks.routes.sms import sign

pytestmark = pytest.mark.anyio
TILL_SMS = ("UJ2H08M4M3 Confirmed.on 2/10/26 at 7:37 PMKSH40.00 received from 254700000001 Jane Doe. "
            "New Account balance is KSH1,090.05. Transaction cost, KSH0.00.")


def gateway(text: str, sender: str = "MPESA", event: str = "sms:received") -> bytes:
    """capcom6/android-sms-gateway's webhook body, as its docs show it."""
    return json.dumps({"deviceId": "ffffffffceb0b1db00000193991c27e5", "event": event, "id": "-9qZ4oiiZZRm",
                       "payload": {"message": text, "receivedAt": "2026-10-02T19:37:55.000+03:00",
                                   "messageId": "69bde8d0", "phoneNumber": sender, "simNumber": 1},
                       "webhookId": "LreFUt-Z3sSq0JufY9uWB"}).encode()


def sms_to_url(text: str, sender: str = "MPESA") -> bytes:
    """bogkonstantin/android_income_sms_gateway_webhook's default template."""
    return json.dumps({"from": sender, "text": text, "sentStamp": "1790440675000", "receivedStamp": 1790440676000,
                       "sim": "SIM1"}).encode()


def plain(text: str, sender: str = "MPESA") -> bytes:
    return json.dumps({"from": sender, "text": text, "received_at": "2026-10-02T19:38:00+03:00"}).encode()


def signing_key(engine, business_id: int, require: bool = False) -> str:
    with unit_of_work(engine) as session:
        business = session.get(BusinessRow, business_id)
        return set_up_forwarding(session, business, require_signature=require).signing_key or ""


@pytest.mark.parametrize("shape", [gateway, sms_to_url, plain])
async def test_each_forwarder_shape_becomes_one_sms_payment(db_url, tmp_path, shape):
    async with running_service(db_url, tmp_path) as svc:
        shop = add_business(svc.engine, "600984", till=True)
        for _ in range(2):  # the app retries: still one payment
            response = await svc.client.post(f"/sms/{shop.token}", content=shape(TILL_SMS))
            assert response.status_code == 200 and response.json() == {"status": "accepted"}
        [p] = payments(svc.engine, shop.id)
        assert (p.trans_id, str(p.amount), p.source, p.sources, p.payer_name) == (
            "UJ2H08M4M3", "40.00", "sms", "sms", "Jane Doe")
        assert [j.source for j in journal(svc.engine)] == ["sms", "sms"]
        assert journal(svc.engine)[0].body == shape(TILL_SMS)


async def test_an_sms_and_the_c2b_callback_of_the_same_receipt_are_one_payment(db_url, tmp_path):
    async with running_service(db_url, tmp_path) as svc:
        shop = add_business(svc.engine, "600984", till=True)
        assert (await svc.client.post(f"/sms/{shop.token}", content=plain(TILL_SMS))).status_code == 200
        body = c2b("UJ2H08M4M3", "600984", amount="40.00", ref="INV-0001")
        assert (await svc.client.post(f"/c2b/{shop.token}/confirmation", content=json.dumps(body))).status_code == 200
        [p] = payments(svc.engine, shop.id)
        assert (p.sources, p.shortcode, p.reference) == ("sms,c2b", "600984", "INV-0001")


async def test_an_sms_with_another_amount_is_flagged_not_doubled(db_url, tmp_path):
    async with running_service(db_url, tmp_path) as svc:
        shop = add_business(svc.engine, "600984", till=True)
        body = c2b("UJ2H08M4M3", "600984", amount="400.00")
        await svc.client.post(f"/c2b/{shop.token}/confirmation", content=json.dumps(body))
        assert (await svc.client.post(f"/sms/{shop.token}", content=plain(TILL_SMS))).status_code == 200
        [p] = payments(svc.engine, shop.id)
        assert str(p.amount) == "400.00" and p.sources == "c2b"
        assert count(svc.engine, OutboxRow, kind="payment.conflict") == 1
        with Session(svc.engine) as session:
            [row] = session.exec(select(OutboxRow).where(OutboxRow.kind == "payment.conflict"))
            reply = render_outbox_message(session, row)
        assert reply is not None and "UJ2H08M4M3" in reply.text
        assert "KES 40.00" in reply.text and "KES 400.00" in reply.text and "forwarded SMS" in reply.text


async def test_unknown_token_is_404_and_stores_nothing(db_url, tmp_path):
    async with running_service(db_url, tmp_path) as svc:
        add_business(svc.engine, "600984")
        response = await svc.client.post("/sms/" + "0" * 32, content=plain(TILL_SMS))
        assert response.status_code == 404 and journal(svc.engine) == []


@pytest.mark.parametrize("body", [plain("Your OTP is 1234", sender="+254711000111"),
                                  gateway(TILL_SMS, sender="0722000000"), gateway(TILL_SMS, event="system:ping")])
async def test_other_senders_and_events_are_ignored_unstored(db_url, tmp_path, body):
    async with running_service(db_url, tmp_path) as svc:
        shop = add_business(svc.engine, "600984")
        response = await svc.client.post(f"/sms/{shop.token}", content=body)
        assert response.status_code == 200 and response.json() == {"status": "ignored"}
        assert journal(svc.engine) == [] and payments(svc.engine, shop.id) == []


@pytest.mark.parametrize("body", [b"not json", b"[1,2]", b'{"hello": "world"}', b'{"from": 1, "text": []}'])
async def test_bad_bodies_are_kept_flagged_and_accepted(db_url, tmp_path, body):
    async with running_service(db_url, tmp_path) as svc:
        shop = add_business(svc.engine, "600984")
        response = await svc.client.post(f"/sms/{shop.token}", content=body)
        assert response.status_code == 200
        [row] = journal(svc.engine)
        assert (row.body, row.outcome, row.flagged) == (body, "invalid", True)
        assert count(svc.engine, OutboxRow, kind="callback.flagged") == 1 and payments(svc.engine, shop.id) == []


async def test_an_mpesa_message_it_cannot_read_is_kept_and_flagged(db_url, tmp_path):
    async with running_service(db_url, tmp_path) as svc:
        shop = add_business(svc.engine, "600984")
        text = "UHNK63KR46 Confirmed.You have received Ksh500.00 from NAOMI NJERI NDUNGU 0720***167 on..."
        assert (await svc.client.post(f"/sms/{shop.token}", content=plain(text))).status_code == 200
        [row] = journal(svc.engine)
        assert row.flagged and row.external_id == "UHNK63KR46" and payments(svc.engine, shop.id) == []


async def test_money_out_and_notices_from_mpesa_are_journaled_not_paid(db_url, tmp_path):
    async with running_service(db_url, tmp_path) as svc:
        shop = add_business(svc.engine, "600984")
        out = ("QLR551N4W5 Confirmed. Ksh99.00 sent to KCB Paybill AC for account 1215681224 on 27/12/22 at "
               "3:55 PM New M-PESA balance is Ksh480.26.")
        for text in (out, "Dial *334# to check your M-PESA statement."):
            assert (await svc.client.post(f"/sms/{shop.token}", content=plain(text))).status_code == 200
        assert [(j.outcome, j.flagged) for j in journal(svc.engine)] == [("not_payment", False)] * 2
        assert payments(svc.engine, shop.id) == []


async def test_a_signed_post_is_verified(db_url, tmp_path):
    async with running_service(db_url, tmp_path) as svc:
        shop = add_business(svc.engine, "600984")
        key = signing_key(svc.engine, shop.id)
        body = gateway(TILL_SMS)
        stamp = str(int(time.time()))
        good = {"X-Signature": sign(key, body, stamp), "X-Timestamp": stamp}
        bad = [{"X-Signature": sign("another key", body, stamp), "X-Timestamp": stamp},
               {"X-Signature": sign(key, body + b" ", stamp), "X-Timestamp": stamp},
               {"X-Signature": sign(key, body, "1000"), "X-Timestamp": "1000"},  # a replay from long ago
               {"X-Signature": sign(key, body, stamp)}]
        for headers in bad:
            assert (await svc.client.post(f"/sms/{shop.token}", content=body, headers=headers)).status_code == 403
        assert journal(svc.engine) == []
        assert (await svc.client.post(f"/sms/{shop.token}", content=body, headers=good)).status_code == 200
        assert len(payments(svc.engine, shop.id)) == 1


async def test_a_business_can_refuse_unsigned_posts(db_url, tmp_path):
    async with running_service(db_url, tmp_path) as svc:
        shop = add_business(svc.engine, "600984")
        key = signing_key(svc.engine, shop.id, require=True)
        body = gateway(TILL_SMS)
        assert (await svc.client.post(f"/sms/{shop.token}", content=body)).status_code == 403
        stamp = str(int(time.time()))
        headers = {"X-Signature": sign(key, body, stamp), "X-Timestamp": stamp}
        assert (await svc.client.post(f"/sms/{shop.token}", content=body, headers=headers)).status_code == 200


async def test_too_large_is_413(db_url, tmp_path):
    async with running_service(db_url, tmp_path, max_callback_bytes=1024) as svc:
        shop = add_business(svc.engine, "600984")
        response = await svc.client.post(f"/sms/{shop.token}", content=plain("x" * 2000))
        assert response.status_code == 413 and journal(svc.engine) == []
        with Session(svc.engine) as session:
            assert session.get(PaymentRow, 1) is None and session.get(CallbackRow, 1) is None
