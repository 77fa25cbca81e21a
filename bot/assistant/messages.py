"""Channel-neutral message values: what a person said to Hesabu and what Hesabu says back.

The conversation reads `InboundMessage` and writes `Reply`; it never sees a Telegram `Update` or a
Twilio form. Channels (bot.channels) translate both ways. Values are frozen so a reply queued in
the outbox cannot be changed under the sender's feet.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from typing import Literal

ChannelName = Literal["telegram", "whatsapp", "web"]
MAX_CHOICE_DATA_BYTES = 64


@dataclass(frozen=True, slots=True)
class Attachment:
    """A file the person sent. `ref` is the provider's handle: a Telegram file_id or a Twilio MediaUrl."""

    kind: Literal["photo", "document", "audio", "video", "other"]
    ref: str
    mime: str | None = None
    filename: str | None = None


@dataclass(frozen=True, slots=True)
class InboundMessage:
    """One thing a person did in a chat: typed text, or tapped a button (`choice`)."""

    channel: ChannelName
    chat_id: str
    sender_name: str
    text: str
    choice: str | None = None
    # the message whose button was tapped, so the reply can edit it in place
    message_ref: str | None = None
    attachment: Attachment | None = None
    # update_id (Telegram) / MessageSid (Twilio): providers retry, this is the de-duplication key
    external_id: str | None = None
    # what the channel can do, said by its inbound reader, so the conversation never asks which channel it is
    buttons: bool = True  # False: choices are numbered lines, and "2" answers the second one offered
    slash_optional: bool = False  # commands come without their "/" ("help", "invoices")


@dataclass(frozen=True, slots=True)
class Choice:
    """A button: `label` is shown, `data` comes back as `InboundMessage.choice` (keep it <= 64 bytes)."""

    label: str
    data: str

    def __post_init__(self) -> None:
        # Telegram's callback_data is 1-64 bytes; failing here points at the code that made the choice
        size = len(self.data.encode())
        if not 1 <= size <= MAX_CHOICE_DATA_BYTES:
            raise ValueError(f"Choice data must be 1-{MAX_CHOICE_DATA_BYTES} bytes, got {size}: {self.data[:80]!r}")


@dataclass(frozen=True, slots=True)
class Document:
    filename: str
    content: bytes
    mime: str


@dataclass(frozen=True, slots=True)
class Reply:
    """What to say. `text` is plain text: channels escape it for their own markup.

    `edit_ref` names an earlier message (a `SentRef`) to edit instead of sending a new one;
    channels that cannot edit send a new message. `kind` is the outbox kind a delivered message renders
    (`payment.alert`, `summary.daily`): WhatsApp picks its template by it; None for a conversation reply.
    `later` draws what is costly to draw (a chart, a spreadsheet) from values already read: callers run it
    with `rendered()` after their unit of work has committed, so no write lock is held while it is drawn.
    """

    text: str
    choices: tuple[Choice, ...] = field(default=())
    picture: bytes | None = None
    document: Document | None = None
    edit_ref: str | None = None
    kind: str | None = None
    later: Callable[[], Reply] | None = field(default=None, compare=False, repr=False)


def rendered(replies: Iterable[Reply]) -> list[Reply]:
    """Replies with their pictures and files drawn (call outside any transaction)."""
    return [_drawn(r) for r in replies]


def _drawn(reply: Reply) -> Reply:
    if reply.later is None:
        return reply
    drawn = reply.later()
    return replace(drawn, edit_ref=reply.edit_ref, kind=reply.kind, later=None)
