"""Telegram's flood limits, shared by every process that sends as the same bot (Redis).

Telegram counts per bot, not per process: about 30 messages a second in all, one a second to a private chat,
20 a minute to a group (telegram.constants.FloodLimit; the limits are loose, a 429 with `retry_after` is the
real answer). PTB's own AIORateLimiter counts inside one process, so two workers send twice the rate. This
limiter keeps sliding windows in Redis and takes a slot in every window a message needs in ONE Lua script
(atomic on the server, timed by the server's clock), so no interleaving of processes can exceed a window and
a refused slot costs nothing. A 429 sets a pause that every process waits out before its next send; the
RetryAfter still reaches the caller (the outbox decides about the message, as it does for any failure).
Requests without a chat (getMe, setWebhook) are not limited.
"""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

from redis.asyncio import Redis
from telegram.error import RetryAfter
from telegram.ext import BaseRateLimiter

from bot.channels.telegram.sender import retry_after_seconds

BOT_PER_SECOND = 30
GROUP_PER_MINUTE = 20
MARGIN = 0.1  # windows a tenth longer than Telegram's: a slot taken at t may reach Telegram a little later

# KEYS[1] the pause; then one (window key) per limit; ARGV: member, then (limit, window ms) per window key.
# Returns 0 when a slot was taken in every window, else the milliseconds to wait (nothing taken).
_TAKE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local paused = redis.call('PTTL', KEYS[1])
if paused > 0 then return paused end
local wait = 0
for i = 2, #KEYS do
  local limit, window = tonumber(ARGV[2 * i - 2]), tonumber(ARGV[2 * i - 1])
  redis.call('ZREMRANGEBYSCORE', KEYS[i], '-inf', now - window)
  if redis.call('ZCARD', KEYS[i]) >= limit then
    local oldest = redis.call('ZRANGE', KEYS[i], 0, 0, 'WITHSCORES')
    wait = math.max(wait, tonumber(oldest[2]) + window - now + 1)
  end
end
if wait > 0 then return wait end
for i = 2, #KEYS do
  redis.call('ZADD', KEYS[i], now, ARGV[1])
  redis.call('PEXPIRE', KEYS[i], tonumber(ARGV[2 * i - 1]))
end
return 0
"""


def is_group(chat_id: object) -> bool:
    """Groups and channels have negative ids (or are named by @username); private chats are positive."""
    text = str(chat_id)
    return text.startswith(("-", "@"))


class SharedRateLimiter(BaseRateLimiter[None]):
    def __init__(self, redis_url: str, bot_id: str, *, per_second: int = BOT_PER_SECOND,
                 per_group_minute: int = GROUP_PER_MINUTE, prefix: str = "hesabu:telegram",
                 margin: float = MARGIN) -> None:
        """`bot_id` names the bot (the token's numeric part, never the token); every process sending as it
        shares the windows under `prefix:bot_id`."""
        self.redis_url = redis_url
        self.per_second, self.per_group_minute = per_second, per_group_minute
        self.base = f"{prefix}:{bot_id}"
        self.margin = margin
        self._redis: Redis | None = None
        self._take: Any = None

    async def initialize(self) -> None:
        self._redis = Redis.from_url(self.redis_url)
        self._take = self._redis.register_script(_TAKE)

    async def shutdown(self) -> None:
        if self._redis is not None:
            await self._redis.aclose()
            self._redis = None

    async def process_request(self, callback: Any, args: Any, kwargs: dict[str, Any], endpoint: str,
                              data: dict[str, Any], rate_limit_args: None) -> Any:
        chat_id = data.get("chat_id")
        if chat_id is not None:
            await self.acquire(chat_id)
        try:
            return await callback(*args, **kwargs)
        except RetryAfter as exc:
            await self.pause(retry_after_seconds(exc))
            raise

    async def acquire(self, chat_id: object) -> None:
        """Wait until a message to `chat_id` fits every window, and take its slots."""
        if self._redis is None:
            await self.initialize()
        keys, args = self._windows(chat_id)
        member = uuid.uuid4().hex
        while True:
            wait_ms = int(await self._take(keys=keys, args=[member, *args]))
            if wait_ms <= 0:
                return
            await asyncio.sleep(wait_ms / 1000)

    async def pause(self, seconds: float) -> None:
        """Telegram said retry_after: every process sending as this bot waits that long (and a little)."""
        if self._redis is None:
            await self.initialize()
        assert self._redis is not None
        await self._redis.set(f"{self.base}:pause", "1", px=max(1, int((seconds + 0.1) * 1000)))

    def _windows(self, chat_id: object) -> tuple[list[str], list[int]]:
        second, minute = int(1_000 * (1 + self.margin)), int(60_000 * (1 + self.margin))
        chat_limit, chat_window = (self.per_group_minute, minute) if is_group(chat_id) else (1, second)
        keys = [f"{self.base}:pause", f"{self.base}:all", f"{self.base}:chat:{chat_id}"]
        return keys, [self.per_second, second, chat_limit, chat_window]
