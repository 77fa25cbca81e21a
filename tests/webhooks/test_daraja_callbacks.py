"""The Daraja endpoints against real SQLite and real PostgreSQL: every sample, duplicates, bad input."""

from __future__ import annotations

import asyncio
import hashlib
import json
from decimal import Decimal

import pytest

from bot.storage.tables import CallbackRow, OutboxRow, PaymentRow, StkAttemptRow
from tests.support import add_business, c2b, count, journal, payload, payments, running_service

pytestmark = pytest.mark.anyio
C2B_SAMPLES = [
    "c2b_confirmation_v1_hashed_sandbox_2025.json",
    "c2b_confirmation_v2_masked_doc.json",
    "c2b_validation_or_confirmation_registerurl_page_doc.json",
    "c2b_validation_2017_sandbox_unmasked.json",
]
STK_PAID = ["stk_callback_success_doc.json", "stk_callback_success_2026_no_balance.json",
            "stk_callback_success_2018_balance_without_value.json"]
STK_FAILED = {
    "stk_callback_cancelled_1032_doc.json": 1032, "stk_callback_cancelled_1032_2019_prefixed.json": 1032,
    "stk_callback_smsc_ack_timeout_1036_2019.json": 1036, "stk_callback_timeout_1037_2021.json": 1037,
    "stk_callback_timeout_1037_2024.json": 1037, "stk_callback_timeout_1037_2026_sandbox_ids_elided.json": 1037,
    "stk_callback_wrong_pin_2001_2019.json": 2001,
}
ACK = {"ResultCode": 0, "ResultDesc": "Accepted"}


@pytest.mark.parametrize("sample", C2B_SAMPLES)
async def test_every_c2b_sample_becomes_one_payment(db_url, tmp_path, sample):
    async with running_service(db_url, tmp_path) as svc:
        body = payload(sample)
        shop = add_business(svc.engine, str(body["BusinessShortCode"]))
        response = await svc.client.post(f"/c2b/{shop.token}/confirmation", content=json.dumps(body))
        assert response.status_code == 200 and response.json() == ACK
        [p] = payments(svc.engine, shop.id)
        assert p.trans_id == body["TransID"].upper()
        assert p.amount == Decimal(str(body["TransAmount"])).quantize(Decimal("0.01"))
        assert p.paid_at.tzinfo is not None and p.paid_at.utcoffset().total_seconds() == 0
        assert journal(svc.engine)[0].body == json.dumps(body).encode()  # exactly as received


async def test_v1_hash_and_nairobi_time_are_stored_exactly(db_url, tmp_path):
    async with running_service(db_url, tmp_path) as svc:
        body = payload("c2b_confirmation_v1_hashed_sandbox_2025.json")
        shop = add_business(svc.engine, str(body["BusinessShortCode"]))
        await svc.client.post(f"/c2b/{shop.token}/confirmation", json=body)
        [p] = payments(svc.engine, shop.id)
        assert p.msisdn_kind == "sha256"
        assert p.phone_sha256 == hashlib.sha256(b"254705912645").hexdigest()
        local = body["TransTime"]
        assert p.paid_at.hour == (int(local[8:10]) - 3) % 24  # EAT is UTC+3


@pytest.mark.parametrize("sample", STK_PAID)
async def test_stk_success_samples_become_payments(db_url, tmp_path, sample):
    async with running_service(db_url, tmp_path) as svc:
        shop = add_business(svc.engine, "174379")
        response = await svc.client.post(f"/stk/{shop.token}/callback", json=payload(sample))
        assert response.status_code == 200 and response.json() == ACK
        [p] = payments(svc.engine, shop.id)
        assert p.source == "stk" and p.amount > 0
        assert count(svc.engine, StkAttemptRow, result_code=0) == 1


@pytest.mark.parametrize(("sample", "code"), sorted(STK_FAILED.items()))
async def test_stk_failures_are_failed_attempts_not_payments(db_url, tmp_path, sample, code):
    async with running_service(db_url, tmp_path) as svc:
        shop = add_business(svc.engine, "174379")
        response = await svc.client.post(f"/stk/{shop.token}/callback", json=payload(sample))
        assert response.status_code == 200
        assert payments(svc.engine, shop.id) == []
        assert count(svc.engine, StkAttemptRow, result_code=code) == 1
        assert journal(svc.engine)[0].outcome == "stk_failed"


