"""An imported statement's file in the journal, and its rows that are not money in (statement_entry)."""

from __future__ import annotations

import hashlib
from datetime import datetime

from sqlalchemy import Connection, Insert, Table
from sqlalchemy.dialects import postgresql, sqlite

from bot.storage.tables import CallbackRow, StatementEntryRow

CALLBACK: Table = CallbackRow.__table__  # type: ignore[attr-defined]
ENTRY: Table = StatementEntryRow.__table__  # type: ignore[attr-defined]


def journal_statement(conn: Connection, business_id: int, data: bytes, now: datetime) -> int:
    """The file exactly as given, like a callback body; its id is what the statement's payments point back to."""
    digest = hashlib.sha256(data).hexdigest()
    result = conn.execute(CALLBACK.insert().values(
        business_id=business_id, source="statement", external_id=f"sha256:{digest[:56]}", body=data, remote_addr="",
        received_at=now, handled_at=now, outcome="statement", detail="", flagged=False))
    return int(result.inserted_primary_key[0])


def keep_apart(conn: Connection, business_id: int, entries: list[dict[str, object]], callback_id: int,
               now: datetime) -> None:
    """Money out, reversals and incomplete rows (receipt, kind, amount, charge, completed_at, details, original),
    once each however often the statement is imported."""
    conn.execute(_entry_insert(conn.dialect.name), [
        e | {"business_id": business_id, "callback_id": callback_id, "imported_at": now} for e in entries])


_ENTRY_INSERTS: dict[str, Insert] = {}


def _entry_insert(dialect_name: str) -> Insert:
    if dialect_name not in _ENTRY_INSERTS:
        dialect_insert = postgresql.insert if dialect_name == "postgresql" else sqlite.insert
        _ENTRY_INSERTS[dialect_name] = dialect_insert(ENTRY).on_conflict_do_nothing(
            index_elements=["business_id", "receipt", "kind", "amount", "charge"])
    return _ENTRY_INSERTS[dialect_name]
