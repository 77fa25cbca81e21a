"""A small book on a real database, payments received through the live C2B path, and full snapshots."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Engine, select
from sqlmodel import Session

from bot.bookkeeping.invoices import create_customer, create_invoice
from bot.bookkeeping.processing import Processed, process_payment
from bot.ledger.phones import phone_sha256
from bot.storage.businesses import CallbackTarget
from bot.storage.callbacks import record_callbacks
from bot.storage.db import unit_of_work
from bot.storage.tables import (
    AllocationRow,
    CustomerAliasRow,
    CustomerRow,
    InvoiceRow,
    PaymentRow,
)
from tests.support import Shop, add_business
from webhooks.intake.records import build_record

MARY_PHONE, JOHN_PHONE, GRACE_PHONE = "254712345678", "254722000126", "254733000999"
STRANGER = "254799999999"


@dataclass
class Book:
    engine: Engine
    shop: Shop
    customers: dict[str, int]  # MARY, JOHN, GRACE


def make_book(engine: Engine, shortcode: str = "600100", *, till: bool = False) -> Book:
    """Mary (ADM4521): INV-0001 2,500 and INV-0002 1,000; John (B12): INV-0003 7,000; Grace: INV-0004 3,300."""
    shop = add_business(engine, shortcode, till=till)
    with unit_of_work(engine) as session:
        ids = {
            "MARY": create_customer(session, shop.id, "Mary Wanjiku Kamau", ["0712 345 678"], "ADM4521").customer_id,
            "JOHN": create_customer(session, shop.id, "John Otieno", ["+254 722 000126"], "B12").customer_id,
            "GRACE": create_customer(session, shop.id, "Grace Achieng", ["733000999"]).customer_id,
        }
        for who, amount, day in (("MARY", "2500", 1), ("MARY", "1000", 2), ("JOHN", "7000", 3), ("GRACE", "3300", 4)):
            made = create_invoice(session, shop.id, ids[who] or 0, Decimal(amount), date(2026, 9, day),
                                  date(2026, 9, day + 7))
            assert made.ok, made.message
    return Book(engine, shop, {k: v or 0 for k, v in ids.items()})


def body(shortcode: str, trans_id: str, amount: str, ref: str = "", phone: str = STRANGER,
         name: str = "JANE DOE", till: bool = False) -> dict[str, str]:
    names = (name.split() + ["", "", ""])[:3]
    return {"TransactionType": "Buy Goods" if till else "Pay Bill", "TransID": trans_id,
            "TransTime": "20260920101500", "TransAmount": amount, "BusinessShortCode": shortcode,
            "BillRefNumber": ref, "InvoiceNumber": "", "OrgAccountBalance": "", "ThirdPartyTransID": "",
            "MSISDN": phone_sha256(phone), "FirstName": names[0], "MiddleName": names[1], "LastName": names[2]}


def receive(book: Book, trans_id: str, amount: str, ref: str = "", phone: str = STRANGER,
            name: str = "JANE DOE") -> int | None:
    """Store a C2B confirmation exactly as the live path does (parse, journal, payment). None: a duplicate."""
    target = CallbackTarget(book.shop.id, book.shop.token, frozenset({book.shop.shortcode}), "paybill", False)
    raw = json.dumps(body(book.shop.shortcode, trans_id, amount, ref, phone, name)).encode()
    now = datetime.now(UTC)
    record = build_record("c2b_confirmation", target, raw, "127.0.0.1", now)
    with book.engine.begin() as conn:
        return record_callbacks(conn, [record], now)[0].payment_id


def process(book: Book, payment_id: int) -> Processed | None:
    with unit_of_work(book.engine) as session:
        return process_payment(session, payment_id, datetime.now(UTC))


def pay(book: Book, trans_id: str, amount: str, ref: str = "", phone: str = STRANGER,
        name: str = "JANE DOE") -> Processed:
    payment_id = receive(book, trans_id, amount, ref, phone, name)
    assert payment_id is not None
    done = process(book, payment_id)
    assert done is not None
    return done


def allocations(done: Processed) -> list[tuple[str, str]]:
    return [(a.number, f"{a.amount:.2f}") for a in done.decision.allocations]


def snapshot(engine: Engine, business_id: int) -> dict[str, Any]:
    """Everything an owner action may change, in comparable form."""
    with Session(engine) as session:
        def rows(model: Any) -> list[Any]:
            return list(session.scalars(select(model).where(model.business_id == business_id).order_by(model.id)))

        return {
            "invoices": {i.number: (str(i.open_balance), i.status) for i in rows(InvoiceRow)},
            "credits": {c.name: str(c.credit) for c in rows(CustomerRow)},
            "payments": {p.trans_id: (p.status, p.customer_id, str(p.credit)) for p in rows(PaymentRow)},
            "allocations": sorted((a.payment_id, a.invoice_id, str(a.amount)) for a in rows(AllocationRow)),
            "aliases": sorted((a.kind, a.key, a.customer_id) for a in rows(CustomerAliasRow)),
        }
