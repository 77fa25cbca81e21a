"""The tables. Every row that belongs to a business carries `business_id`, and every query filters on it."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

from sqlalchemy import BigInteger, Column, ForeignKey, Index, Integer, LargeBinary, Text, UniqueConstraint, text
from sqlmodel import Field, SQLModel

from bot.storage.types import Cents, UtcDateTime


def utcnow() -> datetime:
    return datetime.now(UTC)


def _id() -> int | None:
    return Field(default=None, sa_column=Column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True))


def _fk(target: str, *, nullable: bool = False, index: bool = True) -> int:
    col = Column(BigInteger().with_variant(Integer, "sqlite"), ForeignKey(target, ondelete="RESTRICT"),
                 nullable=nullable, index=index)
    return Field(default=None, sa_column=col)


def _money(*, nullable: bool = False) -> Decimal:
    return Field(default=None if nullable else Decimal("0.00"), sa_column=Column(Cents(), nullable=nullable))


def _time(*, nullable: bool = False, index: bool = False) -> datetime:
    column = Column(UtcDateTime(), nullable=nullable, index=index)
    if nullable:
        return Field(default=None, sa_column=column)
    return Field(default_factory=utcnow, sa_column=column)


class BusinessRow(SQLModel, table=True):
    __tablename__ = "business"
    id: int | None = _id()
    name: str
    kind: str = "paybill"  # paybill | till
    timezone: str = "Africa/Nairobi"
    callback_token: str = Field(unique=True, index=True)  # lowercase hex: no forbidden words possible
    reject_unknown_accounts: bool = False
    invoice_format: str = "INV-{n:04d}"
    invoice_next: int = 1
    settings_json: str = "{}"  # per-business knobs (match thresholds, summary time); validated at the edge
    created_at: datetime = _time()


class ShortcodeRow(SQLModel, table=True):
    """One business may own several paybills and tills; a shortcode belongs to one business."""

    __tablename__ = "shortcode"
    shortcode: str = Field(primary_key=True)
    business_id: int = _fk("business.id")


class CallbackRow(SQLModel, table=True):
    """The raw-callback journal: every body exactly as received, whatever became of it."""

    __tablename__ = "callback"
    id: int | None = _id()
    business_id: int | None = _fk("business.id", nullable=True)
    source: str  # c2b_validation | c2b_confirmation | stk
    external_id: str | None = Field(default=None, index=True)  # TransID / CheckoutRequestID when readable
    body: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    remote_addr: str = ""
    received_at: datetime = _time()
    handled_at: datetime | None = _time(nullable=True)
    outcome: str = "received"  # stored | duplicate | invalid | foreign_shortcode | stk_failed | validated | rejected
    detail: str = ""
    flagged: bool = False  # needs a person to look at it


class SpoolReplayRow(SQLModel, table=True):
    """A spooled callback already in the database (its spool key), so a replay never journals it twice."""

    __tablename__ = "spool_replay"
    key: str = Field(primary_key=True, max_length=64)
    replayed_at: datetime = _time()


class PaymentRow(SQLModel, table=True):
    """One row per M-Pesa receipt per business: STK and C2B both report the same receipt, so it is the key."""

    __tablename__ = "payment"
    __table_args__ = (
        UniqueConstraint("business_id", "trans_id", name="uq_payment_receipt"),
        Index("ix_payment_business_paid", "business_id", "paid_at"),
        # the sweep's question ("what did matching never see?") reads only the few pending rows
        Index("ix_payment_pending", "created_at", postgresql_where=text("processed_at IS NULL"),
              sqlite_where=text("processed_at IS NULL")),
    )
    id: int | None = _id()
    business_id: int = _fk("business.id", index=False)
    trans_id: str
    source: str  # c2b | stk | pull | sms | statement | manual: the first that saw it
    sources: str = ""  # every source that saw it, comma-separated in order of arrival (see payment_sighting)
    shortcode: str = ""
    amount: Decimal = _money()
    paid_at: datetime = _time()
    reference: str = ""
    invoice_number: str = ""
    payer_name: str = ""
    msisdn_kind: str = "missing"  # plain | sha256 | masked | missing
    phone_sha256: str | None = Field(default=None, index=True)
    masked_prefix: str | None = None
    masked_suffix: str | None = None
    status: str = "unmatched"  # unmatched | suggested | matched | ignored | reversed
    processed_at: datetime | None = _time(nullable=True)  # matching ran; NULL = the sweep picks it up
    customer_id: int | None = _fk("customer.id", nullable=True, index=False)  # whose payment, once settled
    credit: Decimal = _money()  # the part of the settlement kept as the customer's credit
    callback_id: int | None = _fk("callback.id", nullable=True, index=False)
    created_at: datetime = _time()
    confirmed_at: datetime | None = _time(nullable=True)  # Safaricom itself confirmed it (Pull, Transaction Status)


class PaymentSightingRow(SQLModel, table=True):
    """What one source said about one receipt. The payment is made once (by the first); each later source adds a
    row here saying whether it confirmed, filled or disagreed. The same source saying the same thing again adds
    nothing (the unique key), the same source with another amount adds a conflict."""

    __tablename__ = "payment_sighting"
    __table_args__ = (
        UniqueConstraint("business_id", "trans_id", "source", "amount", "shortcode", name="uq_payment_sighting"),
        Index("ix_payment_sighting_seen", "business_id", "seen_at"),
    )
    id: int | None = _id()
    business_id: int = _fk("business.id", index=False)
    payment_id: int = _fk("payment.id")
    trans_id: str
    source: str  # c2b | stk | pull | sms | statement | manual
    amount: Decimal = _money()
    shortcode: str = ""
    reference: str = ""
    paid_at: datetime = _time()
    outcome: str  # created | confirmed | filled | conflict
    detail: str = Field(default="", sa_column=Column(Text, nullable=False, server_default=""))
    callback_id: int | None = _fk("callback.id", nullable=True, index=False)
    seen_at: datetime = _time()


class StatementEntryRow(SQLModel, table=True):
    """A statement row that is not money in: money out (withdrawals, payments made, M-PESA charges), a reversal, or
    a transaction that did not complete. Kept apart from payments so it never counts as takings."""

    __tablename__ = "statement_entry"
    __table_args__ = (
        UniqueConstraint("business_id", "receipt", "kind", "amount", "charge", name="uq_statement_entry"),
        Index("ix_statement_entry_completed", "business_id", "completed_at"),
    )
    id: int | None = _id()
    business_id: int = _fk("business.id", index=False)
    receipt: str
    kind: str  # out | reversal | not_completed
    amount: Decimal = _money()
    charge: bool = False
    completed_at: datetime = _time()
    details: str = Field(default="", sa_column=Column(Text, nullable=False, server_default=""))
    original: str = ""  # a reversal's original receipt
    callback_id: int | None = _fk("callback.id", nullable=True, index=False)  # the journaled statement file
    imported_at: datetime = _time()


class StkAttemptRow(SQLModel, table=True):
    """Each STK result, paid or not (1032 cancelled, 1037 timeout, 2001 wrong PIN...)."""

    __tablename__ = "stk_attempt"
    id: int | None = _id()
    business_id: int = _fk("business.id")
    checkout_request_id: str = Field(index=True)
    merchant_request_id: str = ""
    result_code: int
    result_desc: str = ""
    trans_id: str | None = None
    amount: Decimal | None = _money(nullable=True)
    created_at: datetime = _time()


class CustomerRow(SQLModel, table=True):
    __tablename__ = "customer"
    __table_args__ = (
        Index("ix_customer_name_key", "business_id", "name_key"),
        Index("ix_customer_account_key", "business_id", "account_key"),
    )
    id: int | None = _id()
    business_id: int = _fk("business.id", index=False)
    name: str
    name_key: str = ""
    account_code: str | None = None
    account_key: str | None = None
    credit: Decimal = _money()  # unapplied overpayments
    created_at: datetime = _time()


class CustomerPhoneRow(SQLModel, table=True):
    __tablename__ = "customer_phone"
    __table_args__ = (
        # a phone may be several customers' (a parent's on every child), each customer's once
        UniqueConstraint("business_id", "phone", "customer_id", name="uq_customer_phone"),
        Index("ix_customer_phone_sha", "business_id", "phone_sha256"),
        Index("ix_customer_phone_masked", "business_id", "masked_key"),
    )
    id: int | None = _id()
    business_id: int = _fk("business.id", index=False)
    customer_id: int = _fk("customer.id")
    phone: str  # canonical 2547XXXXXXXX
    phone_sha256: str
    masked_key: str = ""  # masked_key(phone[:4], phone[-3:]): what a C2B v2 callback can be compared with


class CustomerNameTokenRow(SQLModel, table=True):
    """One row per token of a customer's name: a payer typing `wanjiku` finds Mary Wanjiku Kamau by index."""

    __tablename__ = "customer_name_token"
    __table_args__ = (Index("ix_customer_name_token", "business_id", "token", "customer_id"),)
    customer_id: int = Field(sa_column=Column(BigInteger().with_variant(Integer, "sqlite"),
                                              ForeignKey("customer.id", ondelete="RESTRICT"), primary_key=True))
    token: str = Field(primary_key=True)
    business_id: int = _fk("business.id", index=False)


