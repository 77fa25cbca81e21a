"""Matching after the acknowledgement: the live wake-up, the sweep, and exactly-once across claimers."""

from __future__ import annotations

import asyncio
import threading
import time
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select
from sqlmodel import Session

from bot.bookkeeping.processing import claim_unprocessed, process_payment
from bot.jobs.matching import MatchingWorker
from bot.storage.db import make_engine, unit_of_work
from bot.storage.tables import MatchDecisionRow, OutboxRow, PaymentRow
from tests.bookkeeping.book_support import make_book, receive
from tests.support import add_business, c2b, running_service


def count(engine, model) -> int:
    with Session(engine) as session:
        return int(session.execute(select(func.count()).select_from(model)).scalar_one())


@pytest.mark.anyio
async def test_a_stored_callback_is_matched_after_the_ack_with_one_outbox_row(db_url, tmp_path):
    async with running_service(db_url, tmp_path) as svc:
        shop = add_business(svc.engine, "600300")
        response = await svc.client.post(f"/c2b/{shop.token}/confirmation", json=c2b("TXLIVE0001", "600300"))
        assert response.status_code == 200
        processor: MatchingWorker = svc.app.state.services.matcher
        deadline = time.monotonic() + 15  # waits on conditions, each bounded: a lost wake fails, never hangs
        while count(svc.engine, OutboxRow) != 1:
            assert time.monotonic() < deadline, "the stored callback was never matched"
            await asyncio.wait_for(processor.idle(), timeout=15)
            await asyncio.sleep(0.02)
        again = await svc.client.post(f"/c2b/{shop.token}/confirmation", json=c2b("TXLIVE0001", "600300"))
        assert again.status_code == 200
        await asyncio.sleep(0.05)
        await asyncio.wait_for(processor.idle(), timeout=15)
        with Session(svc.engine) as session:
            payment = session.scalars(select(PaymentRow)).one()
            outbox = session.scalars(select(OutboxRow)).one()
            assert payment.processed_at is not None and payment.status in ("unmatched", "suggested")
            assert outbox.kind == "payment.alert" and outbox.status == "pending"
            assert outbox.dedupe_key == f"payment.alert:{payment.id}" and "TXLIVE0001" in outbox.payload


def test_the_sweep_picks_up_a_payment_matching_never_saw(db_url):
    engine = make_engine(db_url)
    book = make_book(engine)
    payment_id = receive(book, "TXSWEEP01", "2500.00", "INV-0001")  # stored, nobody woken: a crash after commit
    processor = MatchingWorker(engine, min_age=timedelta(0))
    assert processor.sweep() == 1
    assert processor.sweep() == 0
    with Session(engine) as session:
        payment = session.get(PaymentRow, payment_id)
        assert payment is not None and payment.status == "matched"
    assert count(engine, OutboxRow) == 1
    engine.dispose()


def test_young_payments_are_left_to_the_live_worker(db_url):
    engine = make_engine(db_url)
    book = make_book(engine)
    receive(book, "TXYOUNG01", "10.00")
    with unit_of_work(engine) as session:
        assert claim_unprocessed(session, 10, datetime.now(UTC), timedelta(minutes=5)) == []
        assert len(claim_unprocessed(session, 10, datetime.now(UTC) + timedelta(minutes=6), timedelta(minutes=5))) == 1
    engine.dispose()


def test_two_claimers_on_postgresql_never_process_one_payment_twice(pg_url):
    from tests.conftest import _truncate_pg

    _truncate_pg(pg_url)
    engine = make_engine(pg_url)
    book = make_book(engine)
    payment_id = receive(book, "TXRACE001", "2500.00", "INV-0001")
    assert payment_id is not None
    # the first claimer holds its claim (transaction open); the second skips the locked row instead of waiting
    with Session(engine) as first:
        assert process_payment(first, payment_id, datetime.now(UTC)) is not None
        with Session(engine) as second:
            assert process_payment(second, payment_id, datetime.now(UTC)) is None
            second.rollback()
        first.commit()
    with Session(engine) as late:
        assert process_payment(late, payment_id, datetime.now(UTC)) is None
    # many payments, four sweeping workers at once: each payment decided and alerted exactly once
    ids = [receive(book, f"TXMANY{n:04d}", "100.00", f"INV-000{n % 4 + 1}") for n in range(40)]
    processors = [MatchingWorker(engine, min_age=timedelta(0)) for _ in range(4)]
    threads = [threading.Thread(target=p.sweep) for p in processors]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    # a batch that lost a deadlock to another is retried by the next sweep; none is ever processed twice
    processors[0].sweep()
    assert sum(p.processed for p in processors) == len(ids)
    assert count(engine, MatchDecisionRow) == len(ids) + 1 and count(engine, OutboxRow) == len(ids) + 1
    engine.dispose()


def _stored_burst(book, n: int, prefix: str) -> list[int]:
    """n payments stored in one transaction, nobody woken: what a crash under load leaves behind."""
    import json as _json

    from bot.storage.businesses import CallbackTarget
    from bot.storage.callbacks import record_callbacks
    from tests.bookkeeping.book_support import STRANGER, body
    from webhooks.intake.records import build_record

    target = CallbackTarget(book.shop.id, book.shop.token, frozenset({book.shop.shortcode}), "paybill", False)
    now = datetime.now(UTC)
    records = [build_record("c2b_confirmation", target, _json.dumps(body(book.shop.shortcode, f"{prefix}{i:06d}",
                                                                           "100.00", "", STRANGER, "JANE")).encode(),
                            "127.0.0.1", now) for i in range(n)]
    with book.engine.begin() as conn:
        return [r.payment_id for r in record_callbacks(conn, records, now) if r.payment_id is not None]


def test_after_a_restart_the_whole_backlog_drains_in_one_sweep(db_url):
    engine = make_engine(db_url)
    book = make_book(engine)
    ids = _stored_burst(book, 450, "TXBACK")
    processor = MatchingWorker(engine, min_age=timedelta(0))
    assert processor.sweep() == len(ids) == 450  # not 200 now and the rest 30 s at a time
    with Session(engine) as session:
        assert session.execute(select(func.count()).select_from(PaymentRow)
                               .where(PaymentRow.processed_at.is_(None))).scalar_one() == 0
    engine.dispose()


@pytest.mark.anyio
async def test_a_sustained_burst_of_callbacks_does_not_starve_matching(db_url):
    engine = make_engine(db_url)
    book = make_book(engine)
    ids = _stored_burst(book, 64, "TXSTRV")
    # the callback writer is busy the whole time, and each batch would defer up to a minute
    processor = MatchingWorker(engine, intake_busy=lambda: True, max_defer=60.0)
    await processor.start()
    try:
        processor.due.put(ids)
        await asyncio.wait_for(processor.idle(), timeout=30)
    finally:
        await processor.stop()
    assert processor.processed == 64
    engine.dispose()
