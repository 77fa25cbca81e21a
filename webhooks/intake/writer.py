"""The callback writer: group commit for acknowledged-after-commit callbacks.

Each request hands its parsed callback to the writer thread and waits. The writer takes everything queued,
writes it in ONE transaction and then wakes every waiter (one event-loop turn for the batch): with 32 concurrent posts
that is one commit (one fsync) for many callbacks instead of one each, and still no callback is
acknowledged before the transaction holding it has committed. When the database fails, the batch goes to
the spool (fsynced) and is still acknowledged; only when both fail does the caller get a failure.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from bot.logs import get_logger
from bot.storage.businesses import token_digest
from bot.storage.callbacks import CallbackRecord, Outcome, Recorded, record_callbacks
from bot.storage.checkpoints import WalCheckpointer
from bot.storage.db import DatabaseError, DatabaseUnreachable, Engine, write_gate
from webhooks.intake.spool import Spool, SpoolEntry
from webhooks.metrics import Metrics

log = get_logger("intake")
MAX_BATCH = 256
BUSY_WINDOW = 0.05  # seconds after the last callback (or backlog) during which intake counts as busy (behind)
BACKLOG = 4  # a batch this large means callbacks queued behind the previous commit


@dataclass(frozen=True, slots=True)
class Stored:
    """Where a callback ended up: `recorded` when in the database, `spooled` when on local disk."""

    recorded: Recorded | None = None
    spooled: bool = False

    @property
    def durable(self) -> bool:
        return self.recorded is not None or self.spooled


class CallbackWriter:
    """The writer is a thread of its own that takes the next batch the moment a commit returns: handing each
    batch back to the event loop first left the database idle for a loop turn between commits (1 ms at the
    median, 5-8 ms at p90 on a busy machine), time that every waiting callback paid for."""

    def __init__(self, engine: Engine, spool: Spool, metrics: Metrics,
                 on_stored: Callable[[list[int]], None] = lambda _ids: None) -> None:
        """`on_stored` gets the ids of the payments each commit recorded (the matching worker's DuePayments)."""
        self.engine = engine
        self.spool = spool
        self.metrics = metrics
        self.on_stored = on_stored
        self._pending: deque[tuple[CallbackRecord, asyncio.Future[Stored], float]] = deque()
        self._cond = threading.Condition(threading.Lock())
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stopping = False
        self._in_flight = False
        self._last_submit = 0.0
        self._last_backlog = 0.0
        self._checkpointer = WalCheckpointer(engine)  # SQLite: WAL checkpoints off this writer's commits

    async def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stopping = False
        self._thread = threading.Thread(target=self._run, name="callback-writer", daemon=True)
        self._thread.start()
        self._checkpointer.start()

    async def stop(self) -> None:
        """Finish what is queued, then stop."""
        with self._cond:
            self._stopping = True
            self._cond.notify()
        if self._thread is not None:
            await asyncio.to_thread(self._thread.join)
            self._thread = None
        await asyncio.to_thread(self._checkpointer.stop)

    async def submit(self, record: CallbackRecord) -> Stored:
        future: asyncio.Future[Stored] = asyncio.get_running_loop().create_future()
        self._last_submit = time.monotonic()
        with self._cond:
            queued = self._thread is not None and not self._stopping
            if queued:
                self._pending.append((record, future, time.perf_counter()))
                self._cond.notify()
        if not queued:  # not started, or shutting down: this one is written alone
            return (await asyncio.to_thread(self.write_batch, [record]))[0]
        return await future

    def _run(self) -> None:
        while True:
            with self._cond:
                self._cond.wait_for(lambda: self._pending or self._stopping)
                if not self._pending:
                    return  # stopping, and everything queued has been written
                batch = [self._pending.popleft() for _ in range(min(MAX_BATCH, len(self._pending)))]
                self._in_flight = True
            if len(batch) >= BACKLOG:
                self._last_backlog = time.monotonic()
            try:
                results = self.write_batch([b[0] for b in batch])
            except Exception as exc:  # noqa: BLE001 - the writer must never die; waiters get a failure
                log.error("intake.batch_failed", error=type(exc).__name__)
                results = [Stored() for _ in batch]
            finally:
                self._in_flight = False
            now = time.perf_counter()
            for (_record, _future, started) in batch:
                self.metrics.store_seconds.observe(now - started)
            assert self._loop is not None
            try:
                self._loop.call_soon_threadsafe(_settle, batch, results)
            except RuntimeError:  # the loop is gone (the process is exiting): nobody waits for these any more
                log.warning("intake.loop_closed", count=len(batch))

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
        """Callbacks waiting, being written, or arriving in the last moment (between two batches the queue is
        empty for a millisecond): background writers should keep their transactions short."""
        return self._in_flight or bool(self._pending) or time.monotonic() - self._last_submit < BUSY_WINDOW

    def behind(self) -> bool:
        """A rush: callbacks have been queueing behind the commit in progress (batches of several) within the
        last moment. Background work should take only a small share of the core and the writer meanwhile."""
        return time.monotonic() - self._last_backlog < BUSY_WINDOW

    def _commit(self, records: list[CallbackRecord]) -> list[Stored]:
        with write_gate(self.engine, urgent=True), self.engine.begin() as conn:
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


def _settle(batch: list[tuple[CallbackRecord, asyncio.Future[Stored], float]], results: list[Stored]) -> None:
    """On the event loop: wake every callback of a written batch."""
    for (_record, future, _started), stored in zip(batch, results, strict=True):
        if not future.done():
            future.set_result(stored)