class CustomerAliasRow(SQLModel, table=True):
    """A learned fact: payments showing `key` of `kind` (phone hash, masked phone, payer name, reference)
    come from `customer_id`. Written when an owner confirms a payment."""

    __tablename__ = "customer_alias"
    __table_args__ = (UniqueConstraint("business_id", "kind", "key", "customer_id", name="uq_customer_alias"),)
    id: int | None = _id()
    business_id: int = _fk("business.id", index=False)
    kind: str
    key: str
    customer_id: int = _fk("customer.id")
    created_at: datetime = _time()


class InvoiceRow(SQLModel, table=True):
    __tablename__ = "invoice"
    __table_args__ = (
        UniqueConstraint("business_id", "number", name="uq_invoice_number"),
        # number_key is reference_key(number): what the engine looks a typed account up by, one per business
        Index("ix_invoice_number_key", "business_id", "number_key", unique=True),
        Index("ix_invoice_digits_key", "business_id", "digits_key"),
        Index("ix_invoice_customer_status", "business_id", "customer_id", "status"),
        Index("ix_invoice_open_of_customer", "customer_id", "issued", "due", "number",
              postgresql_where=text("open_balance > 0"), sqlite_where=text("open_balance > 0")),
        # id last: the amount-only lookup reads the first `limit` invoices by id straight off the index
        Index("ix_invoice_open_balance", "business_id", "open_balance", "id",
              postgresql_where=text("open_balance > 0"), sqlite_where=text("open_balance > 0")),
        # the summary's overdue / due-today figures: open invoices of one business by due date
        Index("ix_invoice_open_due", "business_id", "due",
              postgresql_where=text("open_balance > 0"), sqlite_where=text("open_balance > 0")),
    )
    id: int | None = _id()
    business_id: int = _fk("business.id", index=False)
    number: str
    number_key: str = ""
    digits_key: str = ""  # digits_key(number): `INV-0042` -> `42`
    customer_id: int | None = _fk("customer.id", nullable=True, index=False)
    amount: Decimal = _money()
    open_balance: Decimal = _money()
    issued: date
    due: date | None = None
    description: str = ""
    status: str = "open"  # open | partial | paid | cancelled
    created_at: datetime = _time()


