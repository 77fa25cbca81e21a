"""Sources benchmark: importing a 20,000-row M-PESA statement (time, peak memory) and SMS ingest per second.

Usage: python benchmarks/sources.py [--rows 20000] [--messages 2000] [--targets sqlite,postgresql] [--pg-url URL]

Statement import, per database: a fresh migrated database with one business; a portal CSV of --rows rows (90% money
in, 10% money out; a tenth of the money in already stored from C2B callbacks so it is confirmed, the rest
recovered). Printed beside a same-run baseline: reading the same file's rows without a database (the reader alone),
so the ratio is what the book costs on top of parsing. Peak memory is tracemalloc's peak over the import. A second
import of the same file (which must change nothing) is timed too.

SMS ingest: --messages forwarded SMS posted to POST /sms/{token} through the real ASGI app (journal, writer, merge)
on each database, 16 at a time, beside a same-run baseline of read_sms alone on the same texts.

This is a script that prints figures, not a test: it asserts nothing and exits 0 unless it could not run.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import shutil
import sys
import tempfile
import time
import tracemalloc
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import httpx  # noqa: E402
import psycopg  # noqa: E402

from bot.bookkeeping.statements import import_statement, open_statement  # noqa: E402
from bot.storage.businesses import CallbackTarget  # noqa: E402
from bot.storage.callbacks import record_callbacks  # noqa: E402
from bot.storage.db import make_engine  # noqa: E402
from bot.storage.migrate import upgrade  # noqa: E402
from tests.statement_support import paid_in, portal_csv, withdrawn  # noqa: E402
from tests.support import add_business, c2b  # noqa: E402
from webhooks.app import create_app  # noqa: E402
from webhooks.intake.records import build_record  # noqa: E402
from webhooks.settings import Settings  # noqa: E402

START = datetime(2026, 9, 1, 6, 0, tzinfo=UTC)
RECEIVED = "2026-10-02T19:38:00+03:00"


def receipt(i: int) -> str:
    return f"UJ{i:08d}"


def statement(rows: int) -> bytes:
    lines = []
    for i in range(rows):
        when = (START + timedelta(minutes=i)).strftime("%d-%m-%Y %H:%M:%S")
        if i % 10 == 9:
            lines.append(withdrawn(receipt(i), when, "15.00"))
        else:
            lines.append(paid_in(receipt(i), when, f"{100 + i % 900}.00", account=f"INV-{i % 5000:04d}",
                                 party=f"2547****{i % 10000:04d} - CUSTOMER {i % 700}"))
    return portal_csv(lines)


def parse_only(data: bytes) -> tuple[float, int]:
    started = time.perf_counter()
    opened = open_statement(data, None)
    assert not isinstance(opened, Exception) and not hasattr(opened, "reason")
    count = sum(1 for _ in opened[2])  # type: ignore[index]
    return time.perf_counter() - started, count


def database(kind: str, pg_url: str, workdir: Path) -> tuple[str, object]:
    if kind == "sqlite":
        url = f"sqlite:///{workdir / f'bench-{uuid.uuid4().hex[:6]}.db'}"
        upgrade(url)
        return url, None
    name = f"hesabu_bench_{uuid.uuid4().hex[:8]}"
    admin = pg_url.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    url = pg_url.rsplit("/", 1)[0] + f"/{name}"
    upgrade(url)
    return url, (admin, name)


def drop(handle: object) -> None:
    if handle is None:
        return
    admin, name = handle  # type: ignore[misc]
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def fresh_book(kind: str, rows: int, pg_url: str, workdir: Path):  # type: ignore[no-untyped-def]
    """A migrated database with one business and a tenth of the statement's money in already stored from C2B."""
    url, handle = database(kind, pg_url, workdir)
    engine = make_engine(url)
    shop = add_business(engine, "600984")
    target = CallbackTarget(shop.id, shop.token, frozenset({"600984"}), "paybill", False)
    stored = [build_record("c2b_confirmation", target, json.dumps(c2b(
        receipt(i), "600984", amount=f"{100 + i % 900}.00", ref=f"INV-{i % 5000:04d}")).encode(), "", START)
        for i in range(0, rows, 10) if i % 10 != 9]
    with engine.begin() as conn:
        record_callbacks(conn, stored, START)
    return engine, shop, handle