async def test_fifty_concurrent_copies_make_one_payment(db_url, tmp_path):
    async with running_service(db_url, tmp_path) as svc:
        shop = add_business(svc.engine, "600984")
        body = c2b("RKL51ZDR4F", "600984")
        responses = await asyncio.gather(
            *[svc.client.post(f"/c2b/{shop.token}/confirmation", json=body) for _ in range(50)])
        assert {r.status_code for r in responses} == {200}
        assert len(payments(svc.engine, shop.id)) == 1
        outcomes = sorted(c.outcome for c in journal(svc.engine))
        assert outcomes == ["duplicate"] * 49 + ["stored"]


async def test_stk_result_and_c2b_confirmation_of_one_receipt_are_one_payment(db_url, tmp_path):
    async with running_service(db_url, tmp_path) as svc:
        shop = add_business(svc.engine, "174379")
        stk = payload("stk_callback_success_2026_no_balance.json")
        receipt = next(i["Value"] for i in stk["Body"]["stkCallback"]["CallbackMetadata"]["Item"]
                       if i["Name"] == "MpesaReceiptNumber")
        await svc.client.post(f"/stk/{shop.token}/callback", json=stk)
        await svc.client.post(f"/c2b/{shop.token}/confirmation", json=c2b(receipt, "174379"))
        assert [p.trans_id for p in payments(svc.engine, shop.id)] == [receipt]


@pytest.mark.parametrize(
    ("body", "reason_part"),
    [
        (b"this is not json", "JSON"),
        (b"[1, 2, 3]", "object"),
        (json.dumps({"TransAmount": "10.00", "BusinessShortCode": "600984"}).encode(), "TransID"),
        (json.dumps(c2b("RKL51ZDR4A", "600984", amount="abc")).encode(), "amount"),
        (json.dumps(c2b("RKL51ZDR4B", "600984", amount="-5.00")).encode(), "amount"),
    ],
)
async def test_bad_bodies_are_journaled_flagged_and_acknowledged(db_url, tmp_path, body, reason_part):
    async with running_service(db_url, tmp_path) as svc:
        shop = add_business(svc.engine, "600984")
        response = await svc.client.post(f"/c2b/{shop.token}/confirmation", content=body)
        assert response.status_code == 200 and response.json() == ACK
        [entry] = journal(svc.engine)
        assert entry.outcome == "invalid" and entry.flagged and entry.body == body
        assert reason_part.lower() in entry.detail.lower()
        assert payments(svc.engine, shop.id) == []
        assert count(svc.engine, OutboxRow, kind="callback.flagged", business_id=shop.id) == 1  # owner is told


async def test_a_megabyte_body_is_refused_and_not_stored(db_url, tmp_path):
    async with running_service(db_url, tmp_path) as svc:
        shop = add_business(svc.engine, "600984")
        response = await svc.client.post(f"/c2b/{shop.token}/confirmation", content=b"{" + b" " * (1 << 20) + b"}")
        assert response.status_code == 413
        assert count(svc.engine, CallbackRow) == 0


async def test_unknown_token_is_404_and_stores_nothing(db_url, tmp_path):
    async with running_service(db_url, tmp_path) as svc:
        add_business(svc.engine, "600984")
        for path in ("/c2b/0123456789abcdef0123456789abcdef/confirmation", "/stk/nothex/callback",
                     "/c2b/0123456789abcdef0123456789abcdef/validation"):
            response = await svc.client.post(path, json=c2b("RKL51ZDR4F", "600984"))
            assert response.status_code == 404
        assert count(svc.engine, CallbackRow) == 0 and count(svc.engine, PaymentRow) == 0


async def test_shortcode_of_another_business_is_kept_flagged_not_a_payment(db_url, tmp_path):
    async with running_service(db_url, tmp_path) as svc:
        mine = add_business(svc.engine, "600984", name="Mine")
        add_business(svc.engine, "600985", name="Theirs")
        response = await svc.client.post(f"/c2b/{mine.token}/confirmation", json=c2b("RKL51ZDR4F", "600985"))
        assert response.status_code == 200
        [entry] = journal(svc.engine)
        assert entry.outcome == "foreign_shortcode" and entry.flagged and entry.business_id == mine.id
        assert count(svc.engine, PaymentRow) == 0
        assert count(svc.engine, OutboxRow, kind="callback.flagged", business_id=mine.id) == 1


