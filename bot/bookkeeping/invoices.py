"""Customers and invoices as the owner creates them: phones in any Kenyan format, invoice numbers from the
business's own sequence (INV-0001 by default), allocated race-free."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from bot.ledger.money import ZERO
from bot.ledger.phones import normalise_phone, phone_sha256
from bot.ledger.references import name_key, name_tokens, reference_key
from bot.storage.book import SqlBook
from bot.storage.customers import customer_exists
from bot.storage.db import Session
from bot.storage.invoices import take_invoice_number

_SKIP_TAKEN = 100


@dataclass(frozen=True, slots=True)
class NewCustomer:
    ok: bool
    customer_id: int | None = None
    message: str = ""


@dataclass(frozen=True, slots=True)
class NewInvoice:
    ok: bool
    invoice_id: int | None = None
    number: str = ""
    message: str = ""


@dataclass(frozen=True, slots=True)
class FoundCustomer:
    id: int
    name: str
    account_code: str | None


def create_customer(session: Session, business_id: int, name: str, phones: Iterable[str] = (),
                    account_code: str | None = None) -> NewCustomer:
    """A customer; each phone may be written any Kenyan way (`0712 345 678`, `+254…`), unreadable ones refused."""
    if not name_tokens(name):
        return NewCustomer(False, message="a customer needs a name")
    canonical = []
    for phone in phones:
        if not phone.strip():
            continue
        found = normalise_phone(phone)
        if found is None:
            return NewCustomer(False, message=f"{phone!r} is not a Kenyan mobile number")
        canonical.append(found)
    customer_id = SqlBook(session, business_id).add_customer(name, account_code, canonical)
    return NewCustomer(True, customer_id, f"customer {name.strip()} added")


def find_customers(session: Session, business_id: int, text: str, limit: int = 10) -> list[FoundCustomer]:
    """By phone, account code, whole name or every word of the name; indexed lookups only."""
    book = SqlBook(session, business_id)
    canonical = normalise_phone(text)
    found = list(book.customers_by_phone_hash(phone_sha256(canonical))) if canonical else []
    key = reference_key(text)
    found += book.customers_by_account_key(key) if key else []
    found += book.customers_by_name_key(name_key(text))
    found += book.customers_by_name_tokens(name_tokens(text), limit)
    unique = {c.id: FoundCustomer(int(c.id), c.name, c.account_code) for c in found}
    return list(unique.values())[:limit]


def next_invoice_number(session: Session, business_id: int) -> str:
    """Take the business's next number: one UPDATE … RETURNING, so two concurrent invoices never share one
    (the row lock serialises them on PostgreSQL, BEGIN IMMEDIATE on SQLite)."""
    pattern, n = take_invoice_number(session, business_id)
    return format_number(pattern, n)


def format_number(pattern: str, n: int) -> str:
    try:
        return pattern.format(n=n)
    except (KeyError, IndexError, ValueError):
        return f"INV-{n:04d}"


def create_invoice(session: Session, business_id: int, customer_id: int, amount: Decimal, issued: date,
                   due: date | None = None, description: str = "", number: str | None = None) -> NewInvoice:
    """An open invoice for a customer of this business; `number` (imports, replay) or the next in sequence."""
    if amount <= ZERO:
        return NewInvoice(False, message="an invoice amount must be more than zero")
    if not customer_exists(session, business_id, customer_id):
        return NewInvoice(False, message="customer not found")
    book = SqlBook(session, business_id)
    chosen = number.strip() if number else next_invoice_number(session, business_id)
    for _ in range(_SKIP_TAKEN if number is None else 0):  # numbers typed in by hand may sit on the sequence
        if not book.reference_taken(chosen):
            break
        chosen = next_invoice_number(session, business_id)
    if not reference_key(chosen) or book.reference_taken(chosen):
        return NewInvoice(False, message=f"invoice number {chosen} is already used")
    invoice_id = book.add_invoice(chosen, customer_id, amount, issued, due, description)
    return NewInvoice(True, invoice_id, chosen, f"invoice {chosen} for {amount:.2f}")


@dataclass(frozen=True, slots=True)
class Imported:
    added: int
    problems: list[str]


def import_customers(session: Session, business_id: int, rows: Iterable[dict[str, str]]) -> Imported:
    """`name,phone,account` rows (phone and account optional; several phones separated by `;` or `/`).
    A bad row is reported with its line number and skipped; the rest are added."""
    added, problems = 0, []
    for line, row in enumerate(rows, start=2):
        phones = [p for p in (row.get("phone") or "").replace("/", ";").split(";") if p.strip()]
        result = create_customer(session, business_id, row.get("name") or "", phones, (row.get("account") or None))
        if result.ok:
            added += 1
        else:
            problems.append(f"line {line}: {result.message}")
    return Imported(added, problems)
