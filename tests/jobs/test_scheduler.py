"""The scheduler on real SQLite and PostgreSQL with a frozen clock (time-machine): summaries at the business's
local time, exactly once across processes and restarts, a missed summary sent once, one leader at a time."""

from __future__ import annotations

import asyncio
import threading
import time
from datetime import UTC, date, datetime, timedelta

import pytest
import time_machine
from sqlalchemy import select, text
from sqlmodel import Session

from bot.jobs.scheduler import JOBS, JobScheduler, queue_due
from bot.storage.db import make_engine, unit_of_work
from bot.storage.leadership import AdvisoryLockLeadership, leadership_for
from bot.storage.tables import BusinessRow, OutboxRow, SummaryDispatchRow
from tests.summaries.support import add_invoice, local, store

pytestmark = pytest.mark.anyio
DAY = date(2026, 11, 27)


@pytest.fixture
def engine(db_url):
    engine = make_engine(db_url)
    yield engine
    engine.dispose()


def outbox(engine, kind: str = "summary.daily") -> list[OutboxRow]:
    with Session(engine) as session:
        return list(session.scalars(select(OutboxRow).where(OutboxRow.kind == kind).order_by(OutboxRow.id)))


def set_timezone(engine, business_id: int, tz: str) -> None:
    with unit_of_work(engine) as session:
        row = session.get(BusinessRow, business_id)
        row.timezone = tz
        session.add(row)


async def tick(engine, at: datetime, job: str = "summaries.daily", **kwargs) -> object:
    """One run of a job by a freshly started process (a restart), with the clock frozen at `at`."""
    with time_machine.travel(at, tick=False):
        scheduler = JobScheduler(engine, **kwargs)
        try:
            return await scheduler.run_job(job)
        finally:
            await scheduler.stop()


async def test_the_summary_fires_at_20_00_nairobi_and_not_at_20_00_utc(engine):
    nairobi = store(engine, "600600", [])
    utc_shop = store(engine, "600601", [])
    set_timezone(engine, utc_shop, "UTC")
    assert await tick(engine, local(DAY, 19, 59)) == []
    assert await tick(engine, local(DAY, 20, 0)) == [(nairobi, DAY)]  # 17:00 UTC: not yet 20:00 in UTC
    assert await tick(engine, datetime(2026, 11, 27, 19, 59, tzinfo=UTC)) == []
    assert await tick(engine, datetime(2026, 11, 27, 20, 0, tzinfo=UTC)) == [(utc_shop, DAY)]
    [first, second] = outbox(engine)
    assert (first.business_id, first.dedupe_key) == (nairobi, f"summary.daily:{nairobi}:2026-11-27")
    assert second.business_id == utc_shop


async def test_a_restart_after_sending_does_not_resend(engine):
    business_id = store(engine, "600602", [])
    assert await tick(engine, local(DAY, 20, 0)) == [(business_id, DAY)]
    for minutes in (1, 5, 180, 239):  # restarts all evening, up to 23:59
        assert await tick(engine, local(DAY, 20, 0) + timedelta(minutes=minutes)) == []
    assert len(outbox(engine)) == 1
    assert await tick(engine, local(DAY + timedelta(days=1), 20, 0)) == [(business_id, DAY + timedelta(days=1))]


async def test_down_at_20_00_and_up_at_20_30_sends_once(engine):
    business_id = store(engine, "600603", [])
    assert await tick(engine, local(DAY, 19, 0)) == []  # before going down
    assert await tick(engine, local(DAY, 20, 30)) == [(business_id, DAY)]
    assert await tick(engine, local(DAY, 20, 31)) == []
    assert [r.dedupe_key for r in outbox(engine)] == [f"summary.daily:{business_id}:2026-11-27"]


async def test_the_owner_chooses_the_time_and_can_switch_it_off(engine):
    early, off = store(engine, "600604", []), store(engine, "600605", [])
    with unit_of_work(engine) as session:
        session.get(BusinessRow, early).settings_json = '{"summary_time": "18:30"}'
        session.get(BusinessRow, off).settings_json = '{"summary_time": "off"}'
    assert await tick(engine, local(DAY, 18, 29)) == []
    assert await tick(engine, local(DAY, 18, 30)) == [(early, DAY)]
    assert await tick(engine, local(DAY, 23, 0)) == []


async def test_two_scheduler_processes_send_one_summary(db_url):
    """Two processes, each with its own engine and leadership: one leads; even leaders racing queue once."""
    engines = [make_engine(db_url), make_engine(db_url)]
    try:
        business_id = store(engines[0], "600606", [])
        leaders = [leadership_for(e) for e in engines]
        assert [leader.is_leader() for leader in leaders].count(True) == 1
        with time_machine.travel(local(DAY, 20, 0), tick=False):
            schedulers = [JobScheduler(e, leadership=leader) for e, leader in zip(engines, leaders, strict=True)]
            results = await asyncio.gather(*(s.run_job("summaries.daily") for s in schedulers))
            assert sorted(results, key=lambda r: r is None) == [[(business_id, DAY)], None]
            # had both believed they led (a lock lost mid-tick), the dispatch row still admits one
            barrier, out = threading.Barrier(2), []

            def race(e):
                barrier.wait()
                out.append(queue_due(e, local(DAY + timedelta(days=1), 20, 0), "summary.daily"))

            threads = [threading.Thread(target=race, args=(e,)) for e in engines]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            assert sorted(len(r) for r in out) == [0, 1]
            for s in schedulers:
                await s.stop()
        assert len(outbox(engines[0])) == 2
        # the leader going away (process death, connection drop) lets the other take over
        follower = leadership_for(engines[1])
        assert follower.is_leader()
        follower.release()
    finally:
        for e in engines:
            e.dispose()


