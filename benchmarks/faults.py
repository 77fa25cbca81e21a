"""Fault run, black box against `hesabu serve`: what a bad day in a data centre does to acknowledged payments.

Usage: python benchmarks/faults.py [--db sqlite|postgresql] [--pg-url URL] [--payments 1200] [--hostile 20]

Scenarios, each on a fresh database and fresh server processes on loopback ports:
  kill9     C2B confirmations posted by 32 concurrent clients (a tenth of them repeats); the server is killed
            with SIGKILL twice mid-load and restarted; load continues against the restarted server
  outage    (PostgreSQL only) the database is cut (a TCP proxy closed) mid-load, the server spools and
            acknowledges; a second server process is started WHILE the database is down; the database comes
            back during the replay and is cut again once, then comes back for good
  hostile   one business's callback acknowledgement p95 alone (quiet), then while another business's web chat
            sends hostile input ('/invoice 2 2 2 …', '/summary month', '/export' in a loop): the ratio
Figures printed per scenario: acknowledged (unique receipts answered 200), stored (payments), lost
(acknowledged, not stored), doubled payments (rows per receipt > 1), journal rows per acknowledged copy,
alerts per payment (outbox payment.alert rows; doubled when > 1), and the time from the last restart until
every stored payment is matched (the matching backlog drain).

A script that prints figures, not a test: it asserts nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import signal
import socket
import statistics
import string
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import psycopg
from sqlalchemy import text

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bot.storage.businesses import create_business  # noqa: E402
from bot.storage.db import make_engine, unit_of_work  # noqa: E402
from bot.storage.migrate import upgrade  # noqa: E402


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def body(trans_id: str, shortcode: str) -> dict[str, str]:
    return {"TransactionType": "Pay Bill", "TransID": trans_id, "TransTime": "20261128101500", "TransAmount": "150.00",
            "BusinessShortCode": shortcode, "BillRefNumber": "INV-0001", "InvoiceNumber": "", "OrgAccountBalance": "",
            "ThirdPartyTransID": "", "MSISDN": "2547" + "".join(random.choices(string.digits, k=8)),
            "FirstName": "JOHN", "MiddleName": "", "LastName": "DOE"}


@dataclass
class Run:
    url: str
    tmp: Path
    acked: set[str] = field(default_factory=set)
    copies: dict[str, int] = field(default_factory=dict)
    servers: list[subprocess.Popen[bytes]] = field(default_factory=list)
    failures: int = 0
    errors: dict[str, int] = field(default_factory=dict)

    def serve(self, port: int, url: str | None = None, *, web: bool = False) -> subprocess.Popen[bytes]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("HESABU_")}
        env.update(HESABU_DATABASE_URL=url or self.url, HESABU_SPOOL_DIR=str(self.tmp / f"spool-{port}"),
                   HESABU_WEB_CHAT="true" if web else "false")
        with (self.tmp / f"server-{port}.log").open("ab") as log:  # the child keeps its own copy of the handle
            server = subprocess.Popen([sys.executable, "-m", "webhooks", "serve", "--port", str(port)], env=env,
                                      stdout=subprocess.DEVNULL, stderr=log, cwd=self.tmp)
        self.servers.append(server)
        return server

    def stop_all(self) -> None:
        for server in self.servers:
            if server.poll() is None:
                server.terminate()
                try:
                    server.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    server.kill()


async def healthy(port: int, within: float = 60.0, need_db: bool = True) -> None:
    deadline = time.monotonic() + within
    async with httpx.AsyncClient(timeout=2) as client:
        while time.monotonic() < deadline:
            try:
                r = await client.get(f"http://127.0.0.1:{port}/healthz")
                if r.status_code == 200 or (not need_db and r.status_code == 503):
                    return
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.1)
    raise RuntimeError(f"server on {port} did not come up\n{_log_tail(port)}")


def _log_tail(port: int) -> str:
    logs = sorted(Path(tempfile.gettempdir()).glob(f"*/server-{port}.log"))
    return logs[-1].read_text(errors="replace")[-1500:] if logs else ""


async def load(run: Run, ports: list[int], token: str, shortcode: str, receipts: list[str],
               stop_after: asyncio.Event | None = None) -> None:
    """32 clients post every receipt (a tenth twice); a 200 counts as acknowledged."""
    work = receipts + random.sample(receipts, len(receipts) // 10)
    random.shuffle(work)
    queue: asyncio.Queue[str] = asyncio.Queue()
    for r in work:
        queue.put_nowait(r)

    async def client() -> None:
        async with httpx.AsyncClient(timeout=10) as http:
            while not queue.empty():
                receipt = queue.get_nowait()
                port = random.choice(ports)
                try:
                    answer = await http.post(f"http://127.0.0.1:{port}/c2b/{token}/confirmation",
                                             json=body(receipt, shortcode))
                except httpx.HTTPError as exc:
                    run.failures += 1
                    run.errors[type(exc).__name__] = run.errors.get(type(exc).__name__, 0) + 1
                    if isinstance(exc, httpx.ConnectError):  # never reached the server: send it again later
                        queue.put_nowait(receipt)
                    await asyncio.sleep(0.1)
                    continue  # otherwise Daraja does not retry: unacknowledged, so not owed
                if answer.status_code == 200:
                    run.acked.add(receipt)
                    run.copies[receipt] = run.copies.get(receipt, 0) + 1

    await asyncio.gather(*(client() for _ in range(32)))


def counts(url: str, business_id: int) -> dict[str, Any]:
    engine = make_engine(url)
    with engine.connect() as conn:
        payments = dict(conn.execute(text("SELECT trans_id, count(*) FROM payment WHERE business_id = :b "
                                          "GROUP BY trans_id"), {"b": business_id}).all())
        journal = dict(conn.execute(text("SELECT external_id, count(*) FROM callback WHERE business_id = :b "
                                         "AND source = 'c2b_confirmation' GROUP BY external_id"),
                                    {"b": business_id}).all())
        alerts = conn.execute(text("SELECT count(*), count(DISTINCT dedupe_key) FROM outbox "
                                   "WHERE business_id = :b AND kind = 'payment.alert'"), {"b": business_id}).one()
        unmatched = conn.execute(text("SELECT count(*) FROM payment WHERE business_id = :b "
                                      "AND processed_at IS NULL"), {"b": business_id}).scalar_one()
    engine.dispose()
    return {"payments": payments, "journal": journal, "alerts": tuple(alerts), "unprocessed": unmatched}


def report(name: str, run: Run, url: str, business_id: int, drain: float | None) -> None:
    c = counts(url, business_id)
    lost = sorted(r for r in run.acked if r not in c["payments"])
    doubled = sum(1 for n in c["payments"].values() if n > 1)
    journal_extra = sum(max(0, c["journal"].get(r, 0) - run.copies.get(r, 0)) for r in run.acked)
    alert_rows, alert_keys = c["alerts"]
    print(f"{name}: posts unanswered {run.failures} {run.errors}, acknowledged {len(run.acked)}, "
          f"stored {len(c['payments'])}, lost {len(lost)}, "
          f"doubled payments {doubled}, journal rows beyond the copies acknowledged {journal_extra}, "
          f"alerts {alert_rows} for {len(c['payments'])} payments (doubled {alert_rows - alert_keys}), "
          f"unmatched now {c['unprocessed']}, backlog drain after last restart "
          f"{'n/a' if drain is None else f'{drain:.1f} s'}")


async def drained(url: str, business_id: int, within: float = 300.0) -> float:
    started = time.monotonic()
    while time.monotonic() - started < within:
        if counts(url, business_id)["unprocessed"] == 0:
            return time.monotonic() - started
        await asyncio.sleep(0.25)
    return float("nan")


def new_database(kind: str, pg_url: str, tmp: Path) -> str:
    if kind == "sqlite":
        url = f"sqlite:///{tmp / 'faults.db'}"
    else:
        name = f"hesabu_faults_{uuid.uuid4().hex[:8]}"
        with psycopg.connect(pg_url.replace("postgresql+psycopg://", "postgresql://"), autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        url = pg_url.rsplit("/", 1)[0] + f"/{name}"
    upgrade(url)
    return url


def add_shop(url: str, shortcode: str) -> tuple[int, str]:
    engine = make_engine(url)
    with unit_of_work(engine) as session:
        b = create_business(session, f"Shop {shortcode}", shortcode, till=False, timezone="Africa/Nairobi")
        business_id, token = b.id or 0, b.callback_token
    engine.dispose()
    return business_id, token


async def kill9(kind: str, pg_url: str, n: int) -> None:
    with tempfile.TemporaryDirectory() as d:
        run = Run(new_database(kind, pg_url, Path(d)), Path(d))
        business_id, token = add_shop(run.url, "600100")
        port = free_port()
        try:
            run.serve(port)
            await healthy(port)
            receipts = [f"KIL{i:07d}" for i in range(n)]
            loading = asyncio.create_task(load(run, [port], token, "600100", receipts))
            for share in (4, 2):
                while len(run.acked) < n // share:  # noqa: ASYNC110 - kill under load, a quarter and half way
                    await asyncio.sleep(0.05)
                run.servers[-1].send_signal(signal.SIGKILL)
                run.servers[-1].wait()
                run.serve(port)
                await healthy(port)
            restarted = time.monotonic()
            await loading
            await drained(run.url, business_id)
            report(f"kill9[{kind}]", run, run.url, business_id, time.monotonic() - restarted)
        finally:
            run.stop_all()


class Proxy:
    def __init__(self, target: int) -> None:
        self.target, self.port = target, free_port()
        self.server: asyncio.Server | None = None
        self.writers: set[asyncio.StreamWriter] = set()

    async def up(self) -> None:
        self.server = await asyncio.start_server(self._handle, "127.0.0.1", self.port, reuse_address=True)

    async def down(self) -> None:
        if self.server is not None:
            self.server.close()
            for w in list(self.writers):
                w.transport.abort()
            await self.server.wait_closed()
            self.server = None

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            up_r, up_w = await asyncio.open_connection("127.0.0.1", self.target)
        except OSError:
            writer.transport.abort()
            return
        self.writers |= {writer, up_w}

        async def pipe(r: asyncio.StreamReader, w: asyncio.StreamWriter) -> None:
            try:
                while data := await r.read(65536):
                    w.write(data)
                    await w.drain()
            except OSError:
                pass
            finally:
                w.transport.abort()

        await asyncio.gather(pipe(reader, up_w), pipe(up_r, writer), return_exceptions=True)


async def outage(pg_url: str, n: int) -> None:
    with tempfile.TemporaryDirectory() as d:
        run = Run(new_database("postgresql", pg_url, Path(d)), Path(d))
        business_id, token = add_shop(run.url, "600200")
        proxy = Proxy(5432)
        await proxy.up()
        proxied = run.url.replace(":5432/", f":{proxy.port}/")
        first = free_port()
        try:
            run.serve(first, proxied)
            await healthy(first)
            receipts = [f"OUT{i:07d}" for i in range(n)]
            loading = asyncio.create_task(load(run, [first], token, "600200", receipts[: n // 2]))
            await asyncio.sleep(1.0)
            await proxy.down()  # the database goes away mid-load
            second = free_port()
            run.serve(second, proxied)  # a process started during the outage
            await healthy(second, need_db=False)
            await loading
            await load(run, [first, second], token, "600200", receipts[n // 2:])
            await proxy.up()  # back: both spools replay ...
            await asyncio.sleep(0.3)
            await proxy.down()  # ... and the database is cut again mid-replay
            await asyncio.sleep(3)
            await proxy.up()
            restored = time.monotonic()
            deadline = time.monotonic() + 120
            while time.monotonic() < deadline:
                spools = list(Path(d).glob("spool-*/callbacks.spool*"))  # noqa: ASYNC240 - a few files
                if not spools and counts(run.url, business_id)["unprocessed"] == 0:
                    break
                await asyncio.sleep(0.5)
            report("outage[postgresql]", run, run.url, business_id, time.monotonic() - restored)
        finally:
            run.stop_all()
            await proxy.down()


async def hostile(kind: str, pg_url: str, seconds: float) -> None:
    with tempfile.TemporaryDirectory() as d:
        run = Run(new_database(kind, pg_url, Path(d)), Path(d))
        _business_id, token = add_shop(run.url, "600300")
        port = free_port()
        try:
            run.serve(port, web=True)
            await healthy(port)
            quiet = await acks(port, token, seconds, None)
            loud = await acks(port, token, seconds, port)
            q95, l95 = p95(quiet), p95(loud)
            print(f"hostile[{kind}]: callback ack p95 quiet {q95 * 1000:.1f} ms ({len(quiet)} acks), "
                  f"with hostile chat {l95 * 1000:.1f} ms ({len(loud)} acks): ratio {l95 / q95:.2f}")
        finally:
            run.stop_all()


def p95(values: list[float]) -> float:
    return statistics.quantiles(values, n=20)[-1] if len(values) >= 20 else max(values)


async def acks(port: int, token: str, seconds: float, hostile_port: int | None) -> list[float]:
    """One business's callbacks, 4 at a time, for `seconds`; meanwhile the other's web chat sends hostile input."""
    stop = time.monotonic() + seconds
    latencies: list[float] = []

    async def caller() -> None:
        async with httpx.AsyncClient(timeout=30) as http:
            while time.monotonic() < stop:
                started = time.perf_counter()
                r = await http.post(f"http://127.0.0.1:{port}/c2b/{token}/confirmation",
                                    json=body("H" + uuid.uuid4().hex[:9].upper(), "600300"))
                if r.status_code == 200:
                    latencies.append(time.perf_counter() - started)

    async def chat() -> None:
        async with httpx.AsyncClient(timeout=60, base_url=f"http://127.0.0.1:{hostile_port}") as http:
            await http.get("/chat")  # development: the demo business, another tenant
            lines = ["/invoice " + "2 " * 990, "/summary month", "/export", "/customer " + "a " * 900]
            i = 0
            while time.monotonic() < stop:
                await http.post("/chat/api/send", json={"text": lines[i % len(lines)], "id": uuid.uuid4().hex})
                i += 1

    tasks = [caller() for _ in range(4)] + ([chat(), chat()] if hostile_port else [])
    await asyncio.gather(*tasks)
    return latencies


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--db", default="sqlite", choices=["sqlite", "postgresql"])
    parser.add_argument("--pg-url", default="postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--payments", type=int, default=1200)
    parser.add_argument("--hostile", type=float, default=15.0)
    parser.add_argument("--only", default="kill9,outage,hostile")
    args = parser.parse_args()
    only = set(args.only.split(","))
    if "kill9" in only:
        await kill9(args.db, args.pg_url, args.payments)
    if "outage" in only and args.db == "postgresql":
        await outage(args.pg_url, args.payments)
    if "hostile" in only:
        await hostile(args.db, args.pg_url, args.hostile)


if __name__ == "__main__":
    asyncio.run(main())
