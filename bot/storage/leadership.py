"""Which server process runs the scheduled jobs: exactly one at a time, whatever the number of processes.

PostgreSQL: a session-level advisory lock (`pg_try_advisory_lock`) on a dedicated connection kept open while
leading. The lock belongs to that connection, so a leader that dies (or whose connection drops) frees it at
once and another process takes over at its next try; every check pings the connection first.
SQLite: an exclusive `flock` on a file next to the database. SQLite already requires every process to be on
one machine; the kernel frees the lock when the holder dies.
Each job asks `is_leader()` before it runs, so leadership is re-checked (and re-tried) every tick.
"""

from __future__ import annotations

import contextlib
import fcntl
import threading
from pathlib import Path
from typing import IO, Protocol

from sqlalchemy import Connection, Engine, text

from bot.logs import get_logger

log = get_logger("scheduler")
LOCK_KEY = 0x48455341_4255  # "HESABU": the scheduler's advisory lock key (any int8 unique to this use)


class Leadership(Protocol):
    def is_leader(self) -> bool: ...

    def release(self) -> None: ...


class AdvisoryLockLeadership:
    """PostgreSQL: hold `pg_try_advisory_lock(LOCK_KEY)` on one connection of our own."""

    def __init__(self, engine: Engine, key: int = LOCK_KEY) -> None:
        self.engine, self.key = engine, key
        self._conn: Connection | None = None
        self._pid: int | None = None  # the server backend holding the lock
        self._mutex = threading.Lock()  # jobs ask from worker threads at the same moment

    def is_leader(self) -> bool:
        with self._mutex:
            return self._check()

    def _check(self) -> bool:
        if self._conn is not None and self._alive(self._conn):
            return True
        self._drop()
        try:
            conn = self.engine.connect()
        except Exception as exc:  # noqa: BLE001 - the database is away: not the leader now
            log.warning("scheduler.lock_unreachable", error=type(exc).__name__)
            return False
        row = conn.execute(text("SELECT pg_try_advisory_lock(:k), pg_backend_pid()"), {"k": self.key}).one()
        conn.commit()  # the lock is session-level: it outlives the transaction, not the connection
        if not row[0]:
            conn.close()
            return False
        self._conn, self._pid = conn, int(row[1])
        log.info("scheduler.leading", key=self.key)
        return True

    def _alive(self, conn: Connection) -> bool:
        """Still the same server session? SQLAlchemy may silently reconnect an invalidated connection, and
        a new session does not hold the lock, so the backend pid is compared, not just pinged."""
        if conn.invalidated:
            return False
        try:
            pid = conn.execute(text("SELECT pg_backend_pid()")).scalar()
            conn.commit()
        except Exception:  # noqa: BLE001 - the connection (and with it the lock) is gone
            return False
        if pid != self._pid:
            log.warning("scheduler.lock_lost", key=self.key)
            return False
        return True

    def _drop(self) -> None:
        if self._conn is not None:
            with contextlib.suppress(Exception):
                self._conn.invalidate()  # never hand a connection holding a lock back to the pool
                self._conn.close()
            self._conn, self._pid = None, None

    def release(self) -> None:
        with self._mutex:
            if self._conn is not None:
                with contextlib.suppress(Exception):
                    self._conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": self.key})
                    self._conn.commit()
            self._drop()


class FileLockLeadership:
    """SQLite: an exclusive non-blocking flock on `<database>.scheduler.lock`."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._handle: IO[bytes] | None = None
        self._mutex = threading.Lock()

    def is_leader(self) -> bool:
        with self._mutex:
            return self._check()

    def _check(self) -> bool:
        if self._handle is not None:
            return True
        handle = self.path.open("a+b")
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            handle.close()
            return False
        self._handle = handle
        log.info("scheduler.leading", lock=self.path)
        return True

    def release(self) -> None:
        with self._mutex:
            if self._handle is not None:
                with contextlib.suppress(OSError):
                    fcntl.flock(self._handle.fileno(), fcntl.LOCK_UN)
                self._handle.close()
                self._handle = None


def leadership_for(engine: Engine) -> Leadership:
    """The election that fits the engine's database."""
    if engine.dialect.name == "postgresql":
        return AdvisoryLockLeadership(engine)
    database = engine.url.database or ""
    if database in ("", ":memory:"):
        return _AlwaysLeader()  # an in-memory database belongs to this process alone
    return FileLockLeadership(Path(f"{database}.scheduler.lock"))


class _AlwaysLeader:
    def is_leader(self) -> bool:
        return True

    def release(self) -> None:
        return None