async def test_a_dead_leaders_advisory_lock_is_freed_with_its_connection(pg_url):
    engines = [make_engine(pg_url), make_engine(pg_url)]
    try:
        first, second = AdvisoryLockLeadership(engines[0], key=4242), AdvisoryLockLeadership(engines[1], key=4242)
        assert first.is_leader() and not second.is_leader()
        with engines[1].connect() as admin:  # the leader's session dies (a killed process, a network cut)
            admin.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": first._pid})
            admin.commit()
        # the server frees the lock once the backend has gone; how soon depends on the server and the machine's
        # load (a fixed 50 x 20 ms was a guess), so wait for the condition with a deadline
        deadline = time.monotonic() + 15
        while not second.is_leader():
            assert time.monotonic() < deadline, "the dead leader's advisory lock was never freed"
            await asyncio.sleep(0.02)
        assert not first.is_leader()  # noticed on its next check: it pings, reconnects, and finds it taken
        second.release()
        first.release()
    finally:
        for e in engines:
            e.dispose()


async def test_the_morning_digest_only_when_invoices_are_due(engine):
    quiet, busy = store(engine, "600607", []), store(engine, "600608", [])
    add_invoice(engine, busy, "INV-0001", "5000", "5000", DAY, "open")
    add_invoice(engine, busy, "INV-0002", "3000", "1000", DAY - timedelta(days=4), "partial")
    assert await tick(engine, local(DAY, 6, 59), "digest.morning") == []
    assert await tick(engine, local(DAY, 7, 0), "digest.morning") == [(busy, DAY)]
    assert await tick(engine, local(DAY, 7, 1), "digest.morning") == []
    with Session(engine) as session:
        claimed = session.execute(select(SummaryDispatchRow.business_id, SummaryDispatchRow.queued)
                                  .order_by(SummaryDispatchRow.business_id)).all()
    assert [tuple(r) for r in claimed] == [(quiet, False), (busy, True)]
    assert [r.business_id for r in outbox(engine, "digest.morning")] == [busy]


def _dispatch_kinds(engine) -> int:
    with Session(engine) as session:
        return len(set(session.execute(select(SummaryDispatchRow.kind)).scalars()))


async def test_the_apscheduler_runs_the_named_jobs(engine):
    business_id = store(engine, "600609", [])
    swept, woken, pulled = [], [], []

    async def pull() -> None:
        pulled.append(1)

    scheduler = JobScheduler(engine, sweep=lambda: swept.append(1), clock=lambda: local(DAY, 20, 5),
                             on_queued=lambda: woken.append(1), tick=0.05, sweep_every=0.05, pull=pull,
                             pull_every=3600, pull_first_after=0)
    await scheduler.start()
    try:
        assert sorted(job.id for job in scheduler.scheduler.get_jobs()) == sorted(JOBS)
        deadline = time.monotonic() + 20  # a deadline, not a count of tries: every job must have run
        while not (outbox(engine) and swept and woken and pulled and _dispatch_kinds(engine) == 2):
            assert time.monotonic() < deadline, "the named jobs did not all run"
            await asyncio.sleep(0.05)
    finally:
        await scheduler.stop()
    assert [r.business_id for r in outbox(engine)] == [business_id] and swept and woken and pulled
    with Session(engine) as session:
        claimed = session.execute(select(SummaryDispatchRow.kind, SummaryDispatchRow.queued)).all()
    # the digest was due too (07:00 had passed) but with no invoice due it was claimed and not sent
    assert sorted(tuple(r) for r in claimed) == [("digest.morning", False), ("summary.daily", True)]


async def test_down_across_midnight_catches_the_summary_up_once(engine):
    business_id = store(engine, "600620", [])
    with unit_of_work(engine) as session:  # the business was there long before the outage
        session.get(BusinessRow, business_id).created_at = datetime(2026, 1, 1, tzinfo=UTC)
    assert await tick(engine, local(DAY, 19, 0)) == [(business_id, DAY - timedelta(days=1))]  # an older catch-up
    # down from 19:30 on DAY until 00:30 the next day: the DAY summary (20:00) never went out
    next_day = DAY + timedelta(days=1)
    assert await tick(engine, local(next_day, 0, 30)) == [(business_id, DAY)]
    assert await tick(engine, local(next_day, 0, 31)) == []  # once
    assert await tick(engine, local(next_day, 20, 0)) == [(business_id, next_day)]
    keys = sorted(r.dedupe_key for r in outbox(engine))
    assert keys == [f"summary.daily:{business_id}:{d.isoformat()}" for d in
                    (DAY - timedelta(days=1), DAY, next_day)]


async def test_a_business_started_today_gets_no_summary_for_yesterday(engine):
    business_id = store(engine, "600621", [])
    with unit_of_work(engine) as session:
        session.get(BusinessRow, business_id).created_at = local(DAY, 9, 0)
    assert await tick(engine, local(DAY, 19, 0)) == []
    assert await tick(engine, local(DAY, 20, 0)) == [(business_id, DAY)]