def bench_import(kind: str, data: bytes, rows: int, pg_url: str, workdir: Path) -> None:
    engine, shop, handle = fresh_book(kind, rows, pg_url, workdir)
    try:
        started = time.perf_counter()
        report = import_statement(engine, shop.id, "600984", data, None, datetime.now(UTC))
        seconds = time.perf_counter() - started
        started = time.perf_counter()
        again = import_statement(engine, shop.id, "600984", data, None, datetime.now(UTC))
        second = time.perf_counter() - started
    finally:
        engine.dispose()
        drop(handle)
    engine, shop, handle = fresh_book(kind, rows, pg_url, workdir)  # memory on its own run: tracemalloc is slow
    try:
        tracemalloc.start()
        import_statement(engine, shop.id, "600984", data, None, datetime.now(UTC))
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
    finally:
        engine.dispose()
        drop(handle)
    base, _ = parse_only(data)
    print(f"  {kind:10s} import {seconds:6.2f} s ({rows / seconds:6.0f} rows/s; the reader alone {base:.2f} s, "
          f"ratio {seconds / base:4.1f}x), peak traced memory {peak / 2**20:5.1f} MiB (file {len(data) / 2**20:.1f} "
          f"MiB); confirmed {report.confirmed}, recovered {report.recovered}, "  # type: ignore[union-attr]
          f"money out {report.money_out}; the same file again {second:.2f} s, "  # type: ignore[union-attr]
          f"recovered {again.recovered}")  # type: ignore[union-attr]


TILL = ("{code} Confirmed.on 2/10/26 at 7:37 PMKSH{amount}.00 received from 2547******{tail:03d} JANE DOE. "
        "New Account balance is KSH1,090.05. Transaction cost, KSH0.00.")


async def bench_sms(kind: str, messages: int, pg_url: str, workdir: Path) -> None:
    from bot.mpesa.sms import read_sms

    texts = [TILL.format(code=f"UK{i:08d}", amount=40 + i % 500, tail=i % 1000) for i in range(messages)]
    started = time.perf_counter()
    for text in texts:
        read_sms(text)
    base = time.perf_counter() - started
    url, handle = database(kind, pg_url, workdir)
    try:
        config = Settings(database_url=url, spool_dir=str(workdir / "spool"), web_chat=False)
        app = create_app(config)
        engine = make_engine(url)
        shop = add_business(engine, "600984", till=True)
        transport = httpx.ASGITransport(app=app)
        async with app.router.lifespan_context(app), httpx.AsyncClient(transport=transport,
                                                                        base_url="http://bench") as client:
            queue = list(reversed(texts))

            async def worker() -> None:
                while queue:
                    body = json.dumps({"from": "MPESA", "text": queue.pop(), "received_at": RECEIVED})
                    response = await client.post(f"/sms/{shop.token}", content=body)
                    assert response.status_code == 200

            started = time.perf_counter()
            await asyncio.gather(*(worker() for _ in range(16)))
            seconds = time.perf_counter() - started
        engine.dispose()
    finally:
        drop(handle)
    print(f"  {kind:10s} POST /sms {messages / seconds:7.0f} messages/s ({seconds:.2f} s for {messages}); "
          f"read_sms alone {messages / base:8.0f} messages/s (ratio {seconds / base:.0f}x)")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=20000)
    parser.add_argument("--messages", type=int, default=2000)
    parser.add_argument("--targets", default="sqlite,postgresql")
    parser.add_argument("--pg-url", default="postgresql+psycopg://postgres@127.0.0.1:5432/test")
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="hesabu-bench-"))
    try:
        data = statement(args.rows)
        print(f"statement import: {args.rows} rows")
        for kind in args.targets.split(","):
            bench_import(kind, data, args.rows, args.pg_url, workdir)
        print(f"SMS ingest: {args.messages} forwarded messages")
        for kind in args.targets.split(","):
            asyncio.run(bench_sms(kind, args.messages, args.pg_url, workdir))
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
