"""Transaction Status through the real client: the fake Daraja posts its asynchronous Result to our real
/daraja/{token}/result; a confirmed receipt, an unknown one, and a reversal that reopens its invoice."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime

import httpx
import pytest
from sqlmodel import Session, select
from typer.testing import CliRunner

from bot.bookkeeping.transaction_status import ask_status, status_answer
from bot.storage.tables import CallbackRow, InvoiceRow, OutboxRow, PaymentRow
from tests.daraja.support import KEY, eventually, live_hesabu
from tests.support import c2b
from webhooks.cli import app as cli_app
from webhooks.daraja_wiring import daraja_gateway

pytestmark = pytest.mark.anyio


async def paid_by_c2b(live, receipt: str, amount: str, ref: str) -> PaymentRow:
    async with httpx.AsyncClient(base_url=live.settings.public_url) as client:
        answer = await client.post(f"/c2b/{live.shop.token}/confirmation", json=c2b(receipt, "600984", amount, ref))
    assert answer.status_code == 200

    def matched() -> PaymentRow | None:
        with Session(live.engine) as session:
            row = session.exec(select(PaymentRow).where(PaymentRow.trans_id == receipt)).first()
            return row if row is not None and row.status == "matched" else None

    return await eventually(matched)


async def asked(live, receipt: str, asked_by: str = "web:web-asker-1"):
    gateway = daraja_gateway(live.settings)
    try:
        request = await ask_status(live.engine, gateway, "600984", receipt, asked_by, datetime.now(UTC))
    finally:
        await gateway.aclose()
    assert request.request_id is not None, request

    def done():
        with Session(live.engine) as session:
            answer = status_answer(session, request.request_id)
            return answer if answer is not None and answer.done else None

    return await eventually(done)


async def test_a_known_receipt_is_confirmed_and_the_asker_told(db_url, tmp_path):
    async with live_hesabu(db_url, tmp_path) as live:
        payment = await paid_by_c2b(live, "UL1STATUS1", "1000.00", "INV-0001")
        live.fake.add_receipt("UL1STATUS1", "1000.00", debit_party="254712345678 - MARY WANJIKU")
        answer = await asked(live, "UL1STATUS1")
        assert (answer.result_code, answer.status, answer.amount, answer.on_book) == ("0", "Completed", "1000.00",
                                                                                     "confirmed")
        assert answer.payer == "MARY WANJIKU"
        [call] = live.fake.calls_to("/mpesa/transactionstatus/v1/query")
        assert call.body["CommandID"] == "TransactionStatusQuery" and call.body["TransactionID"] == "UL1STATUS1"
        assert call.body["ResultURL"].endswith(f"/daraja/{live.shop.token}/result")
        with Session(live.engine) as session:
            assert session.get(PaymentRow, payment.id).confirmed_at is not None
            journaled = session.exec(select(CallbackRow).where(CallbackRow.source == "daraja_result")).one()
        assert journaled.outcome == "result" and b"UL1STATUS1" in journaled.body
        told = await live.told("M-Pesa confirms UL1STATUS1: KES 1,000.00 from MARY W., Completed. It matches")
        assert "254712345678" not in told


async def test_a_reversed_receipt_reverses_the_payment_and_reopens_its_invoice(db_url, tmp_path):
    async with live_hesabu(db_url, tmp_path) as live:
        payment = await paid_by_c2b(live, "UL1REVERS1", "2000.00", "INV-0003")
        with Session(live.engine) as session:
            assert session.exec(select(InvoiceRow).where(InvoiceRow.number == "INV-0003")).one().open_balance == 0
        live.fake.add_receipt("UL1REVERS1", "2000.00", status="Reversed")
        answer = await asked(live, "UL1REVERS1")
        assert answer.on_book == "reversed"
        with Session(live.engine) as session:
            assert session.get(PaymentRow, payment.id).status == "reversed"
            invoice = session.exec(select(InvoiceRow).where(InvoiceRow.number == "INV-0003")).one()
            alert = session.exec(select(OutboxRow).where(OutboxRow.kind == "payment.reversed")).one()
        assert invoice.open_balance == 2000 and invoice.status == "open"
        assert json.loads(alert.payload)["reopened"] == ["INV-0003"]
        await live.told("Achieng H.'s KES 2,000.00 for INV-0003 was reversed; INV-0003 is open again.")
        # a second report of the same reversal changes nothing and says nothing more
        await asked(live, "UL1REVERS1")
        with Session(live.engine) as session:
            assert len(session.exec(select(OutboxRow).where(OutboxRow.kind == "payment.reversed")).all()) == 1


async def test_the_cli_prints_the_result_and_an_unknown_receipt_is_not_confirmed(db_url, tmp_path, monkeypatch):
    async with live_hesabu(db_url, tmp_path) as live:
        for name, value in {"HESABU_DATABASE_URL": db_url, "HESABU_SECRET_KEY": KEY,
                            "HESABU_PUBLIC_URL": live.settings.public_url, "HESABU_DARAJA_URL": live.fake.url}.items():
            monkeypatch.setenv(name, value)
        result = await asyncio.to_thread(CliRunner().invoke, cli_app, ["daraja", "status", "600984", "UL1NOSUCH1",
                                                                       "--json", "--wait", "20"])
        assert result.exit_code == 0, result.output
        # the server in this process logs to the same stdout the runner captures: take the JSON line
        answer = json.loads(next(line for line in result.output.splitlines() if line.startswith("{")))
        assert answer["result_code"] == "2001" and answer["on_book"] == "unknown"
        bad = await asyncio.to_thread(CliRunner().invoke, cli_app, ["daraja", "status", "600984", "not a code"])
        assert bad.exit_code == 1 and "not an M-Pesa receipt code" in bad.output


async def test_status_needs_an_initiator(db_url, tmp_path):
    async with live_hesabu(db_url, tmp_path, credentials=False) as live:
        gateway = daraja_gateway(live.settings)
        request = await ask_status(live.engine, gateway, "600984", "UL1STATUS1", "cli", datetime.now(UTC))
        await gateway.aclose()
        assert "hesabu daraja set 600984" in request.problem
        async with httpx.AsyncClient(base_url=live.settings.public_url) as client:  # not a Daraja result: kept
            answer = await client.post(f"/daraja/{live.shop.token}/result", content=b"hello")
            assert answer.status_code == 200 and answer.json() == {"ResultCode": 0, "ResultDesc": "Accepted"}
            assert (await client.post("/daraja/0000/result", content=b"{}")).status_code == 404
        with Session(live.engine) as session:
            [row] = session.exec(select(CallbackRow).where(CallbackRow.source == "daraja_result")).all()
        assert row.outcome == "invalid" and row.flagged and row.body == b"hello"
