"""The running service's parts, built once in the lifespan and reached by routes through `app.state.hesabu`."""

from __future__ import annotations

import asyncio
import hmac
from dataclasses import dataclass, field
from datetime import UTC, datetime

from sqlalchemy import Engine, text

from bot.storage.businesses import CallbackTarget, callback_targets, token_digest
from bot.storage.db import write_gate
from bot.storage.intake import record_callbacks
from webhooks.daraja import build_record
from webhooks.intake import CallbackWriter
from webhooks.logs import get_logger
from webhooks.metrics import Metrics
from webhooks.settings import Settings
from webhooks.spool import Spool, SpoolEntry

log = get_logger("runtime")


@dataclass
class Runtime:
    settings: Settings
    engine: Engine
    metrics: Metrics
    spool: Spool
    writer: CallbackWriter
    targets: dict[str, CallbackTarget] = field(default_factory=dict)
    background: list[asyncio.Task[None]] = field(default_factory=list)

    async def target_for(self, token: str) -> CallbackTarget | None:
        """The business a callback token belongs to. A miss re-reads the table once (a business added by the
        CLI while serving); the final comparison is constant-time."""
        digest = token_digest(token)
        target = self.targets.get(digest)
        if target is None:
            await self.refresh_targets()
            target = self.targets.get(digest)
        if target is None or not hmac.compare_digest(target.token.encode(), token.encode()):
            return None
        return target

    async def refresh_targets(self) -> None:
        try:
            self.targets = await asyncio.to_thread(callback_targets, self.engine)
        except Exception as exc:  # noqa: BLE001 - keep serving with the cache while the database is away
            log.warning("targets.refresh_failed", error=type(exc).__name__)

    def database_ok(self) -> bool:
        try:
            with self.engine.connect() as conn:
                conn.execute(text("SELECT 1"))
        except Exception:  # noqa: BLE001
            return False
        return True

    def replay_spool(self) -> int:
        """Put spooled callbacks into the database. Runs at start-up and whenever the spool is not empty."""
        by_id = {t.business_id: t for t in self.targets.values()}

        def store(entries: list[SpoolEntry]) -> None:
            records = [build_record(e.source, by_id[e.business_id], e.body, e.remote_addr, e.received_at)
                       for e in entries if e.business_id in by_id]
            with write_gate(self.engine), self.engine.begin() as conn:
                recorded = record_callbacks(conn, records, datetime.now(UTC))
            new_ids = [r.payment_id for r in recorded if r.payment_id is not None]
            if new_ids and self.writer.on_stored is not None:
                self.writer.on_stored(new_ids)

        replayed = self.spool.replay(store)
        self.metrics.spool_depth.set(self.spool.depth())
        if replayed:
            log.info("spool.replayed", count=replayed)
        return replayed

    async def spool_replayer(self, interval: float = 2.0) -> None:
        while True:
            await asyncio.sleep(interval)
            if self.spool.depth() == 0:
                continue
            try:
                await self.refresh_targets()
                await asyncio.to_thread(self.replay_spool)
            except Exception as exc:  # noqa: BLE001 - the database is still away; try again later
                log.info("spool.replay_deferred", error=type(exc).__name__)