class LinkCodeRow(SQLModel, table=True):
    """A one-time code that links a chat to a business. Only its hash is stored."""

    __tablename__ = "link_code"
    id: int | None = _id()
    business_id: int = _fk("business.id")
    code_sha256: str = Field(unique=True)
    role: str = "owner"  # owner | staff
    expires_at: datetime = _time()
    used_at: datetime | None = _time(nullable=True)
    created_at: datetime = _time()


class AllocationRow(SQLModel, table=True):
    """Part of a payment applied to one invoice. A payment's allocations plus its credit equal its amount."""

    __tablename__ = "allocation"
    id: int | None = _id()
    business_id: int = _fk("business.id", index=False)
    payment_id: int = _fk("payment.id")
    invoice_id: int = _fk("invoice.id")
    amount: Decimal = _money()
    created_at: datetime = _time()


class MatchDecisionRow(SQLModel, table=True):
    """What the engine decided for a payment and why: kept so the owner's one-tap choices refer to it."""

    __tablename__ = "match_decision"
    id: int | None = _id()
    business_id: int = _fk("business.id", index=False)
    payment_id: int = Field(sa_column=Column(BigInteger().with_variant(Integer, "sqlite"),
                                             ForeignKey("payment.id", ondelete="RESTRICT"), nullable=False,
                                             unique=True))
    kind: str  # auto | suggest | none
    confidence: int = 0
    reasons: str = Field(default="[]", sa_column=Column(Text, nullable=False))  # JSON list of strings
    applied: str = Field(default="null", sa_column=Column(Text, nullable=False))  # JSON settlement auto applied
    suggestions: str = Field(default="[]", sa_column=Column(Text, nullable=False))  # JSON settlements, best first
    created_at: datetime = _time()


