"""Assistant benchmark: the assistant's own handling time per command, no network, on SQLite.

    .venv/bin/python benchmarks/assistant.py [--customers 2000] [--invoices 5000] [--runs 200]

Builds a business on a temporary, migrated SQLite file (customers with phones, open invoices, a day of
payments matched by the live processor), links one chat as owner, then times `handle_message` (its own
unit of work and commit, exactly as a Telegram update or a chat-page post runs it) for each command and for
button taps, and prints p50 and p99 per command. Channel I/O (Telegram, Twilio) is not included: that is
the network's time, not the assistant's.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

from bot.assistant.conversation import handle_message
from bot.assistant.messages import InboundMessage
from bot.bookkeeping.invoices import create_customer, create_invoice
from bot.bookkeeping.processing import process_payment
from bot.ledger.phones import phone_sha256
from bot.storage.businesses import CallbackTarget, create_business, new_link_code
from bot.storage.callbacks import record_callbacks
from bot.storage.db import make_engine, unit_of_work
from bot.storage.migrate import upgrade
from webhooks.intake.records import build_record

FIRST = ["Mary", "John", "Grace", "Peter", "Amina", "Brian", "Lucy", "Hassan", "Ruth", "James"]
LAST = ["Wanjiku", "Otieno", "Achieng", "Mwangi", "Kamau", "Chebet", "Ndungu", "Ouma", "Kilonzo", "Mutua"]


def build(url: str, customers: int, invoices: int) -> tuple[int, str, str]:
    """The business, its owner's link code and its callback token."""
    with unit_of_work(make_engine(url)) as session:
        business = create_business(session, "Bench Duka", "600123", till=False, timezone="Africa/Nairobi")
        business_id = business.id or 0
        ids = [create_customer(session, business_id, f"{FIRST[i % 10]} {LAST[(i // 10) % 10]} {i}",
                               [f"07{i:08d}"]).customer_id or 0 for i in range(customers)]
        for n in range(invoices):
            create_invoice(session, business_id, ids[n % customers], Decimal(500 + (n % 40) * 50),
                           date(2026, 11, 1) + timedelta(days=n % 25), date(2026, 12, 1))
        code = new_link_code(session, business_id, "owner", datetime.now(UTC))
        return business_id, code, business.callback_token


def pay_some(url: str, business_id: int, token: str, count: int) -> list[int]:
    """Payments through the live path (parse, journal, match), some exact, some mangled, some unknown."""
    engine = make_engine(url)
    target = CallbackTarget(business_id, token, frozenset({"600123"}), "paybill", False)
    ids: list[int] = []
    for n in range(count):
        ref = [f"INV-{n + 1:04d}", f"inv {n + 1}", "", "hello"][n % 4]
        body = {"TransactionType": "Pay Bill", "TransID": f"BNCH{n:06d}", "TransTime": "20261128101500",
                "TransAmount": f"{500 + (n % 40) * 50}.00", "BusinessShortCode": "600123", "BillRefNumber": ref,
                "InvoiceNumber": "", "OrgAccountBalance": "", "ThirdPartyTransID": "",
                "MSISDN": phone_sha256(f"2547{n:08d}"), "FirstName": "JANE", "MiddleName": "", "LastName": "DOE"}
        now = datetime.now(UTC)
        record = build_record("c2b_confirmation", target, json.dumps(body).encode(), "127.0.0.1", now)
        with engine.begin() as conn:
            payment_id = record_callbacks(conn, [record], now)[0].payment_id
        if payment_id is not None:
            with unit_of_work(engine) as session:
                process_payment(session, payment_id, now)
            ids.append(payment_id)
    return ids


def timed(runs: int, fn: Callable[[int], None]) -> tuple[float, float]:
    samples = []
    for n in range(runs):
        started = time.perf_counter()
        fn(n)
        samples.append((time.perf_counter() - started) * 1000)
    samples.sort()
    return statistics.median(samples), samples[min(len(samples) - 1, int(0.99 * len(samples)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--customers", type=int, default=2000)
    parser.add_argument("--invoices", type=int, default=5000)
    parser.add_argument("--payments", type=int, default=200)
    parser.add_argument("--runs", type=int, default=200)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{Path(tmp) / 'bench.db'}"
        upgrade(url)
        started = time.perf_counter()
        business_id, code, token = build(url, args.customers, args.invoices)
        payment_ids = pay_some(url, business_id, token, args.payments)
        print(f"book: {args.customers} customers, {args.invoices} invoices, {len(payment_ids)} payments "
              f"(built in {time.perf_counter() - started:.1f} s); SQLite; {args.runs} runs per command")
        engine = make_engine(url)

        def say(text: str = "", choice: str | None = None) -> Callable[[int], None]:
            def run(n: int) -> None:
                msg = InboundMessage("web", "bench-chat", "Owner", text.format(n=n), choice=choice and
                                     choice.format(p=payment_ids[n % len(payment_ids)]), external_id=None)
                with unit_of_work(engine) as session:
                    handle_message(session, msg, datetime.now(UTC))
            return run

        say(f"/start {code}")(0)
        commands = {
            "/help": say("/help"), "/invoices": say("/invoices"), "/unmatched": say("/unmatched"),
            "/customer NAME": say("/customer Mary Wanjiku"), "/summary today": say("/summary"),
            "/invoice NAME AMOUNT due DATE": say("/invoice Wanjiru {n} 2.5k maize due friday"),
            "/undo": say("/undo"), "button: not an invoice": say(choice="x:{p}"),
            "chat text (not a command)": say("habari"),
        }
        print(f"{'command':<32} {'p50 ms':>8} {'p99 ms':>8}")
        for name, fn in commands.items():
            p50, p99 = timed(args.runs, fn)
            print(f"{name:<32} {p50:>8.2f} {p99:>8.2f}")


if __name__ == "__main__":
    main()