async def test_validation_accepts_by_default_and_journals(db_url, tmp_path):
    async with running_service(db_url, tmp_path) as svc:
        shop = add_business(svc.engine, "600984")
        response = await svc.client.post(f"/c2b/{shop.token}/validation", json=c2b("RKL51ZDR4F", "600984"))
        assert response.json() == {"ResultCode": "0", "ResultDesc": "Accepted"}
        assert [c.outcome for c in journal(svc.engine)] == ["validated"]
        assert count(svc.engine, PaymentRow) == 0


async def test_validation_rejects_unknown_account_when_the_business_asks(db_url, tmp_path):
    from bot.storage.db import unit_of_work
    from bot.storage.tables import InvoiceRow

    async with running_service(db_url, tmp_path) as svc:
        shop = add_business(svc.engine, "600984", reject_unknown=True)
        with unit_of_work(svc.engine) as session:
            session.add(InvoiceRow(business_id=shop.id, number="INV-0042", number_key="INV0042",
                                   amount=Decimal("100.00"), open_balance=Decimal("100.00"),
                                   issued=__import__("datetime").date(2026, 11, 1)))
        unknown = await svc.client.post(f"/c2b/{shop.token}/validation",
                                        json=c2b("RKL51ZDR4F", "600984", ref="nosuch"))
        known = await svc.client.post(f"/c2b/{shop.token}/validation",
                                      json=c2b("RKL51ZDR4G", "600984", ref="invOO42"))
        assert unknown.json() == {"ResultCode": "C2B00012", "ResultDesc": "Rejected"}
        assert known.json() == {"ResultCode": "0", "ResultDesc": "Accepted"}


async def test_metrics_and_health(db_url, tmp_path):
    async with running_service(db_url, tmp_path) as svc:
        shop = add_business(svc.engine, "600984")
        await svc.client.post(f"/c2b/{shop.token}/confirmation", json=c2b("RKL51ZDR4F", "600984"))
        await svc.client.post(f"/c2b/{shop.token}/confirmation", json=c2b("RKL51ZDR4F", "600984"))
        health = await svc.client.get("/healthz")
        assert health.status_code == 200 and health.json() == {"status": "ok", "database": "ok"}
        text = (await svc.client.get("/metrics")).text
        assert 'hesabu_callbacks_total{kind="c2b_confirmation",outcome="stored"} 1.0' in text
        assert "hesabu_callback_duplicates_total 1.0" in text
        assert "hesabu_callback_store_seconds_bucket" in text and "hesabu_spool_depth" in text


async def test_logs_never_carry_a_phone_or_token(db_url, tmp_path, capsys):
    async with running_service(db_url, tmp_path) as svc:
        shop = add_business(svc.engine, "174379")
        await svc.client.post(f"/stk/{shop.token}/callback", json=payload("stk_callback_success_2026_no_balance.json"))
        await svc.client.post(f"/stk/{shop.token}/callback", json=payload("stk_callback_success_2026_no_balance.json"))
        await svc.client.post(f"/c2b/{shop.token}/confirmation", content=b"garbage 254712345678")
    out = capsys.readouterr().out
    assert "callback.duplicate" in out and "callback.flagged" in out  # the logs were captured
    assert shop.token not in out
    assert "254726542690" not in out and "254712345678" not in out




@pytest.mark.parametrize(
    ("peer", "forwarded", "expected"),
    [
        ("196.201.214.200", None, 200),  # Safaricom itself, no proxy
        ("10.9.9.9", None, 403),  # not on the allow-list
        ("127.0.0.1", "196.201.214.200", 200),  # a trusted proxy forwards Safaricom
        ("127.0.0.1", "10.9.9.9", 403),  # a trusted proxy forwards a stranger
        ("127.0.0.1", "196.201.214.200, 10.9.9.9", 403),  # the rightmost untrusted hop is the client
        ("10.9.9.9", "196.201.214.200", 403),  # an untrusted peer cannot claim to be Safaricom
    ],
)
async def test_allow_list_believes_forwarded_for_only_from_trusted_proxies(db_url, tmp_path, peer, forwarded,
                                                                          expected):
    async with running_service(db_url, tmp_path, client_host=peer, callback_allow=["196.201.214.0/24"],
                               trusted_proxies=["127.0.0.1/32"]) as svc:
        shop = add_business(svc.engine, "600984")
        headers = {"X-Forwarded-For": forwarded} if forwarded else {}
        response = await svc.client.post(f"/c2b/{shop.token}/confirmation", json=c2b("RKL51ZDR4F", "600984"),
                                         headers=headers)
        assert response.status_code == expected
        assert count(svc.engine, CallbackRow) == (1 if expected == 200 else 0)
