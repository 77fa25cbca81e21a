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


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    dbapi_conn.isolation_level = None  # autocommit at the driver; SQLAlchemy's "begin" event issues BEGIN
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=FULL")
    cur.execute("PRAGMA busy_timeout=10000")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.close()


_GATES: weakref.WeakKeyDictionary[Engine, threading.Lock] = weakref.WeakKeyDictionary()


def write_gate(engine: Engine) -> AbstractContextManager[Any]:
    """SQLite has one writer at a time and its busy handler waits by sleeping with back-off, which turned a
    few milliseconds of contention into seconds of callback latency. Writers in one process queue on this
    lock instead. PostgreSQL locks rows, not the database: no gate."""
    if engine.dialect.name != "sqlite":
        return nullcontext()
    return _GATES.setdefault(engine, threading.Lock())


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
