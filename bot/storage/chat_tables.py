"""Tables of the chat side: which chats are linked to which business and in what role, each chat's
conversation state (so any server process can take any message), inbound de-duplication, and the
per-chat deliveries of outbox messages."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column, Index, LargeBinary, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from bot.storage.tables import _fk, _id, _time


class ChatLinkRow(SQLModel, table=True):
    """A chat linked to a business by a one-time code. One chat may be linked to several businesses."""

    __tablename__ = "chat_link"
    __table_args__ = (
        UniqueConstraint("channel", "chat_id", "business_id", name="uq_chat_link"),
        Index("ix_chat_link_business", "business_id"),
    )
    id: int | None = _id()
    channel: str  # telegram | whatsapp | web
    chat_id: str
    business_id: int = _fk("business.id", index=False)
    role: str = "owner"  # owner | staff
    display_name: str = ""
    linked_at: datetime = _time()


class ChatStateRow(SQLModel, table=True):
    """Per chat: the business it is working on now, a conversation in progress, when it last wrote."""

    __tablename__ = "chat_state"
    __table_args__ = (UniqueConstraint("channel", "chat_id", name="uq_chat_state"),)
    id: int | None = _id()
    channel: str
    chat_id: str
    business_id: int | None = _fk("business.id", nullable=True, index=False)
    pending: str = Field(default="{}", sa_column=Column(Text, nullable=False))  # JSON
    last_inbound_at: datetime | None = _time(nullable=True)  # WhatsApp's 24-hour window starts here
    updated_at: datetime = _time()
    # en | sw; None until chosen (/language) or read from the person's first messages: the business's default
    language: str | None = Field(default=None, max_length=2)


class InboundRow(SQLModel, table=True):
    """Every provider message id seen once: Telegram redelivers updates, Twilio retries webhooks."""

    __tablename__ = "inbound_message"
    __table_args__ = (UniqueConstraint("channel", "external_id", name="uq_inbound_message"),)
    id: int | None = _id()
    channel: str
    external_id: str
    received_at: datetime = _time()


class DeliveryRow(SQLModel, table=True):
    """One outbox message to one chat. `sending` is committed before the provider is called: a sender that
    dies after sending leaves the row `sending`, which is later marked `in_doubt` and never re-sent, so a
    given alert reaches a chat at most once (the payment itself stays on /unmatched, so nothing is lost)."""

    __tablename__ = "delivery"
    __table_args__ = (
        UniqueConstraint("outbox_id", "channel", "chat_id", name="uq_delivery"),
        Index("ix_delivery_due", "status", "next_attempt_at"),
        Index("ix_delivery_sent_ref", "sent_ref"),  # Twilio's status callbacks name the message by its sid
    )
    id: int | None = _id()
    outbox_id: int = _fk("outbox.id", index=False)
    business_id: int = _fk("business.id")
    channel: str
    chat_id: str
    status: str = "pending"  # pending | sending | sent | failed | in_doubt | held
    attempts: int = 0
    next_attempt_at: datetime = _time()
    claimed_at: datetime | None = _time(nullable=True)
    sent_ref: str | None = None  # the provider's message id: a tapped button edits this message
    last_error: str = ""
    created_at: datetime = _time()
    sent_at: datetime | None = _time(nullable=True)
    # what the provider reported afterwards (Twilio status callbacks): queued/sent/delivered/read/failed + code
    provider_status: str = ""
    provider_error: str = ""
    status_at: datetime | None = _time(nullable=True)


class MediaRow(SQLModel, table=True):
    """A picture or file Hesabu serves to a provider that fetches media by URL (Twilio). Kept in the database so
    any process can serve it; the id is random and the URL is signed and expires (webhooks.routes.media)."""

    __tablename__ = "media"
    id: str = Field(primary_key=True)
    filename: str
    mime: str
    content: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    created_at: datetime = _time()
    expires_at: datetime = _time(index=True)
