"""The callback writer: group commit for acknowledged-after-commit callbacks.

Each request hands its parsed callback to one writer task and waits. The writer takes everything queued,
writes it in ONE transaction on a worker thread and then wakes every waiter: with 32 concurrent posts
that is one commit (one fsync) for many callbacks instead of one each, and still no callback is
acknowledged before the transaction holding it has committed. When the database fails, the batch goes to
the spool (fsynced) and is still acknowledged; only when both fail does the caller get a failure.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime

from bot.logs import get_logger
from bot.storage.businesses import token_digest
from bot.storage.callbacks import CallbackRecord, Outcome, Recorded, record_callbacks
from bot.storage.db import DatabaseError, DatabaseUnreachable, Engine, write_gate
from webhooks.intake.spool import Spool, SpoolEntry
from webhooks.metrics import Metrics

log = get_logger("intake")
MAX_BATCH = 256


@dataclass(frozen=True, slots=True)
class Stored:
    """Where a callback ended up: `recorded` when in the database, `spooled` when on local disk."""

    recorded: Recorded | None = None
    spooled: bool = False

    @property
    def durable(self) -> bool:
        return self.recorded is not None or self.spooled


class CallbackWriter:
    def __init__(self, engine: Engine, spool: Spool, metrics: Metrics,
                 on_stored: Callable[[list[int]], None] = lambda _ids: None) -> None:
        """`on_stored` gets the ids of the payments each commit recorded (the matching worker's DuePayments)."""
        self.engine = engine
        self.spool = spool
        self.metrics = metrics
        self.on_stored = on_stored
        self._queue: asyncio.Queue[tuple[CallbackRecord, asyncio.Future[Stored], float]] = asyncio.Queue()
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="callback-writer")
        self._task: asyncio.Task[None] | None = None
        self._in_flight = False

    async def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="callback-writer")

    async def stop(self) -> None:
        """Finish what is queued, then stop."""
        await self._queue.join()
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        self._executor.shutdown(wait=True)

    async def submit(self, record: CallbackRecord) -> Stored:
        future: asyncio.Future[Stored] = asyncio.get_running_loop().create_future()
        await self._queue.put((record, future, time.perf_counter()))
        return await future

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            batch = [await self._queue.get()]
            while len(batch) < MAX_BATCH and not self._queue.empty():
                batch.append(self._queue.get_nowait())
            self._in_flight = True
            try:
                results = await loop.run_in_executor(self._executor, self.write_batch, [b[0] for b in batch])
            except Exception as exc:  # noqa: BLE001 - the writer must never die; waiters get a failure
                log.error("intake.batch_failed", error=type(exc).__name__)
                results = [Stored() for _ in batch]
            finally:
                self._in_flight = False
            now = time.perf_counter()
            for (_record, future, started), stored in zip(batch, results, strict=True):
                self.metrics.store_seconds.observe(now - started)
                if not future.done():
                    future.set_result(stored)
                self._queue.task_done()

    def write_batch(self, records: list[CallbackRecord]) -> list[Stored]:
        """One transaction for the batch; on a database error, each alone (one bad row must not spool the rest);
        what still fails goes to the spool."""
        self.metrics.batch_size.observe(len(records))
        try:
            return self._commit(records)
        except DatabaseUnreachable:
            return self._spool(records)  # the database is unreachable: no point trying one by one
        except DatabaseError:
            pass
        results: list[Stored] = []
        for record in records:
            try:
                results.extend(self._commit([record]))
            except DatabaseError:
                results.extend(self._spool([record]))
        return results

    def busy(self) -> bool:
        """Callbacks waiting or being written: background writers should let them go first."""
        return self._in_flight or not self._queue.empty()

    def _commit(self, records: list[CallbackRecord]) -> list[Stored]:
        with write_gate(self.engine), self.engine.begin() as conn:
            recorded = record_callbacks(conn, records, datetime.now(UTC))
        self._count(records, recorded)
        new_ids = [r.payment_id for r in recorded if r.payment_id is not None]
        if new_ids:
            self.on_stored(new_ids)
        return [Stored(recorded=r) for r in recorded]

    def _count(self, records: list[CallbackRecord], recorded: list[Recorded]) -> None:
        for record, r in zip(records, recorded, strict=True):
            self.metrics.callbacks.labels(record.source, r.outcome.value).inc()
            if r.outcome is Outcome.DUPLICATE:
                self.metrics.duplicates.inc()
                log.info("callback.duplicate", trans_id=record.external_id, business_id=record.business_id)
            elif r.outcome in (Outcome.INVALID, Outcome.FOREIGN_SHORTCODE):
                log.warning("callback.flagged", outcome=r.outcome.value, business_id=record.business_id,
                            callback_id=r.callback_id, detail=record.problem or "")

    def spool_unverified(self, source: str, token: str, body: bytes, remote_addr: str, now: datetime) -> bool:
        """A callback whose token cannot be checked now (the database is away and the token was not in the
        saved list): spooled with the token's digest, within the spool's bound. True when durable."""
        entry = SpoolEntry(source, 0, body, remote_addr, now, token_sha256=token_digest(token))
        try:
            stored = self.spool.append_unverified(entry)
        except OSError as exc:
            log.error("spool.write_failed", error=str(exc), count=1)
            return False
        if stored:
            self.metrics.spooled.inc()
            self.metrics.spool_depth.inc()
            self.metrics.callbacks.labels(source, "spooled_unverified").inc()
            log.warning("callback.spooled_unverified")
        return stored

    def _spool(self, records: list[CallbackRecord]) -> list[Stored]:
        entries = [SpoolEntry(r.source, r.business_id, r.body, r.remote_addr, r.received_at) for r in records]
        try:
            self.spool.append(entries)
        except OSError as exc:
            log.error("spool.write_failed", error=str(exc), count=len(records))
            return [Stored() for _ in records]
        self.metrics.spooled.inc(len(records))
        self.metrics.spool_depth.inc(len(records))
        for record in records:
            self.metrics.callbacks.labels(record.source, "spooled").inc()
        log.warning("callback.spooled", count=len(records))
        return [Stored(spooled=True) for _ in records]
