"""Payments written straight into the tables (statuses, decisions, customers chosen by the test), so a
summary's figures can be checked against an independent computation from the same list."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from sqlalchemy import Engine

from bot.storage.db import unit_of_work
from bot.storage.tables import ChatLinkRow, CustomerRow, InvoiceRow, MatchDecisionRow, PaymentRow
from tests.support import add_business

NAIROBI_OFFSET = timedelta(hours=3)


@dataclass(frozen=True)
class Paid:
    trans_id: str
    amount: Decimal
    paid_at: datetime
    status: str
    decision: str  # auto | suggest | none
    customer: str | None
    payer_name: str


def local(day: date, hour: int, minute: int = 0) -> datetime:
    """A Nairobi wall-clock time as an aware UTC instant."""
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=UTC) - NAIROBI_OFFSET


def random_payments(seed: int, first: date, days: int, n: int) -> list[Paid]:
    rng = random.Random(seed)
    out = []
    for i in range(n):
        day = first + timedelta(days=rng.randrange(days))
        minute = rng.choice([0, 1, rng.randrange(24 * 60), 24 * 60 - 1])  # edges of the local day too
        status = rng.choice(["matched", "matched", "unmatched", "suggested", "ignored"])
        decision = ("auto" if rng.random() < 0.7 else "none") if status == "matched" else (
            "suggest" if status == "suggested" else "none")
        customer = rng.choice(["Mary Wanjiku", "John Otieno", "Grace Achieng"]) if status == "matched" else None
        out.append(Paid(f"TX{seed:02d}{i:06d}", Decimal(rng.randrange(100, 2_000_000)) / 100,
                        local(day, 0) + timedelta(minutes=minute), status, decision, customer,
                        rng.choice(["JOHN DOE", "JANE W", "PETER K"])))
    return out


def store(engine: Engine, shortcode: str, payments: list[Paid]) -> int:
    shop = add_business(engine, shortcode)
    with unit_of_work(engine) as session:
        customers = {}
        for name in ("Mary Wanjiku", "John Otieno", "Grace Achieng"):
            row = CustomerRow(business_id=shop.id, name=name)
            session.add(row)
            session.flush()
            customers[name] = row.id
        for p in payments:
            row = PaymentRow(business_id=shop.id, trans_id=p.trans_id, source="c2b", shortcode=shortcode,
                             amount=p.amount, paid_at=p.paid_at, payer_name=p.payer_name, status=p.status,
                             processed_at=p.paid_at, customer_id=customers.get(p.customer or ""))
            session.add(row)
            session.flush()
            session.add(MatchDecisionRow(business_id=shop.id, payment_id=row.id, kind=p.decision))
    return shop.id


def add_invoice(engine: Engine, business_id: int, number: str, amount: str, open_balance: str, due: date | None,
                status: str) -> None:
    with unit_of_work(engine) as session:
        session.add(InvoiceRow(business_id=business_id, number=number, number_key=number.lower(),
                               amount=Decimal(amount), open_balance=Decimal(open_balance), issued=date(2026, 11, 1),
                               due=due, status=status))


def link_chat(engine: Engine, business_id: int, chat_id: str = "777", channel: str = "telegram") -> None:
    with unit_of_work(engine) as session:
        session.add(ChatLinkRow(channel=channel, chat_id=chat_id, business_id=business_id))
