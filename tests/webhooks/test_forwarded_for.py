"""Who is calling is decided by HESABU_TRUSTED_PROXIES alone: a real `hesabu serve` does not believe an
X-Forwarded-For from loopback (uvicorn's proxy_headers default did, so a spoofed header passed
HESABU_CALLBACK_ALLOW), and production warns at start when no callback allow-list is set."""

from __future__ import annotations

import os
import subprocess
import sys

import httpx
import pytest

from bot.storage.db import make_engine
from bot.storage.migrate import upgrade
from tests.support import add_business, c2b
from tests.webhooks.test_nothing_lost import _free_port, _wait_healthy
from webhooks.services import startup_warnings
from webhooks.settings import Settings

pytestmark = pytest.mark.anyio


def _start(port: int, env: dict[str, str]) -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, "-m", "webhooks", "serve", "--port", str(port)], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


async def test_a_spoofed_forwarded_for_from_loopback_does_not_pass_the_allow_list(tmp_path) -> None:
    url = f"sqlite:///{tmp_path / 'h.db'}"
    upgrade(url)
    engine = make_engine(url)
    shop = add_business(engine, "600984")
    engine.dispose()
    port = _free_port()
    env = {**os.environ, "HESABU_DATABASE_URL": url, "HESABU_SPOOL_DIR": str(tmp_path / "spool"),
           "HESABU_CALLBACK_ALLOW": "196.201.214.0/24", "HESABU_WEB_CHAT": "false"}
    env.pop("HESABU_TRUSTED_PROXIES", None)
    server = _start(port, env)
    try:
        async with httpx.AsyncClient(timeout=30) as client:
            await _wait_healthy(client, port, server)
            target = f"http://127.0.0.1:{port}/c2b/{shop.token}/confirmation"
            spoofed = await client.post(target, json=c2b("XFF0000001", "600984"),
                                        headers={"X-Forwarded-For": "196.201.214.200"})
            assert spoofed.status_code == 403
    finally:
        server.terminate()
        server.wait(timeout=10)


def test_production_without_a_callback_allow_list_warns_at_start() -> None:
    production = {"env": "production", "secret_key": "k" * 40}
    [warning] = startup_warnings(Settings(**production))
    assert "HESABU_CALLBACK_ALLOW" in warning
    assert startup_warnings(Settings(**production, callback_allow=["196.201.214.0/24"])) == []
    assert startup_warnings(Settings()) == []  # development: quiet
