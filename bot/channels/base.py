"""The one small interface every chat channel implements, and the failures the outbox acts on.

A channel sends a `Reply` to a chat and returns the provider's message id (`SentRef`). Provider
failures come out as `RetryLater` (try again after N seconds: flood control, 5xx, network) and
`Undeliverable` (stop trying this message: blocked, unknown chat, rejected content); `Held` says the
message must wait for the chat to write (WhatsApp's window). Anything else is a bug and propagates.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

from bot.assistant.messages import Reply

SentRef = str


class ChannelError(Exception):
    """Base of the failures a channel maps provider errors to."""


class RetryLater(ChannelError):
    def __init__(self, after_seconds: float, reason: str = "") -> None:
        super().__init__(f"retry after {after_seconds}s: {reason}" if reason else f"retry after {after_seconds}s")
        self.after_seconds = after_seconds
        self.reason = reason


class Undeliverable(ChannelError):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class Held(ChannelError):
    """Not now, and not a failure: the message waits until the chat opens again (WhatsApp's 24-hour window
    closed and no template is configured for it). The outbox marks the delivery `held`; no attempt is spent."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@runtime_checkable
class Channel(Protocol):
    name: str

    async def send(self, chat_id: str, reply: Reply) -> SentRef:
        """Deliver `reply` (or edit `reply.edit_ref`); raise RetryLater or Undeliverable on provider failure."""
        ...


@dataclass(frozen=True, slots=True)
class SentReply:
    chat_id: str
    reply: Reply
    ref: SentRef


@dataclass
class RecordingChannel:
    """A Channel for tests of the assistant and the outbox: records sends, fails on request.

    `fail_next(exc)` queues exceptions raised by the next sends, in order, before anything is recorded.
    """

    name: str = "recording"
    sent: list[SentReply] = field(default_factory=list)
    _failures: list[ChannelError] = field(default_factory=list)
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    async def send(self, chat_id: str, reply: Reply) -> SentRef:
        if self._failures:
            raise self._failures.pop(0)
        ref = reply.edit_ref or str(next(self._ids))
        self.sent.append(SentReply(chat_id=chat_id, reply=reply, ref=ref))
        return ref

    def fail_next(self, *errors: ChannelError) -> None:
        self._failures.extend(errors)

    def texts(self, chat_id: str | None = None) -> list[str]:
        return [s.reply.text for s in self.sent if chat_id is None or s.chat_id == chat_id]


def split_text(text: str, limit: int) -> list[str]:
    """Cut at line breaks into pieces of at most `limit` characters (a long line is cut where it must)."""
    pieces: list[str] = []
    current = ""
    for line in text.splitlines(keepends=True):
        while len(line) > limit:
            if current:
                pieces.append(current)
                current = ""
            cut = _safe_cut(line, limit)
            pieces.append(line[:cut])
            line = line[cut:]
        if len(current) + len(line) > limit:
            pieces.append(current)
            current = ""
        current += line
    if current or not pieces:
        pieces.append(current)
    return pieces


def _safe_cut(text: str, limit: int) -> int:
    """Never cut inside an HTML entity such as `&amp;` (Telegram rejects the broken markup)."""
    amp = text.rfind("&", max(0, limit - 8), limit)
    return amp if amp > 0 and ";" not in text[amp:limit] else limit
