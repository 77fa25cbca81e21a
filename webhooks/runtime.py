"""The running service's parts, built once in the lifespan and reached by routes through `app.state.hesabu`.

The callback tokens are known without the database: every successful read of the businesses is also written
to `targets.json` in the spool directory (token digests only, never a token), and a process that starts
while the database is down reads that file, so a real business's callback is still spooled and acknowledged.
"""

from __future__ import annotations

import asyncio
import json
import os
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import Engine, text

from bot.storage.businesses import CallbackTarget, callback_targets, token_digest
from bot.storage.db import write_gate
from bot.storage.intake import claim_spool_keys, record_callbacks
from webhooks.daraja import build_record
from webhooks.intake import CallbackWriter
from webhooks.logs import get_logger
from webhooks.metrics import Metrics
from webhooks.settings import Settings
from webhooks.spool import Spool, SpoolEntry

log = get_logger("runtime")
TARGETS_FILE = "targets.json"


@dataclass
class Runtime:
    settings: Settings
    engine: Engine
    metrics: Metrics
    spool: Spool
    writer: CallbackWriter
    targets: dict[str, CallbackTarget] = field(default_factory=dict)
    background: list[asyncio.Task[None]] = field(default_factory=list)
    # False while the database could not be asked: an unknown token is then "cannot tell", not "nobody's"
    targets_fresh: bool = False

    async def target_for(self, token: str) -> CallbackTarget | None:
        """The business a callback token belongs to. A miss re-reads the table once (a business added by the
        CLI while serving). Keyed by the token's SHA-256: the lookup compares digests, never the token."""
        digest = token_digest(token)
        target = self.targets.get(digest)
        if target is None:
            await self.refresh_targets()
            target = self.targets.get(digest)
        return target

    async def refresh_targets(self) -> bool:
        try:
            found = await asyncio.to_thread(callback_targets, self.engine)
        except Exception as exc:  # noqa: BLE001 - keep serving with the cache while the database is away
            log.warning("targets.refresh_failed", error=type(exc).__name__)
            self.targets_fresh = False
            return False
        if found != self.targets:
            await asyncio.to_thread(self._save_targets, found)
        self.targets, self.targets_fresh = found, True
        return True

    @property
    def _targets_file(self) -> Path:
        return Path(self.settings.spool_dir) / TARGETS_FILE

    def _save_targets(self, targets: dict[str, CallbackTarget]) -> None:
        """Written atomically (temporary file, fsync, rename); digests and routing facts only, no token."""
        data = {digest: {**asdict(t), "token": "", "shortcodes": sorted(t.shortcodes)} for digest, t in targets.items()}
        path = self._targets_file
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            temporary = path.with_suffix(".tmp")
            with temporary.open("w", encoding="utf-8") as f:
                json.dump(data, f)
                f.flush()
                os.fsync(f.fileno())
            os.chmod(temporary, 0o600)
            os.replace(temporary, path)
        except OSError as exc:
            log.warning("targets.save_failed", error=str(exc))

    def load_saved_targets(self) -> int:
        """At start-up, before the database is asked: the businesses as last seen. Returns how many."""
        try:
            data = json.loads(self._targets_file.read_text(encoding="utf-8"))
            self.targets = {digest: CallbackTarget(int(t["business_id"]), "", frozenset(t["shortcodes"]), t["kind"],
                                                   bool(t["reject_unknown_accounts"])) for digest, t in data.items()}
        except (OSError, ValueError, KeyError, TypeError) as exc:
            log.info("targets.no_saved_list", error=type(exc).__name__)
        return len(self.targets)

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

    def database_ok(self) -> bool:
        try:
            with self.engine.connect() as conn:
                conn.execute(text("SELECT 1"))
        except Exception:  # noqa: BLE001
            return False
        return True

    def replay_spool(self) -> int:
        """Put spooled callbacks into the database exactly once each. Runs at start-up and whenever the spool is
        not empty. The businesses are read from the database now, not from the cache: an entry is never dropped
        because the cache missed its business."""
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