class OwnerActionRow(SQLModel, table=True):
    """Something an owner did to the book, with the state before and after it so undo restores it exactly."""

    __tablename__ = "owner_action"
    __table_args__ = (Index("ix_owner_action_business", "business_id", "id"),)
    id: int | None = _id()
    business_id: int = _fk("business.id", index=False)
    payment_id: int | None = _fk("payment.id", nullable=True, index=False)
    kind: str  # confirm | match | ignore
    actor: str = ""
    summary: str = ""  # what was done, in words
    before: str = Field(default="{}", sa_column=Column(Text, nullable=False))  # JSON snapshot
    after: str = Field(default="{}", sa_column=Column(Text, nullable=False))  # JSON snapshot
    created_at: datetime = _time()
    undone_at: datetime | None = _time(nullable=True)
    undone_by: str | None = None


class OutboxRow(SQLModel, table=True):
    """A message to deliver after the transaction that produced it committed. Generic: the chat layer
    decides how a kind is rendered and to which chats; `dedupe_key` makes queueing idempotent."""

    __tablename__ = "outbox"
    __table_args__ = (
        Index("ix_outbox_due", "status", "next_attempt_at"),
        Index("ix_outbox_business", "business_id", "id"),
    )
    id: int | None = _id()
    business_id: int = _fk("business.id", index=False)
    kind: str  # payment.alert, ...
    dedupe_key: str = Field(unique=True)
    payload: str = Field(default="{}", sa_column=Column(Text, nullable=False))  # JSON
    status: str = "pending"  # pending | sent | failed
    attempts: int = 0
    next_attempt_at: datetime = _time()
    created_at: datetime = _time()
    sent_at: datetime | None = _time(nullable=True)
    last_error: str = ""


class SummaryDispatchRow(SQLModel, table=True):
    """A scheduled message (daily summary, morning digest) claimed for one business and local day. Inserted in
    the transaction that queues the message, so a summary is queued once however many processes or restarts."""

    __tablename__ = "summary_dispatch"
    __table_args__ = (UniqueConstraint("business_id", "kind", "day", name="uq_summary_dispatch"),)
    id: int | None = _id()
    business_id: int = _fk("business.id", index=False)
    kind: str  # summary.daily | digest.morning
    day: date  # the business's local date
    queued: bool = True  # False: nothing to say that day (a digest with no invoices due)
    created_at: datetime = _time()


