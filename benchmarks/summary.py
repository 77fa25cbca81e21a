"""Daily-summary benchmark: one business with 1,000,000 stored payments, on SQLite and PostgreSQL.

Builds the figures of one day's summary (totals, auto-matched, needing the owner, invoices paid in part and
overdue, top payers, 14 days for the chart and the comparisons) exactly as the scheduler and /summary do,
and prints how long it takes. Target: under 1 s, i.e. indexed aggregation, never rows loaded into Python.

    .venv/bin/python benchmarks/summary.py [--payments 1000000] [--days 365] [--runs 7]
        [--pg postgresql+psycopg://postgres@127.0.0.1:5432/test] [--no-pg] [--no-sqlite]

Rows are bulk-loaded (SQLite: executemany in one transaction; PostgreSQL: COPY) into a fresh, migrated
database: a temporary SQLite file and a throw-away PostgreSQL database, dropped afterwards.
"""

from __future__ import annotations

import argparse
import random
import statistics
import tempfile
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import psycopg
from sqlalchemy import Engine, text
from sqlmodel import Session

from bot.assistant.summaries import summary_figures, summary_reply
from bot.ledger.summaries import Period
from bot.storage.businesses import create_business
from bot.storage.db import make_engine, unit_of_work
from bot.storage.migrate import upgrade
from bot.storage.tables import BusinessRow

NAIROBI = ZoneInfo("Africa/Nairobi")
LAST_DAY = date(2026, 11, 27)
PAYMENT_COLUMNS = ("id", "business_id", "trans_id", "source", "shortcode", "amount", "paid_at", "reference",
                   "invoice_number", "payer_name", "msisdn_kind", "status", "credit", "customer_id", "created_at",
                   "processed_at")
STATUSES = ("matched",) * 6 + ("unmatched", "suggested", "suggested", "ignored")
NAMES = [f"{first} {last}" for first in ("JOHN", "MARY", "PETER", "GRACE", "JAMES", "ANN", "DAVID", "JANE")
         for last in ("KAMAU", "WANJIKU", "OTIENO", "ACHIENG", "MUTUA", "NJERI", "KIPCHOGE")]


def rows(business_id: int, customers: list[int], n: int, days: int, seed: int = 1) -> Iterator[tuple[object, ...]]:
    """Payments spread over `days` days ending on LAST_DAY; ids from 1. paid_at as aware UTC datetimes."""
    rng = random.Random(seed)
    start = datetime.combine(LAST_DAY + timedelta(days=1 - days), datetime.min.time(), tzinfo=NAIROBI)
    # in time order, as payments arrive: index pages fill in order instead of being rewritten at random
    offsets = sorted(rng.randrange(days * 86400) for _ in range(n))
    for i, offset in enumerate(offsets, start=1):
        paid = (start + timedelta(seconds=offset)).astimezone(UTC)
        status = STATUSES[i % len(STATUSES)]
        customer = customers[i % len(customers)] if status == "matched" else None
        yield (i, business_id, f"BM{i:08d}", "c2b", "600100", rng.randrange(1_000, 5_000_000), paid,
               f"INV-{i % 5000:04d}", "", NAMES[i % len(NAMES)], "sha256", status, 0, customer, paid, paid)


def decision_kind(payment_id: int) -> str:
    status = STATUSES[payment_id % len(STATUSES)]
    if status == "matched":
        return "auto" if payment_id % 5 else "suggest"  # a fifth confirmed by the owner
    return "suggest" if status == "suggested" else "none"


def prepare(engine: Engine) -> tuple[int, list[int]]:
    with unit_of_work(engine) as session:
        business = create_business(session, "Bench Duka", "600100", till=False, timezone="Africa/Nairobi")
        business_id = business.id or 0
        for i in range(200):
            session.execute(text("INSERT INTO customer (business_id, name, name_key, credit, created_at) "
                                 "VALUES (:b, :n, :k, 0, :t)"),
                            {"b": business_id, "n": f"Customer {i}", "k": f"customer {i}", "t": datetime.now(UTC)})
        for i in range(3000):  # invoices: open, partial, paid, some overdue
            due = LAST_DAY + timedelta(days=(i % 60) - 45)
            status = ("open", "partial", "paid")[i % 3]
            session.execute(text("INSERT INTO invoice (business_id, number, number_key, digits_key, amount, "
                                 "open_balance, issued, due, description, status, created_at) VALUES "
                                 "(:b, :num, :key, :d, 500000, :open, :issued, :due, '', :s, :t)"),
                            {"b": business_id, "num": f"INV-{i:04d}", "key": f"inv{i:04d}", "d": str(i),
                             "open": 0 if status == "paid" else (500000 if status == "open" else 200000),
                             "issued": due - timedelta(days=14), "due": due, "s": status, "t": datetime.now(UTC)})
        customers = [int(r[0]) for r in session.execute(text("SELECT id FROM customer WHERE business_id = :b"),
                                                        {"b": business_id})]
    return business_id, customers


