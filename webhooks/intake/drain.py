"""Draining the spool: spooled callbacks go into the database through the normal path, at start-up and every
few seconds while the spool is not empty (receipt uniqueness makes a second drain harmless)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from contextlib import suppress
from datetime import UTC, datetime

from bot.logs import get_logger
from bot.storage.businesses import callback_targets
from bot.storage.callbacks import claim_spool_keys, record_callbacks
from bot.storage.db import Engine, write_gate
from webhooks.intake.records import build_record
from webhooks.intake.spool import Spool, SpoolEntry
from webhooks.intake.targets import CallbackTargets
from webhooks.metrics import Metrics

log = get_logger("intake.drain")


class SpoolDrain:
    """`on_stored` gets the ids of the payments a drain recorded (the matching worker's DuePayments)."""

    def __init__(self, engine: Engine, spool: Spool, targets: CallbackTargets, metrics: Metrics,
                 on_stored: Callable[[list[int]], None] = lambda _ids: None, interval: float = 2.0) -> None:
        self.engine = engine
        self.spool = spool
        self.targets = targets
        self.metrics = metrics
        self.on_stored = on_stored
        self.interval = interval
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        try:
            await asyncio.to_thread(self.drain)
        except Exception as exc:  # noqa: BLE001 - the database may still be starting; the loop retries
            log.warning("spool.startup_replay_failed", error=type(exc).__name__)
        self._task = asyncio.create_task(self._forever(), name="spool-drain")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    def drain(self) -> int:
        """Put spooled callbacks into the database exactly once each; returns how many. The businesses are read
        from the database now, not from the cache: an entry is never dropped because the cache missed its
        business."""
        if not self.spool.depth():
            return 0
        targets = callback_targets(self.engine)
        by_id = {t.business_id: t for t in targets.values()}

        def store(entries: list[SpoolEntry]) -> None:
            now = datetime.now(UTC)
            owned = [(e, targets.get(e.token_sha256) if e.token_sha256 else by_id.get(e.business_id))
                     for e in entries]
            self.spool.keep_orphans([e for e, t in owned if t is None and e.verified])
            strangers = sum(1 for e, t in owned if t is None and not e.verified)
            if strangers:
                log.warning("spool.unknown_tokens_dropped", count=strangers)  # nobody's token: stores nothing
            with write_gate(self.engine), self.engine.begin() as conn:
                fresh = claim_spool_keys(conn, [e.key for e, t in owned if t is not None], now)
                records = [build_record(e.source, t, e.body, e.remote_addr, e.received_at)
                           for e, t in owned if t is not None and e.key in fresh]
                recorded = record_callbacks(conn, records, now)
            new_ids = [r.payment_id for r in recorded if r.payment_id is not None]
            if new_ids:
                self.on_stored(new_ids)

        drained = self.spool.replay(store)
        self.metrics.spool_depth.set(self.spool.depth())
        if drained:
            log.info("spool.replayed", count=drained)
        return drained

    async def _forever(self) -> None:
        while True:
            await asyncio.sleep(self.interval)
            if self.spool.depth() == 0:
                continue
            try:
                await self.targets.refresh()
                await asyncio.to_thread(self.drain)
            except Exception as exc:  # noqa: BLE001 - the database is still away; try again later
                log.info("spool.replay_deferred", error=type(exc).__name__)
