"""`hesabu serve --role web|worker` on PostgreSQL: two web and two worker processes share one database.

A load of callbacks goes to the web processes while one worker is killed (SIGKILL, mid-load) and started
again. Every payment is matched once, every alert reaches the fake Telegram once (what the killed worker
was sending waits for the outbox's lease and then goes once more, marked as a possible repeat: never twice
unmarked), and one process leads the scheduler.
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import httpx
import pytest
from sqlalchemy import text

from bot.assistant.wording import REPEAT_NOTE
from bot.storage.chats import link_chat
from bot.storage.db import make_engine, unit_of_work
from tests.fakes.telegram_api import FakeTelegramApi
from tests.support import add_business, c2b, now

SHOPS, PER_SHOP = 12, 10
LEADERS = ("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted "
           "AND database = (SELECT oid FROM pg_database WHERE datname = current_database())")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _serve(role: str, port: int, env: dict[str, str], spool: Path) -> subprocess.Popen[bytes]:
    env = {**env, "HESABU_SPOOL_DIR": str(spool)}
    return subprocess.Popen([sys.executable, "-m", "webhooks", "serve", "--role", role, "--port", str(port)],
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


async def _wait_healthy(client: httpx.AsyncClient, port: int, server: subprocess.Popen[bytes]) -> None:
    """A deadline, not a count of tries: four processes starting at once on a loaded machine take a while."""
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        assert server.poll() is None, f"server on {port} exited with {server.returncode}"
        try:
            if (await client.get(f"http://127.0.0.1:{port}/healthz", timeout=2)).status_code == 200:
                return
        except httpx.TransportError:
            pass
        await asyncio.sleep(0.2)
    raise AssertionError(f"server on {port} did not become healthy")


def _count_at(engine, sql: str, at: object) -> int:
    with engine.connect() as conn:
        return int(conn.execute(text(sql), {"t": at}).scalar_one())


def _scalar(engine, sql: str) -> int:
    with engine.connect() as conn:
        return int(conn.execute(text(sql)).scalar_one())


async def _until(condition, seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, what
        await asyncio.sleep(0.25)


@pytest.mark.anyio
async def test_two_web_two_workers_one_killed_mid_load(pg_url, tmp_path):
    from tests.conftest import _truncate_pg

    _truncate_pg(pg_url)
    engine = make_engine(pg_url)
    shops = [add_business(engine, f"6009{n:02d}") for n in range(SHOPS)]
    with unit_of_work(engine) as session:
        for n, shop in enumerate(shops):
            link_chat(session, "telegram", str(7000 + n), shop.id, "owner", "Owner", now())
    with FakeTelegramApi() as fake:
        env = {k: v for k, v in os.environ.items() if not k.startswith("HESABU_")}
        env.update(HESABU_DATABASE_URL=pg_url, HESABU_TELEGRAM_TOKEN=fake.token,
                   HESABU_TELEGRAM_API_URL=fake.base_url, HESABU_TELEGRAM_WEBHOOK_SECRET="s3cret-roles",
                   HESABU_WEB_CHAT="false", NO_PROXY="127.0.0.1,localhost")
        roles = ["web", "web", "worker", "worker"]
        ports = [_free_port() for _ in roles]
        servers = [_serve(r, p, env, tmp_path / f"spool{p}") for r, p in zip(roles, ports, strict=True)]
        try:
            async with httpx.AsyncClient(timeout=30) as client:
                for port, server in zip(ports, servers, strict=True):
                    await _wait_healthy(client, port, server)
                posts = [(shop, f"R{n:02d}X{i:06d}") for n, shop in enumerate(shops) for i in range(PER_SHOP)]
                half = len(posts) // 2

                async def post(k: int) -> int:
                    shop, receipt = posts[k]
                    answer = await client.post(f"http://127.0.0.1:{ports[k % 2]}/c2b/{shop.token}/confirmation",
                                               json=c2b(receipt, shop.shortcode, ref=""))
                    return answer.status_code

                first = await asyncio.gather(*(post(k) for k in range(half)))
                with engine.connect() as conn:
                    killed_at = conn.execute(text("SELECT now()")).scalar_one()
                servers[2].send_signal(signal.SIGKILL)  # a worker dies mid-load, whatever it was doing
                servers[2].wait(timeout=10)
                second = await asyncio.gather(*(post(k) for k in range(half, len(posts))))
                servers[2] = _serve("worker", ports[2], env, tmp_path / "spool-restarted")
                await _wait_healthy(client, ports[2], servers[2])
                assert set(first) | set(second) == {200}
                total = len(posts)
                await _until(lambda: _scalar(engine, "SELECT count(*) FROM payment WHERE processed_at IS NOT NULL")
                             == total, 120, "every payment matched")
                # what the killed worker was sending stays `sending` until the outbox's lease (2 min) runs out,
                # then goes out once more marked as a possible repeat: everything else must be delivered now
                await _until(lambda: _scalar(engine, "SELECT count(*) FROM delivery WHERE status IN "
                                                     "('pending', 'repeat', 'resending')") == 0
                             and _count_at(engine, "SELECT count(*) FROM delivery WHERE status = 'sending' "
                                                   "AND claimed_at >= :t", killed_at) == 0
                             and _scalar(engine, "SELECT count(*) FROM delivery") >= total, 120,
                             "every alert delivered")
                orphaned = _scalar(engine, "SELECT count(*) FROM delivery WHERE status = 'sending'")
                # the workers ask for the scheduler's lock at their jobs' ticks (matching.sweep: every 30 s)
                await _until(lambda: _scalar(engine, LEADERS) >= 1, 90, "a scheduler leader")
                await asyncio.sleep(1)
                leaders = _scalar(engine, LEADERS)
        finally:
            for server in servers:
                if server.poll() is None:
                    server.terminate()
                    server.wait(timeout=20)
        sent = Counter(call.params.get("text", "") for call in fake.calls_to("sendMessage"))
    assert _scalar(engine, "SELECT count(*) FROM payment") == total
    assert _scalar(engine, "SELECT count(*) FROM match_decision") == total  # matched once each
    assert _scalar(engine, "SELECT count(DISTINCT payment_id) FROM match_decision") == total
    alerts = _scalar(engine, "SELECT count(*) FROM outbox WHERE kind = 'payment.alert'")
    assert alerts == total
    for _shop, receipt in posts:  # never twice unmarked (a repeat after a sender died says it may be one)
        plain = sum(n for body, n in sent.items() if receipt in body and REPEAT_NOTE not in body)
        assert plain <= 1, f"{receipt} alerted {plain} times"
    undelivered = [r for _s, r in posts if not any(r in body for body in sent)]
    assert len(undelivered) <= orphaned <= 8  # only what the killed worker had in flight, resent after the lease
    assert _scalar(engine, "SELECT count(*) FROM delivery WHERE status = 'sent'") == total - orphaned
    assert leaders == 1
    engine.dispose()


def test_an_unknown_role_is_refused_in_words():
    done = subprocess.run([sys.executable, "-m", "webhooks", "serve", "--role", "everything"],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode != 0
    assert "web, worker" in done.stderr or "all, web, worker" in done.stderr
