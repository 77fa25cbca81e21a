"""How fast one chat may send: a token bucket per chat, so one chat flooding the bot is answered once with
"slow down" and then ignored while the rest of the businesses are served. Pure and in memory (the clock is
an argument); one per process, built with the channel runtime that takes the messages."""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass
from datetime import datetime
from enum import Enum
from threading import Lock


class Verdict(Enum):
    ALLOWED = "allowed"
    SLOW_DOWN = "slow_down"  # the first message over the limit: say so once
    DROPPED = "dropped"  # later ones: no answer, no work


@dataclass
class _Bucket:
    tokens: float
    at: datetime
    warned: bool = False


class ChatRateLimit:
    """`burst` messages at once, then one every `per_seconds`. Remembers at most `max_chats` chats (the
    least recently seen are forgotten first), so a stranger cycling chat ids cannot grow it without bound."""

    def __init__(self, burst: int = 12, per_seconds: float = 2.0, max_chats: int = 50_000) -> None:
        self.burst, self.per_seconds, self.max_chats = burst, per_seconds, max_chats
        self._buckets: OrderedDict[str, _Bucket] = OrderedDict()
        self._lock = Lock()  # runtimes answer messages from worker threads

    def check(self, chat: str, now: datetime) -> Verdict:
        with self._lock:
            bucket = self._buckets.pop(chat, None) or _Bucket(float(self.burst), now)
            elapsed = max((now - bucket.at).total_seconds(), 0.0)
            bucket.tokens = min(float(self.burst), bucket.tokens + elapsed / self.per_seconds)
            bucket.at = now
            self._buckets[chat] = bucket
            while len(self._buckets) > self.max_chats:
                self._buckets.popitem(last=False)
            if bucket.tokens >= 1.0:
                bucket.tokens -= 1.0
                bucket.warned = False
                return Verdict.ALLOWED
            if bucket.warned:
                return Verdict.DROPPED
            bucket.warned = True
            return Verdict.SLOW_DOWN