def _sqlite_time(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")  # SQLAlchemy's SQLite DATETIME text


def load_sqlite(engine: Engine, business_id: int, customers: list[int], n: int, days: int) -> None:
    raw = engine.raw_connection()
    try:
        cur = raw.cursor()
        # bulk load only: a big page cache, and the foreign keys (known good here) not checked row by row
        cur.execute("PRAGMA cache_size=-500000")
        cur.execute("PRAGMA foreign_keys=OFF")
        cur.execute("BEGIN")
        marks = ",".join("?" * len(PAYMENT_COLUMNS))
        converted = (tuple(_sqlite_time(v) if isinstance(v, datetime) else v for v in row)
                     for row in rows(business_id, customers, n, days))
        cur.executemany(f"INSERT INTO payment ({','.join(PAYMENT_COLUMNS)}) VALUES ({marks})", converted)
        now = _sqlite_time(datetime.now(UTC))
        cur.executemany("INSERT INTO match_decision (business_id, payment_id, kind, confidence, reasons, applied, "
                        "suggestions, created_at) VALUES (?, ?, ?, 0, '[]', 'null', '[]', ?)",
                        ((business_id, i, decision_kind(i), now) for i in range(1, n + 1)))
        cur.execute("COMMIT")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("ANALYZE")
    finally:
        raw.close()


def load_postgres(dsn: str, business_id: int, customers: list[int], n: int, days: int) -> None:
    with psycopg.connect(dsn) as conn, conn.cursor() as cur:
        with cur.copy(f"COPY payment ({','.join(PAYMENT_COLUMNS)}) FROM STDIN") as copy:
            for row in rows(business_id, customers, n, days):
                copy.write_row(row)
        now = datetime.now(UTC)
        with cur.copy("COPY match_decision (business_id, payment_id, kind, confidence, reasons, applied, "
                      "suggestions, created_at) FROM STDIN") as copy:
            for i in range(1, n + 1):
                copy.write_row((business_id, i, decision_kind(i), 0, "[]", "null", "[]", now))
        cur.execute("SELECT setval(pg_get_serial_sequence('payment', 'id'), %s)", (n,))
        conn.commit()
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE")


def measure(engine: Engine, business_id: int, runs: int) -> dict[str, float]:
    period = Period.day(LAST_DAY)
    figures_times, reply_times = [], []
    with Session(engine) as session:
        business = session.get(BusinessRow, business_id)
        assert business is not None
        figures = summary_figures(session, business_id, period, NAIROBI)  # warm the caches once
        for _ in range(runs):
            started = time.perf_counter()
            figures = summary_figures(session, business_id, period, NAIROBI)
            figures_times.append(time.perf_counter() - started)
            started = time.perf_counter()
            summary_reply(session, business, period, LAST_DAY)  # with the chart, as it is sent
            reply_times.append(time.perf_counter() - started)
    print(f"    that day: {figures.payments.count} payments, KES {figures.payments.total:,}; "
          f"overdue {figures.overdue.count}; 14-day series {len(figures.series)} days")
    return {"figures_median": statistics.median(figures_times), "figures_max": max(figures_times),
            "reply_median": statistics.median(reply_times)}


def run(label: str, engine: Engine, loader: object, n: int, days: int, runs: int) -> None:
    business_id, customers = prepare(engine)
    started = time.perf_counter()
    loader(business_id, customers)  # type: ignore[operator]
    load = time.perf_counter() - started
    print(f"{label}: {n:,} payments (+{n:,} decisions) loaded in {load:.1f} s")
    result = measure(engine, business_id, runs)
    print(f"    summary figures: median {result['figures_median'] * 1000:.1f} ms, "
          f"max {result['figures_max'] * 1000:.1f} ms over {runs} runs "
          f"({'under' if result['figures_max'] < 1 else 'OVER'} the 1 s target)")
    print(f"    whole message with the PNG chart: median {result['reply_median'] * 1000:.1f} ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--payments", type=int, default=1_000_000)
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--pg", default="postgresql+psycopg://postgres@127.0.0.1:5432/test")
    parser.add_argument("--no-pg", action="store_true")
    parser.add_argument("--no-sqlite", action="store_true")
    args = parser.parse_args()
    if not args.no_sqlite:
        with tempfile.TemporaryDirectory(prefix="hesabu-bench-") as scratch:
            url = f"sqlite:///{Path(scratch) / 'bench.db'}"
            upgrade(url)
            engine = make_engine(url)
            run("SQLite", engine, lambda b, c: load_sqlite(engine, b, c, args.payments, args.days),
                args.payments, args.days, args.runs)
            engine.dispose()
    if not args.no_pg:
        admin = args.pg.replace("postgresql+psycopg://", "postgresql://")
        name = f"hesabu_bench_{uuid.uuid4().hex[:8]}"
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        url = args.pg.rsplit("/", 1)[0] + f"/{name}"
        try:
            upgrade(url)
            engine = make_engine(url)
            dsn = url.replace("postgresql+psycopg://", "postgresql://")
            run("PostgreSQL", engine, lambda b, c: load_postgres(dsn, b, c, args.payments, args.days),
                args.payments, args.days, args.runs)
            engine.dispose()
        finally:
            with psycopg.connect(admin, autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


if __name__ == "__main__":
    main()
