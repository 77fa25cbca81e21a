"""The matching worker: matching runs after the acknowledgement, never on the callback path.

The callback writer puts the new payments' ids on `DuePayments` (bot.jobs.signals) from its thread after
each commit; that hops onto the event loop (call_soon_threadsafe) and queues the ids. One worker task takes
what is queued and processes it in a thread, one transaction per small batch, and lets callbacks go first:
while the callback writer is busy it waits (up to `max_defer`), because acknowledging Safaricom fast matters
more than matching a moment sooner.
A sweep at start-up picks up payments whose matching never ran (a crash between commit and processing, a
restart) and drains them all at the matcher's full speed, batch after batch, not 200 per 30 s; after that the
scheduler's `matching.sweep` job calls `sweep` every 30 s on the elected process. Letting callbacks go first
never starves matching: once a full batch is waiting, it is matched without deferring, in turns of a few
payments with a rest after each while callbacks keep coming (half the time; a tenth in a rush, when callbacks
queue behind every commit), at full speed once they stop.
`process_payment`'s claim makes every payment processed exactly once, however many processes sweep.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from bot.bookkeeping.processing import Processed, claim_unprocessed, process_payment
from bot.jobs.signals import DuePayments
from bot.logs import get_logger
from bot.storage.db import Engine, unit_of_work, write_gate

log = get_logger("matching")
SWEEP_BATCH = 200
MATCH_BATCH = 16
BUSY_BATCH = 4  # payments per matching turn while callbacks are coming in (SQLite: one transaction each)
BUSY_REST = 1.0  # ...then rest as long as it worked: half the time
RUSH_REST = 9.0  # in a rush (callbacks queueing behind every commit): a tenth of the time


class MatchingWorker:
    """`due` brings the payments to match; `on_processed` (the outbox's wakeup) sends their alerts at once;
    `intake_busy` says the callback writer has work, which goes first; `intake_behind` says callbacks are
    queueing behind its commits (a rush), when matching takes only a small share of the time."""

    def __init__(self, engine: Engine, due: DuePayments | None = None, *, min_age: timedelta = timedelta(seconds=5),
                 intake_busy: Callable[[], bool] = lambda: False, on_processed: Callable[[], None] = lambda: None,
                 max_defer: float = 2.0, intake_behind: Callable[[], bool] = lambda: False,
                 poll: float | None = None) -> None:
        """`poll`: a worker process (`hesabu serve --role worker`) hears of no commit: every `poll` seconds it
        matches whatever payments the web processes stored (claims keep that exactly once across workers)."""
        self.engine = engine
        self.poll = poll
        self.due = due or DuePayments()
        self.intake_busy = intake_busy
        self.intake_behind = intake_behind
        self.max_defer = max_defer
        self.on_processed = on_processed
        self.min_age = min_age
        self.processed = 0
        self._queue = self.due.queue
        self._tasks: list[asyncio.Task[None]] = []

    async def start(self) -> None:
        self._queue = self.due.attach()
        self._tasks = [asyncio.create_task(self._work(), name="matching-worker"),
                       asyncio.create_task(self._sweep_at_start(), name="matching-sweep")]
        if self.poll is not None:
            self._tasks.append(asyncio.create_task(self._poll(self.poll), name="matching-poll"))

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks = []

    async def _work(self) -> None:
        while True:
            batch = [await self._queue.get()]
            await self._let_callbacks_go_first()
            busy = self.intake_busy()
            limit = BUSY_BATCH if busy else MATCH_BATCH
            while len(batch) < limit and not self._queue.empty():
                batch.append(self._queue.get_nowait())
            started = time.monotonic()
            try:
                await asyncio.to_thread(self.process_batch, batch)
            except Exception as exc:  # noqa: BLE001 - the worker must not die; the sweep retries them
                log.error("matching.failed", count=len(batch), error=type(exc).__name__)
            finally:
                for _ in batch:
                    self._queue.task_done()
            if busy:
                await asyncio.sleep(self._rest(time.monotonic() - started))

    def _rest(self, worked: float) -> float:
        """While callbacks come in, matching takes a share of the time, never none (a sustained burst cannot
        starve it) and never all: half while callbacks arrive, a tenth in a rush, when they queue behind every
        commit. It shares the core, and on SQLite the one writer, with acknowledgements Safaricom waits for."""
        return min(self.max_defer, worked * (RUSH_REST if self.intake_behind() else BUSY_REST))

    async def _let_callbacks_go_first(self) -> None:
        if self._queue.qsize() >= BUSY_BATCH - 1:  # a backlog: under a sustained burst matching takes its turn
            return
        deadline = time.monotonic() + self.max_defer
        while self.intake_busy() and time.monotonic() < deadline:  # noqa: ASYNC110 - a plain flag set by another thread
            await asyncio.sleep(0.005)

    def process_batch(self, payment_ids: list[int]) -> int:
        """SQLite: one transaction for the batch (one writer at a time: fewer, shorter turns at the lock); if it
        fails, each payment alone so one bad payment holds none back. PostgreSQL: one transaction per payment,
        so two processes never hold each other's invoice rows (a batch could deadlock). While callbacks are
        coming in, SQLite too goes one payment per transaction: a callback batch then waits behind one short
        matching transaction, not a batch of them (the write gate lets callbacks in first between them)."""
        if self.engine.dialect.name != "sqlite" or self.intake_busy():
            return sum(self._process_logged(pid) for pid in payment_ids)
        try:
            with write_gate(self.engine), unit_of_work(self.engine) as session:
                done = [process_payment(session, pid, datetime.now(UTC)) for pid in payment_ids]
        except Exception:  # noqa: BLE001
            return sum(self._process_logged(pid) for pid in payment_ids)
        for item in done:
            if item is not None:
                self._count(item.payment_id, item)
        if any(item is not None for item in done):
            self.on_processed()
        return sum(item is not None for item in done)

    def _process_logged(self, payment_id: int) -> bool:
        try:
            return self.process_one(payment_id)
        except Exception as exc:  # noqa: BLE001 - logged; the sweep tries again later
            log.error("matching.failed", payment_id=payment_id, error=type(exc).__name__)
            return False

    def process_one(self, payment_id: int) -> bool:
        with write_gate(self.engine), unit_of_work(self.engine) as session:
            done = process_payment(session, payment_id, datetime.now(UTC))
        if done is None:
            return False
        self._count(payment_id, done)
        self.on_processed()
        return True

    def _count(self, payment_id: int, done: Processed) -> None:
        self.processed += 1
        log.info("matching.done", payment_id=payment_id, business_id=done.business_id,
                 decision=done.decision.kind.value, status=done.status)

    async def _poll(self, interval: float) -> None:
        while True:
            await asyncio.sleep(interval)
            try:
                await asyncio.to_thread(self.sweep, timedelta(0))
            except Exception as exc:  # noqa: BLE001 - the database may be away for a moment; poll again
                log.warning("matching.poll_failed", error=type(exc).__name__)

    def sweep(self, min_age: timedelta | None = None) -> int:
        """Process everything matching never saw, SWEEP_BATCH ids at a time until none are left (or a batch
        makes no progress: those are retried by the next sweep); returns how many payments it processed.
        Payments younger than `min_age` (default: the worker's) are left to the live path."""
        done = 0
        while True:
            with unit_of_work(self.engine) as session:
                ids = claim_unprocessed(session, SWEEP_BATCH, datetime.now(UTC),
                                        self.min_age if min_age is None else min_age)
            batch_done = 0
            for start in range(0, len(ids), MATCH_BATCH):
                began = time.monotonic()
                batch_done += self.process_batch(ids[start:start + MATCH_BATCH])
                if self.intake_busy():  # the sweep takes its share of the time, as the live worker does
                    time.sleep(self._rest(time.monotonic() - began))
            done += batch_done
            if len(ids) < SWEEP_BATCH or batch_done == 0:
                break
        if done:
            log.info("matching.swept", count=done)
        return done

    async def _sweep_at_start(self) -> None:
        try:
            await asyncio.to_thread(self.sweep)
        except Exception as exc:  # noqa: BLE001 - the database may be away; the scheduler's sweep retries
            log.warning("matching.sweep_failed", error=type(exc).__name__)

    async def idle(self) -> None:
        """Wait until every woken payment has been processed (tests, shutdown)."""
        await self._queue.join()