class DarajaCredentialRow(SQLModel, table=True):
    """A shortcode's Daraja app credentials, sealed (bot.storage.sealing), and what Hesabu last did with them.
    `sealed` is AES-GCM ciphertext of the secrets as JSON, bound to this business and shortcode."""

    __tablename__ = "daraja_credential"
    id: int | None = _id()
    business_id: int = _fk("business.id")
    shortcode: str = Field(unique=True)
    environment: str = "sandbox"  # sandbox | production
    key_id: str  # which HESABU_SECRET_KEY sealed it (a fingerprint, not the key)
    sealed: str = Field(sa_column=Column(Text, nullable=False))
    registered_version: str | None = None  # v1 | v2, once register-urls succeeded
    registered_at: datetime | None = _time(nullable=True)
    pull_registered_at: datetime | None = _time(nullable=True)
    last_pull_at: datetime | None = _time(nullable=True)
    last_pull: str = Field(default="{}", sa_column=Column(Text, nullable=False))  # JSON counts of the last pull
    created_at: datetime = _time()
    updated_at: datetime = _time()


class StkPushRow(SQLModel, table=True):
    """An STK push Hesabu asked Daraja for ("ask Mary to pay"): which invoice, who asked, what came of it.
    Daraja has no idempotency, so the partial unique index is what refuses a second push for the same invoice
    and phone while one is still open."""

    __tablename__ = "stk_push"
    __table_args__ = (
        Index("uq_stk_push_open", "business_id", "invoice_id", "phone", unique=True,
              postgresql_where=text("status IN ('queued', 'sending', 'pending')"),
              sqlite_where=text("status IN ('queued', 'sending', 'pending')")),
        Index("ix_stk_push_due", "status", "next_check_at"),
    )
    id: int | None = _id()
    business_id: int = _fk("business.id", index=False)
    invoice_id: int | None = _fk("invoice.id", nullable=True, index=False)
    shortcode: str
    phone: str  # canonical 2547XXXXXXXX: the push needs it; never logged
    amount: Decimal = _money()
    account_reference: str
    asked_by: str  # channel:chat_id of the person who asked
    status: str = "queued"  # queued | sending | pending | paid | failed | in_doubt | refused
    checkout_request_id: str | None = Field(default=None, index=True)
    merchant_request_id: str = ""
    result_code: int | None = None
    result_desc: str = ""
    trans_id: str | None = None
    error: str = ""
    queries: int = 0
    next_check_at: datetime = _time()
    created_at: datetime = _time()
    sent_at: datetime | None = _time(nullable=True)
    resolved_at: datetime | None = _time(nullable=True)


class DarajaRequestRow(SQLModel, table=True):
    """An asynchronous Daraja request (Transaction Status) waiting for its result at /daraja/{token}/result."""

    __tablename__ = "daraja_request"
    id: int | None = _id()
    business_id: int = _fk("business.id", index=False)
    kind: str = "status"
    receipt: str
    conversation_id: str = Field(default="", index=True)
    originator_conversation_id: str = Field(default="", index=True)
    status: str = "pending"  # pending | done
    result_code: str = ""
    result: str = Field(default="{}", sa_column=Column(Text, nullable=False))  # JSON of what the result said
    asked_by: str = ""
    created_at: datetime = _time()
    resolved_at: datetime | None = _time(nullable=True)


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


class WebMessageRow(SQLModel, table=True):
    """One message in a web chat: `in` typed by the person, `out` said by Hesabu (an edit updates the row)."""

    __tablename__ = "web_message"
    __table_args__ = (Index("ix_web_message_chat_updated", "chat_id", "updated_at"),)
    id: int | None = _id()
    chat_id: str = Field(index=False)
    direction: str = "out"  # in | out
    text: str = Field(default="", sa_column=Column(Text, nullable=False))
    choices: str = Field(default="[]", sa_column=Column(Text, nullable=False))  # JSON [[label, data], ...]
    picture: bytes | None = Field(default=None, sa_column=Column(LargeBinary, nullable=True))
    document: bytes | None = Field(default=None, sa_column=Column(LargeBinary, nullable=True))
    document_name: str | None = None
    document_mime: str | None = None
    created_at: datetime = _time()
    updated_at: datetime = _time()
