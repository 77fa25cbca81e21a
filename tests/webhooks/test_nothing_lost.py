"""Nothing lost, nothing doubled: the database going away mid-run, the spool, two server processes."""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest

from bot.storage.db import make_engine
from bot.storage.tables import PaymentRow
from tests.support import add_business, c2b, count, payments, running_service
from webhooks.intake.spool import Spool, SpoolEntry

pytestmark = pytest.mark.anyio


class TcpProxy:
    """A loopback TCP forwarder that can be cut and restored: the database 'goes away' for real."""

    def __init__(self, target_port: int) -> None:
        self.target_port = target_port
        self.port = _free_port()
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", self.port, reuse_address=True)

    async def cut(self) -> None:
        assert self._server is not None
        self._server.close()
        for writer in list(self._writers):
            writer.transport.abort()
        await self._server.wait_closed()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.target_port)
        self._writers |= {writer, up_writer}
        await asyncio.gather(_pipe(reader, up_writer), _pipe(up_reader, writer), return_exceptions=True)


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    finally:
        writer.transport.abort()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def _wait_for(predicate, within: float = 15.0) -> None:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if predicate():
            return
        await asyncio.sleep(0.2)
    raise AssertionError("condition not met in time")


async def test_database_outage_spools_acknowledges_and_replays_exactly_once(pg_url, tmp_path):
    from tests.conftest import _truncate_pg

    _truncate_pg(pg_url)
    proxy = TcpProxy(5432)
    await proxy.start()
    proxied = pg_url.replace(":5432/", f":{proxy.port}/")
    direct = make_engine(pg_url)
    async with running_service(proxied, tmp_path) as svc:
        shop = add_business(direct, "600984")
        url = f"/c2b/{shop.token}/confirmation"
        for i in range(5):
            assert (await svc.client.post(url, json=c2b(f"AAA000000{i}", "600984"))).status_code == 200
        await proxy.cut()
        during = [c2b(f"BBB000000{i}", "600984") for i in range(5)] + [c2b("AAA0000001", "600984")]
        answers = await asyncio.gather(*[svc.client.post(url, json=b) for b in during])
        assert [a.status_code for a in answers] == [200] * 6  # acknowledged from the spool
        assert (await svc.client.get("/healthz")).status_code == 503
        assert "hesabu_spool_depth 6.0" in (await svc.client.get("/metrics")).text
        assert count(direct, PaymentRow) == 5
        await proxy.start()
        await _wait_for(lambda: count(direct, PaymentRow) == 10)
        await _wait_for(lambda: svc.app.state.services.spool.depth() == 0)
        assert sorted(p.trans_id for p in payments(direct, shop.id)) == sorted(
            [f"AAA000000{i}" for i in range(5)] + [f"BBB000000{i}" for i in range(5)])
    await proxy.cut()
    direct.dispose()


async def test_spool_left_from_a_crash_is_replayed_at_startup(db_url, tmp_path):
    engine = make_engine(db_url)
    shop = add_business(engine, "600984")
    from datetime import UTC, datetime

    spool = Spool(tmp_path / "spool")
    body = httpx.Request("POST", "/", json=c2b("CCC0000001", "600984")).content
    spool.append([SpoolEntry("c2b_confirmation", shop.id, body, "127.0.0.1", datetime.now(UTC))] * 2)
    async with running_service(db_url, tmp_path):
        assert [p.trans_id for p in payments(engine, shop.id)] == ["CCC0000001"]
        assert spool.depth() == 0
    engine.dispose()


def test_appends_racing_a_replay_lose_nothing(tmp_path):
    from datetime import UTC, datetime

    spool = Spool(tmp_path)
    replayed: list[bytes] = []
    stop = threading.Event()

    def writer(n: int) -> None:
        for i in range(200):
            spool.append([SpoolEntry("c2b_confirmation", 1, f"{n}-{i}".encode(), "", datetime.now(UTC))])
        stop.set()

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(3)]
    for t in threads:
        t.start()
    while any(t.is_alive() for t in threads):
        spool.replay(lambda entries: replayed.extend(e.body for e in entries))
    spool.replay(lambda entries: replayed.extend(e.body for e in entries))
    assert sorted(replayed) == sorted(f"{n}-{i}".encode() for n in range(3) for i in range(200))


def _serve(url: str, port: int, spool: Path) -> subprocess.Popen[bytes]:
    env = {**os.environ, "HESABU_DATABASE_URL": url, "HESABU_SPOOL_DIR": str(spool)}
    return subprocess.Popen([sys.executable, "-m", "webhooks", "serve", "--port", str(port)], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


async def test_two_server_processes_store_interleaved_duplicates_once(pg_url, tmp_path):
    from tests.conftest import _truncate_pg

    _truncate_pg(pg_url)
    engine = make_engine(pg_url)
    shop = add_business(engine, "600984")
    ports = [_free_port(), _free_port()]
    servers = [_serve(pg_url, port, tmp_path / f"spool{port}") for port in ports]
    try:
        async with httpx.AsyncClient(timeout=30) as client:
            for port, server in zip(ports, servers, strict=True):
                await _wait_healthy(client, port, server)
            receipts = [f"EEE{i:07d}" for i in range(150)]
            posts = [client.post(f"http://127.0.0.1:{ports[(i + copy) % 2]}/c2b/{shop.token}/confirmation",
                                 json=c2b(r, "600984"))
                     for copy in range(3) for i, r in enumerate(receipts)]
            answers = await asyncio.gather(*posts)
        assert {a.status_code for a in answers} == {200}
        assert sorted(p.trans_id for p in payments(engine, shop.id)) == receipts
    finally:
        for server in servers:
            server.terminate()
            server.wait(timeout=10)
        engine.dispose()


async def _wait_healthy(client: httpx.AsyncClient, port: int, server: subprocess.Popen[bytes]) -> None:
    """A deadline, not a count of tries: start-up (imports, migrations check) slows with the machine's load."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        assert server.poll() is None, f"server on {port} exited with {server.returncode}"
        try:
            if (await client.get(f"http://127.0.0.1:{port}/healthz", timeout=2)).status_code == 200:
                return
        except httpx.TransportError:
            pass
        await asyncio.sleep(0.1)
    raise AssertionError(f"server on {port} did not become healthy")
