"""The web channel: the local chat page (/chat). Sending a reply stores it as a message row of that web chat;
the page polls for rows, so any server process can serve it and a restart loses nothing.

Choices are kept as buttons, pictures and documents are stored with the message and shown inline, and
`edit_ref` edits the tapped message in place (an unknown or foreign ref becomes a new message instead).
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

from sqlalchemy import Engine
from sqlmodel import Session

from bot.assistant.messages import Reply
from bot.channels.base import SentRef
from bot.ledger.chat_input import plain_number
from bot.storage.db import unit_of_work
from bot.storage.web_chat import add_message, edit_message


class WebChannel:
    """`Channel` for the outbox sender; `store_reply` is the same write inside a caller's unit of work."""

    name = "web"

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    async def send(self, chat_id: str, reply: Reply) -> SentRef:
        return await asyncio.to_thread(self._send, chat_id, reply)

    def _send(self, chat_id: str, reply: Reply) -> SentRef:
        with unit_of_work(self.engine) as session:
            return store_reply(session, chat_id, reply, datetime.now(UTC))


def store_reply(session: Session, chat_id: str, reply: Reply, now: datetime) -> SentRef:
    """One reply as a message of `chat_id`; returns the message id as the SentRef."""
    choices = [(c.label, c.data) for c in reply.choices]
    has_file = reply.picture is not None or reply.document is not None
    edit_id = plain_number(reply.edit_ref) if reply.edit_ref is not None else None
    if edit_id is not None and not has_file and edit_message(session, chat_id, edit_id, reply.text, choices, now):
        return reply.edit_ref
    document = None
    if reply.document is not None:
        document = (reply.document.filename, reply.document.content, reply.document.mime)
    return str(add_message(session, chat_id, "out", reply.text, now, choices=choices, picture=reply.picture,
                           document=document))
