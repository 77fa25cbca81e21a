"""Match latency through SqlBook on a big book, on SQLite and PostgreSQL, and the replay time of the dev files.

Usage: python benchmarks/matching_latency.py [--customers 50000] [--invoices 100000] [--payments 2000]
                                             [--pg postgresql+psycopg://postgres@127.0.0.1:5432/hesabu_bench]
                                             [--skip-pg] [--skip-replay]
A business gets `--customers` customers (names, phones, account codes) and `--invoices` open invoices.
Three customers in every ten share one phone (families, a transporter for three shops). Then a mix of
payments (exact and mangled invoice numbers, several invoices in one reference, account codes, known, shared
and unknown phones, names, amount only, walk-ins) is timed two ways:
- match: `match_payment` over `SqlBook` in a read transaction (what the engine costs per payment);
- process: `process_payment` end to end (claim, match, apply, decision, outbox, commit), one per transaction.
It prints p50 and p99 per database (target p99 < 20 ms: indexed lookups, no scans of the book), then the
time `hesabu match replay` takes on each dev file (temporary SQLite, as the command runs by default).
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import psycopg  # noqa: E402
from sqlalchemy import Engine, text  # noqa: E402
from sqlmodel import Session  # noqa: E402

from bot.bookkeeping.processing import process_payment  # noqa: E402
from bot.ledger.book import masked_key  # noqa: E402
from bot.ledger.matching import match_payment  # noqa: E402
from bot.ledger.payments import IncomingPayment, PaymentSource  # noqa: E402
from bot.ledger.phones import phone_sha256, read_msisdn  # noqa: E402
from bot.ledger.references import digits_key, name_key, name_tokens, reference_key  # noqa: E402
from bot.storage.book import CUSTOMER, INVOICE, PHONE, TOKEN, SqlBook  # noqa: E402
from bot.storage.businesses import create_business  # noqa: E402
from bot.storage.callbacks import CallbackRecord, record_callbacks  # noqa: E402
from bot.storage.db import make_engine, unit_of_work  # noqa: E402
from bot.storage.migrate import upgrade  # noqa: E402

FIRST = ["Mary", "John", "Grace", "Peter", "Faith", "James", "Mercy", "Joseph", "Ann", "David", "Esther", "Samuel",
         "Lucy", "Daniel", "Jane", "Paul", "Ruth", "Kevin", "Alice", "Brian", "Irene", "Victor", "Amina", "Hassan"]
LAST = ["Wanjiku", "Otieno", "Achieng", "Kamau", "Mwangi", "Njoroge", "Wekesa", "Mohamed", "Onyango", "Kariuki",
        "Awuor", "Chebet", "Kiprop", "Mutua", "Nyambura", "Omondi", "Wambui", "Kilonzo", "Juma", "Atieno"]
SHORTCODE = "600999"
DEV = ROOT / "tests" / "datasets" / "matching"


def phone_of(n: int) -> str:
    return f"2547{n:08d}"


def family_phone(n: int) -> str:
    """Three customers in every ten share one phone (a parent's on each child, a transporter's on three
    shops): a payment from it points at all three."""
    return phone_of(n - n % 10) if n % 10 < 3 else phone_of(n)


def fill(engine: Engine, customers: int, invoices: int, rng: random.Random) -> tuple[int, list[dict[str, Any]]]:
    """Bulk-load the book with the same key functions SqlBook uses (executemany in batches)."""
    with unit_of_work(engine) as session:
        business_id = create_business(session, "Bench", SHORTCODE, till=False, timezone="Africa/Nairobi").id or 0
    people = []
    now = datetime.now(UTC)
    with engine.begin() as conn:
        for start in range(0, customers, 5000):
            rows, phones, tokens = [], [], []  # customer_phone ids come from its sequence
            for n in range(start, min(start + 5000, customers)):
                name = f"{rng.choice(FIRST)} {rng.choice(FIRST)} {rng.choice(LAST)}" if n % 3 else \
                    f"{rng.choice(FIRST)} {rng.choice(LAST)}"
                account = f"ADM{n + 1000}"
                people.append({"id": n + 1, "name": name, "account": account, "phone": family_phone(n)})
                rows.append({"id": n + 1, "business_id": business_id, "name": name, "name_key": name_key(name),
                             "account_code": account, "account_key": reference_key(account), "credit": Decimal(0),
                             "created_at": now})
                canonical = family_phone(n)
                phones.append({"business_id": business_id, "customer_id": n + 1, "phone": canonical,
                               "phone_sha256": phone_sha256(canonical),
                               "masked_key": masked_key(canonical[:4], canonical[-3:])})
                tokens += [{"customer_id": n + 1, "token": t, "business_id": business_id} for t in name_tokens(name)]
            conn.execute(CUSTOMER.insert(), rows)
            conn.execute(PHONE.insert(), phones)
            conn.execute(TOKEN.insert(), tokens)
        day0 = date(2026, 1, 1)
        for start in range(0, invoices, 10000):
            rows = []
            for n in range(start, min(start + 10000, invoices)):
                number = f"INV-{n + 1:06d}"
                amount = Decimal(rng.choice([500, 1000, 1500, 2500, 3000, 4500, 7000, 12000, 15000])) + \
                    Decimal(rng.randrange(0, 100))
                issued = day0 + timedelta(days=n % 300)
                rows.append({"id": n + 1, "business_id": business_id, "number": number,
                             "number_key": reference_key(number), "digits_key": digits_key(number),
                             "customer_id": rng.randrange(customers) + 1, "amount": amount, "open_balance": amount,
                             "issued": issued, "due": issued + timedelta(days=14), "description": "",
                             "status": "open", "created_at": now})
            conn.execute(INVOICE.insert(), rows)
        if engine.dialect.name == "postgresql":
            for table in ("customer", "invoice"):
                sequence = f"pg_get_serial_sequence('{table}', 'id')"
                conn.execute(text(f"SELECT setval({sequence}, (SELECT max(id) FROM {table}))"))
        conn.execute(text("ANALYZE"))
    return business_id, people


def payments(n: int, people: list[dict[str, Any]], invoices: int, rng: random.Random) -> list[IncomingPayment]:
    out = []
    for i in range(n):
        who = rng.choice(people)
        invoice = rng.randrange(invoices) + 1
        kind = i % 8
        ref, phone, name = "", phone_sha256(f"2547{90000000 + i:08d}"), "JANE DOE"
        if kind == 0:
            ref = f"INV-{invoice:06d}"
        elif kind == 1:
            ref = f"inv {invoice:06d}".replace("0", "O", 1)
        elif kind == 2:
            ref = f"INV-{invoice:06d}"[:-1] + "9" + f"{invoice:06d}"[-1]  # a slip: one extra digit
        elif kind == 3:
            ref = who["account"]
        elif kind == 4:
            phone = phone_sha256(who["phone"])
        elif kind == 5:
            ref, name = who["name"].split()[-1], who["name"].upper()
        elif kind == 6:
            ref = "rent" if i % 16 == 6 else f"inv {invoice} {rng.randrange(invoices) + 1}"  # several invoices
        amount = Decimal(rng.choice([500, 1000, 2500, 3000, 7000, 12000])) + Decimal(rng.randrange(0, 100))
        out.append(IncomingPayment(f"BENCH{i:05d}", amount, datetime(2026, 11, 1, 10, tzinfo=UTC), SHORTCODE, ref,
                                   name, read_msisdn(phone), PaymentSource.C2B))
    return out


def percentiles(samples: list[float]) -> str:
    ordered = sorted(samples)
    p50 = statistics.median(ordered)
    p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
    return f"p50 {p50 * 1000:6.2f} ms  p99 {p99 * 1000:6.2f} ms  max {ordered[-1] * 1000:6.2f} ms  (n={len(ordered)})"


def time_match(engine: Engine, business_id: int, batch: list[IncomingPayment]) -> list[float]:
    samples = []
    with Session(engine) as session:
        for payment in batch:
            started = time.perf_counter()
            match_payment(payment, SqlBook(session, business_id))
            samples.append(time.perf_counter() - started)
        session.rollback()
    return samples


def time_process(engine: Engine, business_id: int, batch: list[IncomingPayment]) -> list[float]:
    now = datetime.now(UTC)
    records = [CallbackRecord("c2b_confirmation", business_id, b"{}", "bench", now, p.trans_id, p) for p in batch]
    with engine.begin() as conn:
        ids = [r.payment_id for r in record_callbacks(conn, records, now)]
    samples = []
    for payment_id in ids:
        started = time.perf_counter()
        with unit_of_work(engine) as session:
            process_payment(session, payment_id or 0, datetime.now(UTC))
        samples.append(time.perf_counter() - started)
    return samples


def bench(label: str, url: str, args: argparse.Namespace) -> None:
    rng = random.Random(7)
    upgrade(url)
    engine = make_engine(url)
    started = time.perf_counter()
    business_id, people = fill(engine, args.customers, args.invoices, rng)
    print(f"{label}: loaded {args.customers:,} customers and {args.invoices:,} open invoices in "
          f"{time.perf_counter() - started:.1f} s")
    batch = payments(args.payments, people, args.invoices, rng)
    time_match(engine, business_id, batch[:100])  # warm caches and the statement cache
    print(f"{label}: match   {percentiles(time_match(engine, business_id, batch))}")
    print(f"{label}: process {percentiles(time_process(engine, business_id, batch[: args.payments // 4]))}")
    engine.dispose()


def fresh_pg(url: str) -> str:
    name = url.rsplit("/", 1)[1]
    admin = url.rsplit("/", 1)[0].replace("postgresql+psycopg://", "postgresql://") + "/postgres"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    return url


def replay_times() -> None:
    from webhooks.cli.match import replay_file

    for path in sorted(DEV.glob("dev*/*.json")):
        started = time.perf_counter()
        lines = replay_file(path)
        elapsed = time.perf_counter() - started
        print(f"replay {path.stem:24} {len(lines):4} payments  {elapsed:6.2f} s  "
              f"({elapsed / max(len(lines), 1) * 1000:.1f} ms per payment, all stages)")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--customers", type=int, default=50_000)
    parser.add_argument("--invoices", type=int, default=100_000)
    parser.add_argument("--payments", type=int, default=2_000)
    parser.add_argument("--pg", default="postgresql+psycopg://postgres@127.0.0.1:5432/hesabu_bench")
    parser.add_argument("--skip-pg", action="store_true")
    parser.add_argument("--skip-replay", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="hesabu-bench-") as scratch:
        bench("sqlite", f"sqlite:///{Path(scratch) / 'bench.db'}", args)
    if not args.skip_pg:
        bench("postgresql", fresh_pg(args.pg), args)
    if not args.skip_replay:
        replay_times()
    print(json.dumps({"customers": args.customers, "invoices": args.invoices, "payments": args.payments}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
