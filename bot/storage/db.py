"""Engines and the unit of work. SQLite gets WAL, a busy timeout and foreign keys; both get the same schema.

This package is the only code that imports sqlalchemy or sqlmodel (an import-linter contract): the layers
above name an engine, a session and the database's failures through the names exported here.
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event, text
from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError
from sqlalchemy.pool import NullPool
from sqlmodel import Session

# the database's failures as the callers above storage catch them
DatabaseError = DBAPIError  # any error the driver raised
DatabaseUnreachable = OperationalError  # the database cannot be reached or refused the connection
__all__ = ["Connection", "DatabaseError", "DatabaseUnreachable", "Engine", "IntegrityError", "Session",
           "database_reachable", "make_engine", "make_scratch_engine", "make_single_use_engine", "unit_of_work",
           "write_gate"]


def make_engine(url: str, **kwargs: Any) -> Engine:
    """One engine per process. SQLite: WAL so readers never block the writer, FULL sync because a
    payment acknowledged to Safaricom must survive a power cut, foreign keys enforced."""
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 10}, **kwargs)
        event.listen(engine, "connect", _sqlite_pragmas)
        # pysqlite's own transaction handling defers BEGIN; take control so BEGIN IMMEDIATE is possible
        event.listen(engine, "begin", lambda conn: conn.exec_driver_sql("BEGIN IMMEDIATE"))
        return engine
    kwargs.setdefault("pool_pre_ping", True)
    if "poolclass" not in kwargs:
        kwargs.setdefault("pool_size", 10)
        kwargs.setdefault("max_overflow", 10)
    return create_engine(url, **kwargs)


def make_single_use_engine(url: str) -> Engine:
    """For command-line tools: no pool left behind."""
    return make_engine(url, poolclass=NullPool) if not url.startswith("sqlite") else make_engine(url)


def make_scratch_engine(url: str) -> Engine:
    """A throw-away SQLite file (`hesabu match replay`): synchronous=OFF, nothing in it outlives the command."""
    engine = make_engine(url)
    event.listen(engine, "connect", lambda conn, _r: conn.execute("PRAGMA synchronous=OFF"))
    return engine


AUTOCHECKPOINT_PAGES = 4000


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    dbapi_conn.isolation_level = None  # autocommit at the driver; SQLAlchemy's "begin" event issues BEGIN
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=FULL")
    cur.execute("PRAGMA busy_timeout=10000")
    cur.execute("PRAGMA foreign_keys=ON")
    # a commit that crosses this many WAL pages checkpoints inside itself; the server's checkpointer
    # (bot.storage.checkpoints) keeps the WAL well below it, so that stall stays out of the callback path
    cur.execute(f"PRAGMA wal_autocheckpoint={AUTOCHECKPOINT_PAGES}")
    cur.close()


class WriteGate:
    """SQLite's one writer, taken in turns inside this process, with callbacks first: an `urgent` writer (the
    callback writer, whose commit a Safaricom acknowledgement waits for) goes ahead of every background writer
    (matching, the outbox, chat state) that is waiting, and a background writer never takes the gate while an
    urgent one waits. A background writer already inside keeps it until its (short) transaction ends."""

    def __init__(self) -> None:
        self._cond = threading.Condition(threading.Lock())
        self._held = False
        self._urgent_waiting = 0

    @contextmanager
    def hold(self, urgent: bool = False) -> Iterator[None]:
        with self._cond:
            if urgent:
                self._urgent_waiting += 1
                try:
                    self._cond.wait_for(lambda: not self._held)
                finally:
                    self._urgent_waiting -= 1
            else:
                self._cond.wait_for(lambda: not self._held and not self._urgent_waiting)
            self._held = True
        try:
            yield
        finally:
            with self._cond:
                self._held = False
                self._cond.notify_all()

    @property
    def urgent_waiting(self) -> bool:
        return self._urgent_waiting > 0


_GATES: weakref.WeakKeyDictionary[Engine, WriteGate] = weakref.WeakKeyDictionary()


def write_gate(engine: Engine, urgent: bool = False) -> AbstractContextManager[Any]:
    """SQLite has one writer at a time and its busy handler waits by sleeping with back-off, which turned a
    few milliseconds of contention into seconds of callback latency. Writers in one process queue on this
    gate instead, callbacks (`urgent`) first. PostgreSQL locks rows, not the database: no gate."""
    if engine.dialect.name != "sqlite":
        return nullcontext()
    return _GATES.setdefault(engine, WriteGate()).hold(urgent)


@contextmanager
def unit_of_work(engine: Engine) -> Iterator[Session]:
    """The one place that commits: services and repositories only flush."""
    with Session(engine, expire_on_commit=False) as session:
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise


def database_reachable(engine: Engine) -> bool:
    """`/healthz`: can a connection run a query now."""
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    except Exception:  # noqa: BLE001
        return False
    return True
