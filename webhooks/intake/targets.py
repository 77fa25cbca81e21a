"""Which business a callback token belongs to: a cache of the callback targets, re-read on a miss.

The callback tokens are known without the database: every successful read of the businesses is also written
to `targets.json` in the spool directory (token digests only, never a token), and a process that starts
while the database is down reads that file, so a real business's callback is still spooled and acknowledged.
"""

from __future__ import annotations

import asyncio
import json
import os
from dataclasses import asdict
from pathlib import Path

from bot.logs import get_logger
from bot.storage.businesses import CallbackTarget, callback_targets, token_digest
from bot.storage.db import Engine

log = get_logger("intake.targets")
TARGETS_FILE = "targets.json"


class CallbackTargets:
    def __init__(self, engine: Engine, spool_dir: str | Path) -> None:
        self.engine = engine
        self.saved = Path(spool_dir) / TARGETS_FILE
        self.by_digest: dict[str, CallbackTarget] = {}
        # False while the database could not be asked: an unknown token is then "cannot tell", not "nobody's"
        self.fresh = False

    async def start(self) -> None:
        self.load_saved()  # the businesses as last seen: callbacks are recognised even if the database is down
        await self.refresh()

    async def stop(self) -> None:
        """Nothing to release: a cache."""

    async def target_for(self, token: str) -> CallbackTarget | None:
        """The business a callback token belongs to. A miss re-reads the table once (a business added by the
        CLI while serving). Keyed by the token's SHA-256: the lookup compares digests, never the token."""
        digest = token_digest(token)
        target = self.by_digest.get(digest)
        if target is None:
            await self.refresh()
            target = self.by_digest.get(digest)
        return target

    async def refresh(self) -> bool:
        try:
            found = await asyncio.to_thread(callback_targets, self.engine)
        except Exception as exc:  # noqa: BLE001 - keep serving with the cache while the database is away
            log.warning("targets.refresh_failed", error=type(exc).__name__)
            self.fresh = False
            return False
        if found != self.by_digest:
            await asyncio.to_thread(self._save, found)
        self.by_digest, self.fresh = found, True
        return True

    def _save(self, targets: dict[str, CallbackTarget]) -> None:
        """Written atomically (temporary file, fsync, rename); digests and routing facts only, no token."""
        data = {digest: {**asdict(t), "token": "", "shortcodes": sorted(t.shortcodes)} for digest, t in targets.items()}
        try:
            self.saved.parent.mkdir(parents=True, exist_ok=True)
            temporary = self.saved.with_suffix(".tmp")
            with temporary.open("w", encoding="utf-8") as f:
                json.dump(data, f)
                f.flush()
                os.fsync(f.fileno())
            os.chmod(temporary, 0o600)
            os.replace(temporary, self.saved)
        except OSError as exc:
            log.warning("targets.save_failed", error=str(exc))

    def load_saved(self) -> int:
        """At start-up, before the database is asked: the businesses as last seen. Returns how many."""
        try:
            data = json.loads(self.saved.read_text(encoding="utf-8"))
            self.by_digest = {digest: CallbackTarget(int(t["business_id"]), "", frozenset(t["shortcodes"]), t["kind"],
                                                     bool(t["reject_unknown_accounts"])) for digest, t in data.items()}
        except (OSError, ValueError, KeyError, TypeError) as exc:
            log.info("targets.no_saved_list", error=type(exc).__name__)
        return len(self.by_digest)
