"""Telegram's flood limits shared by several processes (bot.channels.telegram.ratelimit, Redis).

Three processes send as one bot to one fake Bot API that answers 429 like Telegram when a limit is exceeded
(30 a second in all, one a second per private chat, 20 a minute per group): none is exceeded and every
message arrives. A 429 with retry_after from one process pauses all of them.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import uuid

import pytest
import redis

from tests.fakes.telegram_api import FakeTelegramApi

REDIS_URL = os.environ.get("HESABU_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
SENDER = textwrap.dedent("""
    import asyncio, sys
    from telegram.error import RetryAfter
    from bot.channels.telegram.ratelimit import SharedRateLimiter
    from bot.channels.telegram.sender import build_telegram_application, retry_after_seconds

    async def main(base_url, token, redis_url, prefix, name, chats):
        # a wide margin: on a loaded test machine a granted send may reach the fake 100 ms+ late
        limiter = SharedRateLimiter(redis_url, token.split(":")[0], prefix=prefix, margin=0.3)
        app = build_telegram_application(token, base_url, rate_limiter=limiter)
        async with app:
            for chat in chats:
                while True:  # as the outbox does: a refused message is sent again later, never dropped
                    try:
                        await app.bot.send_message(chat, f"{name} to {chat}")
                        break
                    except RetryAfter as exc:
                        await asyncio.sleep(retry_after_seconds(exc))

    asyncio.run(main(*sys.argv[1:6], sys.argv[6].split(",")))
""")


def _redis_or_skip() -> None:
    try:
        redis.Redis.from_url(REDIS_URL).ping()
    except redis.RedisError:
        if os.environ.get("CI"):
            pytest.fail(f"Redis is not reachable at {REDIS_URL}")
        pytest.skip(f"Redis is not reachable at {REDIS_URL}")


def _senders(fake: FakeTelegramApi, prefix: str, chats_per_process: list[list[str]]) -> None:
    env = {**os.environ, "NO_PROXY": "127.0.0.1,localhost"}
    procs = [subprocess.Popen([sys.executable, "-c", SENDER, fake.base_url, fake.token, REDIS_URL, prefix,
                               f"p{n}", ",".join(chats)], env=env)
             for n, chats in enumerate(chats_per_process)]
    for proc in procs:
        assert proc.wait(timeout=120) == 0


def test_three_processes_never_exceed_the_bots_limits_and_lose_nothing():
    _redis_or_skip()
    prefix = f"hesabu-test:{uuid.uuid4().hex}"
    work = [[*(str(1000 + c) for c in range(20)), "5000", "5000", "-100200"] for _ in range(3)]
    with FakeTelegramApi(flood_limits=(30, 1, 20)) as fake:
        _senders(fake, prefix, work)
        sends = fake.sends()
        assert fake.flooded == 0
    assert len(sends) == sum(len(w) for w in work)  # every message arrived
    times = sorted(t for t, _ in sends)
    assert max(sum(1 for u in times if t <= u < t + 1) for t in times) <= 30
    hot = [t for t, chat in sends if chat == "5000"]
    assert len(hot) == 6
    assert min(b - a for a, b in zip(hot, hot[1:], strict=False)) >= 1.0


def test_retry_after_from_one_process_pauses_every_process():
    _redis_or_skip()
    prefix = f"hesabu-test:{uuid.uuid4().hex}"
    with FakeTelegramApi(flood_limits=(30, 1, 20)) as fake:
        fake.rate_limit_next("sendMessage", retry_after=2)
        _senders(fake, prefix, [[str(2000 + n * 10 + c) for c in range(5)] for n in range(3)])
        sends, refused = fake.sends(), fake.refused_at()
    assert len(sends) == 15 and len(refused) == 1
    # a send already granted before the 429 came back may land just after it; nothing for the pause after that
    assert not [t for t, _ in sends if refused[0] + 0.3 < t < refused[0] + 2.0]
