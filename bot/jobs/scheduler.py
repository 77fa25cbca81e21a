"""The one scheduler (APScheduler 3, AsyncIOScheduler in the FastAPI lifespan) and its jobs:

  summaries.daily  every minute: each business whose local summary time (20:00 unless /settings changed it)
                   has passed today and that has no dispatch row for today gets its summary queued.
  digest.morning   every minute: the same at the digest time (07:00) for invoices due today and overdue.
  matching.sweep   every 30 s: payments matching never saw (the processor's sweep; not duplicated here).
  daraja.pull      hourly, and once a minute after start-up: Pull Transactions of the last hours for every
                   Pull-registered shortcode (bot.bookkeeping.pull); what it recovers the next sweep matches.

Jobs are short, idempotent and run by exactly one process (bot.storage.leadership). Exactly-once does not rest
on leadership alone: the dispatch row (unique per business, kind and local day) is inserted with ON CONFLICT
DO NOTHING in the transaction that queues the outbox message, so two leaders (a lock lost mid-tick), a
restart after sending, or a server that was down at 20:00 and is back at 20:30 all end with one summary.
Messages go out through the durable outbox; `on_queued` wakes its sender.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.interval import IntervalTrigger

from bot.assistant.summaries import DIGEST_MORNING, SUMMARY_DAILY, scheduled_time
from bot.bookkeeping.health import Checked, check_sources
from bot.ledger.summaries import due_day, due_days
from bot.logs import get_logger
from bot.storage.db import Engine, unit_of_work
from bot.storage.leadership import Leadership, leadership_for
from bot.storage.outbox import queue_message
from bot.storage.reports import ScheduledBusiness, claim_dispatch, dispatched, invoice_figures, scheduled_businesses

log = get_logger("scheduler")
JOBS = ("summaries.daily", "digest.morning", "matching.sweep", "sources.check", "daraja.pull")
SOURCES_CHECK_EVERY = 300.0
PULL_EVERY = 3600.0


def utcnow() -> datetime:
    return datetime.now(UTC)


def dedupe_key(kind: str, business_id: int, day: date) -> str:
    return f"{kind}:{business_id}:{day.isoformat()}"


def _due(businesses: list[ScheduledBusiness], what: str, now: datetime) -> list[tuple[ScheduledBusiness, date]]:
    out = []
    for b in businesses:
        at = scheduled_time(b.settings_json, what)
        if at is None:
            continue
        try:
            tz = ZoneInfo(b.timezone)
        except (ZoneInfoNotFoundError, ValueError):
            log.warning("scheduler.bad_timezone", business_id=b.id)
            continue
        if what == "summary":  # a summary missed while the server was down across midnight is caught up once
            out += [(b, day) for day in due_days(now, tz, at, b.created_at)]
        else:  # yesterday's morning digest is stale news: today's only
            day = due_day(now, tz, at)
            out += [(b, day)] if day is not None else []
    return out


def queue_due(engine: Engine, now: datetime, kind: str) -> list[tuple[int, date]]:
    """Queue `kind` (summary.daily | digest.morning) for every business it is due for now and not yet claimed.
    Returns the (business_id, day) pairs this call queued. One transaction per business."""
    what = "summary" if kind == SUMMARY_DAILY else "digest"
    with unit_of_work(engine) as session:
        candidates = _due(scheduled_businesses(session), what, now)
        done = dispatched(session, kind, [day for _b, day in candidates])
    queued: list[tuple[int, date]] = []
    for business, day in candidates:
        if (business.id, day) in done:
            continue
        try:
            if _queue_one(engine, business.id, kind, day, now):
                queued.append((business.id, day))
        except Exception as exc:  # noqa: BLE001 - one business must not stop the others; next tick retries
            log.error("scheduler.queue_failed", kind=kind, business_id=business.id, error=type(exc).__name__)
    if queued:
        log.info("scheduler.queued", kind=kind, count=len(queued))
    return queued


def _queue_one(engine: Engine, business_id: int, kind: str, day: date, now: datetime) -> bool:
    with unit_of_work(engine) as session:
        worth_sending = True
        if kind == DIGEST_MORNING:
            _partial, overdue, due_today = invoice_figures(session, business_id, day)
            worth_sending = bool(overdue.count or due_today.count)
        if not claim_dispatch(session, business_id, kind, day, now, queued=worth_sending):
            return False  # another process (or an earlier run) claimed it first
        if worth_sending:
            queue_message(session, business_id, kind, dedupe_key(kind, business_id, day), {"day": day.isoformat()},
                          now)
        return worth_sending


def _check_sources(engine: Engine, now: datetime, on_queued: Callable[[], Any] | None) -> Checked:
    checked = check_sources(engine, now)
    if (checked.alarms or checked.reversals) and on_queued is not None:
        on_queued()
    return checked


class JobScheduler:
    """Owns the AsyncIOScheduler; every job first asks the leadership whether this process runs jobs."""

    def __init__(self, engine: Engine, *, sweep: Callable[[], Any] | None = None,
                 leadership: Leadership | None = None, clock: Callable[[], datetime] = utcnow,
                 on_queued: Callable[[], Any] | None = None, tick: float = 60.0, sweep_every: float = 30.0,
                 pull: Callable[[], Awaitable[Any]] | None = None, pull_every: float = PULL_EVERY,
                 pull_first_after: float = 60.0) -> None:
        self.engine, self.sweep, self.clock, self.on_queued = engine, sweep, clock, on_queued
        self.pull, self.pull_every, self.pull_first_after = pull, pull_every, pull_first_after
        self.leadership = leadership or leadership_for(engine)
        self.tick, self.sweep_every = tick, sweep_every
        self.scheduler: AsyncIOScheduler | None = None

    async def start(self) -> None:
        # first runs one interval after start-up: the processor sweeps at start-up itself, and a summary due
        # while the server was down goes out within a minute of its return
        scheduler = AsyncIOScheduler(timezone=UTC)
        for name, every in (("summaries.daily", self.tick), ("digest.morning", self.tick),
                            ("matching.sweep", self.sweep_every),
                            # every 5 minutes at most: its alarm speaks in hours, and a job in flight at stop() is one
                            # more thread that may still be asking for the leader's lock
                            ("sources.check", max(self.tick * 5, SOURCES_CHECK_EVERY))):
            if name == "matching.sweep" and self.sweep is None:
                continue
            scheduler.add_job(self.run_job, IntervalTrigger(seconds=every), args=[name], id=name, name=name,
                              max_instances=1, coalesce=True, misfire_grace_time=None)
        if self.pull is not None:  # once soon after start-up (what was missed while down), then hourly
            scheduler.add_job(self.run_job, IntervalTrigger(seconds=self.pull_every), args=["daraja.pull"],
                              id="daraja.pull", name="daraja.pull", max_instances=1, coalesce=True,
                              misfire_grace_time=None,
                              next_run_time=datetime.now(UTC) + timedelta(seconds=self.pull_first_after))
        scheduler.start()
        self.scheduler = scheduler

    async def stop(self) -> None:
        if self.scheduler is not None:
            self.scheduler.shutdown(wait=False)
            self.scheduler = None
        await asyncio.to_thread(self.leadership.release)

    async def run_job(self, name: str) -> Any:
        """Run one job now if this process leads; None when another process does."""
        if not await asyncio.to_thread(self.leadership.is_leader):
            return None
        try:
            if name == "daraja.pull" and self.pull is not None:
                return await self.pull()  # async: Daraja calls on the loop, its database work in threads
            return await asyncio.to_thread(self._job(name))
        except Exception as exc:  # noqa: BLE001 - a failed tick is retried by the next one
            log.error("scheduler.job_failed", job=name, error=type(exc).__name__)
            return None

    def _job(self, name: str) -> Callable[[], Any]:
        if name == "matching.sweep":
            assert self.sweep is not None
            return self.sweep
        if name == "sources.check":  # SMS reversals applied, the callback health alarm (bot.bookkeeping.health)
            return lambda: _check_sources(self.engine, self.clock(), self.on_queued)
        kind = SUMMARY_DAILY if name == "summaries.daily" else DIGEST_MORNING

        def run() -> list[tuple[int, date]]:
            queued = queue_due(self.engine, self.clock(), kind)
            if queued and self.on_queued is not None:
                self.on_queued()
            return queued

        return run
