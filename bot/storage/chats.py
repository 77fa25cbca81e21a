"""Chats and their businesses: linking with one-time codes, roles, conversation state, inbound de-duplication."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Table, exists, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session, col, select

from bot.storage.businesses import link_code_digest
from bot.storage.tables import (
    BusinessRow,
    ChatLinkRow,
    ChatStateRow,
    DeliveryRow,
    InboundRow,
    LinkCodeRow,
    ShortcodeRow,
)

LINK_CODE = LinkCodeRow.__table__  # type: ignore[attr-defined]


@dataclass(frozen=True, slots=True)
class LinkedBusiness:
    business_id: int
    name: str
    role: str
    kind: str
    shortcode: str
    timezone: str


@dataclass(frozen=True, slots=True)
class LinkOutcome:
    ok: bool
    reason: str = ""  # "unknown", "used", "expired" when not ok
    business: LinkedBusiness | None = None


def _connection(session: Session) -> Connection:
    return session.connection()


def redeem_link_code(session: Session, channel: str, chat_id: str, code: str, display_name: str,
                     now: datetime) -> LinkOutcome:
    """Single use by construction: one conditional UPDATE takes the code, so two chats racing with the same
    code cannot both win."""
    digest = link_code_digest(code)
    taken = _connection(session).execute(
        update(LINK_CODE).where(LINK_CODE.c.code_sha256 == digest, LINK_CODE.c.used_at.is_(None),
                                LINK_CODE.c.expires_at > now)
        .values(used_at=now).returning(LINK_CODE.c.business_id, LINK_CODE.c.role)).first()
    if taken is None:
        row = session.exec(select(LinkCodeRow).where(LinkCodeRow.code_sha256 == digest)).first()
        reason = "unknown" if row is None else ("used" if row.used_at is not None else "expired")
        return LinkOutcome(False, reason)
    return LinkOutcome(True, business=link_chat(session, channel, chat_id, int(taken[0]), str(taken[1]),
                                                display_name, now))


def link_chat(session: Session, channel: str, chat_id: str, business_id: int, role: str, display_name: str,
              now: datetime) -> LinkedBusiness:
    """Link a chat to a business in a role and make it the chat's current business."""
    link = session.exec(select(ChatLinkRow).where(ChatLinkRow.channel == channel, ChatLinkRow.chat_id == chat_id,
                                                  ChatLinkRow.business_id == business_id)).first()
    if link is None:
        link = ChatLinkRow(channel=channel, chat_id=chat_id, business_id=business_id, role=role,
                           display_name=display_name[:80], linked_at=now)
    elif role == "owner":
        link.role = "owner"  # a code can promote staff to owner, never demote an owner
    session.add(link)
    state = chat_state(session, channel, chat_id, now)
    state.business_id = business_id
    session.add(state)
    session.flush()
    return next(b for b in linked_businesses(session, channel, chat_id) if b.business_id == business_id)


def linked_businesses(session: Session, channel: str, chat_id: str) -> list[LinkedBusiness]:
    rows = session.exec(
        select(ChatLinkRow, BusinessRow).join(BusinessRow, col(BusinessRow.id) == col(ChatLinkRow.business_id))
        .where(ChatLinkRow.channel == channel, ChatLinkRow.chat_id == chat_id).order_by(col(ChatLinkRow.id)))
    out = []
    for link, business in rows:
        code = session.exec(select(ShortcodeRow.shortcode).where(ShortcodeRow.business_id == business.id)
                            .order_by(col(ShortcodeRow.shortcode))).first() or ""
        out.append(LinkedBusiness(business.id or 0, business.name, link.role, business.kind, code, business.timezone))
    return out


def chat_state(session: Session, channel: str, chat_id: str, now: datetime) -> ChatStateRow:
    """The chat's state row, created on first contact (INSERT … ON CONFLICT DO NOTHING: two processes
    taking the first two messages of a chat at once must not fail)."""
    table = ChatStateRow.__table__  # type: ignore[attr-defined]
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    session.execute(dialect.insert(table).values(channel=channel, chat_id=chat_id, pending="{}", updated_at=now)
                    .on_conflict_do_nothing(index_elements=["channel", "chat_id"]))
    state = session.exec(select(ChatStateRow).where(ChatStateRow.channel == channel,
                                                    ChatStateRow.chat_id == chat_id)).one()
    return state


def pending_of(state: ChatStateRow) -> dict[str, Any]:
    data = json.loads(state.pending or "{}")
    return data if isinstance(data, dict) else {}


def set_pending(session: Session, state: ChatStateRow, pending: dict[str, Any], now: datetime) -> None:
    state.pending = json.dumps(pending, default=str)
    state.updated_at = now
    session.add(state)


def first_time_seen(session: Session, channel: str, external_id: str, now: datetime) -> bool:
    """True the first time a provider message id is seen; False for a redelivery."""
    table = InboundRow.__table__  # type: ignore[attr-defined]
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    inserted = session.execute(
        dialect.insert(table).values(channel=channel, external_id=external_id, received_at=now)
        .on_conflict_do_nothing(index_elements=["channel", "external_id"]).returning(table.c.id)).first()
    return inserted is not None


def chats_of_business(session: Session, business_id: int) -> list[ChatLinkRow]:
    return list(session.exec(select(ChatLinkRow).where(ChatLinkRow.business_id == business_id)
                             .order_by(col(ChatLinkRow.id))))


def chat_language(session: Session, channel: str, chat_id: str) -> str | None:
    """The language a chat is answered in, when it has one (the outbox renders alerts in it)."""
    return session.exec(select(ChatStateRow.language).where(ChatStateRow.channel == channel,
                                                            ChatStateRow.chat_id == chat_id)).first()


def window_open(session: Session, chat_id: str, now: datetime) -> bool:
    """May a free-form message start now? Within 24 h of the chat's last message, unless Twilio refused one
    with 63016 since then."""
    last = session.connection().execute(
        select(CHAT_STATE.c.last_inbound_at).where(CHAT_STATE.c.channel == CHANNEL,
                                                   CHAT_STATE.c.chat_id == chat_id)).scalar_one_or_none()
    if last is None or last <= now - WINDOW:
        return False
    refused = session.connection().execute(select(exists().where(
        DELIVERY.c.channel == CHANNEL, DELIVERY.c.chat_id == chat_id,
        DELIVERY.c.provider_error == OUTSIDE_WINDOW_CODE, DELIVERY.c.status_at > last))).scalar()
    return not refused


def remember_offered(session: Session, chat_id: str, choices: list[str], now: datetime) -> None:
    """An alert with choices went to the chat: "2" now answers its second choice (as for the assistant's own
    replies, bot.assistant.conversation)."""
    state = chat_state(session, CHANNEL, chat_id, now)
    set_pending(session, state, {**pending_of(state), "offered": choices}, now)


CHANNEL = "whatsapp"


WINDOW = timedelta(hours=24)


OUTSIDE_WINDOW_CODE = "63016"


DELIVERY: Table = DeliveryRow.__table__  # type: ignore[attr-defined]


CHAT_STATE: Table = ChatStateRow.__table__  # type: ignore[attr-defined]
