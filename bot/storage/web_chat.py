"""The local chat page's messages: every message of a web chat is a row, so any server process can serve the
page, the outbox can deliver to it like to any chat, and a restart loses nothing.

A web chat is identified by its `chat_id` (random, carried in a signed cookie); its business links are ordinary
`ChatLinkRow`s on channel "web". Rows belong to one chat and every read here is filtered by that chat.
Pictures and documents are stored in the row, so the page can show them inline from any process.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlmodel import Session, col, select

from bot.storage.tables import ChatLinkRow, WebMessageRow

# a row committed late (a slow transaction) still reaches a page that polled meanwhile: polls look back this far
POLL_OVERLAP = timedelta(seconds=10)
HISTORY_LIMIT = 200




@dataclass(frozen=True, slots=True)
class WebMessage:
    """A message as the page shows it (no bytes: pictures and files are fetched by id)."""

    id: int
    direction: str
    text: str
    choices: list[tuple[str, str]]
    picture: bool
    document_name: str | None
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class StoredFile:
    content: bytes
    mime: str
    filename: str


def add_message(session: Session, chat_id: str, direction: str, text: str, now: datetime, *,
                choices: list[tuple[str, str]] | None = None, picture: bytes | None = None,
                document: tuple[str, bytes, str] | None = None) -> int:
    """Store one message; returns its id (the `SentRef` a tapped button later edits)."""
    row = WebMessageRow(chat_id=chat_id, direction=direction, text=text, choices=json.dumps(choices or []),
                        picture=picture, created_at=now, updated_at=now)
    if document is not None:
        row.document_name, row.document, row.document_mime = document
    session.add(row)
    session.flush()
    assert row.id is not None
    return row.id


def edit_message(session: Session, chat_id: str, message_id: int, text: str, choices: list[tuple[str, str]],
                 now: datetime) -> bool:
    """Replace the text and buttons of one of this chat's own `out` messages; False when it is not one."""
    row = session.get(WebMessageRow, message_id)
    if row is None or row.chat_id != chat_id or row.direction != "out":
        return False
    row.text, row.choices, row.updated_at = text, json.dumps(choices), now
    session.add(row)
    session.flush()
    return True


def web_chats_exist(session: Session) -> bool:
    return session.exec(select(ChatLinkRow.id).where(ChatLinkRow.channel == "web").limit(1)).first() is not None


def messages_since(session: Session, chat_id: str, since: datetime | None) -> list[WebMessage]:
    """This chat's messages changed at or after `since` (minus the overlap), oldest first; the latest
    HISTORY_LIMIT when `since` is None."""
    query = select(WebMessageRow).where(WebMessageRow.chat_id == chat_id)
    if since is not None:
        query = query.where(col(WebMessageRow.updated_at) >= since - POLL_OVERLAP)
    rows = list(session.exec(query.order_by(col(WebMessageRow.id).desc()).limit(HISTORY_LIMIT)))
    return [_message(r) for r in reversed(rows)]


def message_file(session: Session, chat_id: str, message_id: int, kind: str) -> StoredFile | None:
    """The picture or document of one of this chat's messages (another chat's answers None)."""
    row = session.get(WebMessageRow, message_id)
    if row is None or row.chat_id != chat_id:
        return None
    if kind == "picture" and row.picture is not None:
        return StoredFile(row.picture, "image/png", f"picture-{message_id}.png")
    if kind == "document" and row.document is not None:
        return StoredFile(row.document, row.document_mime or "application/octet-stream",
                          row.document_name or f"file-{message_id}")
    return None


def _message(row: WebMessageRow) -> WebMessage:
    choices = [(str(label), str(data)) for label, data in json.loads(row.choices or "[]")]
    return WebMessage(row.id or 0, row.direction, row.text, choices, row.picture is not None, row.document_name,
                      row.created_at, row.updated_at)
