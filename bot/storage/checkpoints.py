"""SQLite's WAL checkpoints, off the callback path.

SQLite copies the write-ahead log back into the database file (a checkpoint) inside whichever commit
crosses `wal_autocheckpoint` pages: that commit then writes and fsyncs the whole backlog while every
callback of the next batch waits (tens of milliseconds, every few hundred batches, in the p99). The
server runs this checkpointer instead: a PASSIVE checkpoint on its own connection and thread, which copies
what it can without blocking any writer. A checkpoint racing with writers never reaches the end of the log,
and SQLite starts the log afresh only after one that did, so once the log has grown past `finish_pages` the
checkpointer runs one more under the write gate (as a background writer, after any waiting callbacks): by
then almost everything is copied, so the gate is held only briefly. PostgreSQL has nothing to do here.
"""

from __future__ import annotations

import threading

from sqlalchemy import Engine

from bot.storage.db import write_gate

FINISH_PAGES = 1000


class WalCheckpointer:
    def __init__(self, engine: Engine, interval: float = 0.25, finish_pages: int = FINISH_PAGES) -> None:
        self.engine = engine
        self.interval = interval
        self.finish_pages = finish_pages
        self.checkpoints = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        if self.engine.dialect.name != "sqlite" or self._thread is not None:
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="wal-checkpointer", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
            self._thread = None

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                self.checkpoint()
            except Exception:  # noqa: BLE001, S112 - the database may be away for a moment; autocheckpoint remains
                continue

    def checkpoint(self) -> tuple[int, int]:
        """One passive checkpoint; returns (pages in the log, pages copied back) after it."""
        log_pages, copied = self._passive()
        if log_pages > self.finish_pages:
            with write_gate(self.engine):
                log_pages, copied = self._passive()
        return log_pages, copied

    def _passive(self) -> tuple[int, int]:
        # at the driver, outside any transaction: SQLAlchemy's begin would take the write lock (BEGIN IMMEDIATE)
        raw = self.engine.raw_connection()
        try:
            cursor = raw.cursor()
            row = cursor.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
            cursor.close()
        finally:
            raw.close()
        self.checkpoints += 1
        return int(row[1]), int(row[2])
