"""`SqlBook`: one business's book in SQL, the ledger's `BookView` read side plus its write side.

Every lookup is one indexed query filtered by `business_id` (see the index named in each BookView
docstring); none scans the invoices or the customers. The key columns are filled here with the very
functions the engine builds its lookup keys with (bot.ledger.references / phones), so both sides agree.
A `SqlBook` lives for one unit of work: it caches customers it has read, never balances.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import Row, String, Table, any_, bindparam, case, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session

from bot.ledger.book import Alias, AliasKind, Customer, OpenInvoice, masked_key
from bot.ledger.money import ZERO
from bot.ledger.phones import phone_sha256
from bot.ledger.references import digits_key, name_key, name_tokens, one_slip_variants, reference_key
from bot.ledger.replay import BalanceChange, BookChange
from bot.storage.tables import (
    CustomerAliasRow,
    CustomerNameTokenRow,
    CustomerPhoneRow,
    CustomerRow,
    InvoiceRow,
    utcnow,
)

CUSTOMER: Table = CustomerRow.__table__  # type: ignore[attr-defined]
PHONE: Table = CustomerPhoneRow.__table__  # type: ignore[attr-defined]
TOKEN: Table = CustomerNameTokenRow.__table__  # type: ignore[attr-defined]
ALIAS: Table = CustomerAliasRow.__table__  # type: ignore[attr-defined]
INVOICE: Table = InvoiceRow.__table__  # type: ignore[attr-defined]

_INVOICE_COLUMNS = (INVOICE.c.id, INVOICE.c.number, INVOICE.c.customer_id, INVOICE.c.amount,
                    INVOICE.c.open_balance, INVOICE.c.issued, INVOICE.c.due)
_OLDEST_FIRST = (INVOICE.c.issued, INVOICE.c.due, INVOICE.c.number)
_SLIP_PREFETCH_MAX = 400  # one IN query instead of ~150 single lookups when the engine tries typing slips


def invoice_status(amount: Decimal, open_balance: Decimal) -> str:
    """open (nothing paid), partial, paid. A cancelled invoice is set so by hand and stays so."""
    if open_balance <= ZERO:
        return "paid"
    return "open" if open_balance >= amount else "partial"


def _open_invoice(row: Row[Any]) -> OpenInvoice:
    due: date = row.due if row.due is not None else row.issued
    customer = "" if row.customer_id is None else str(row.customer_id)
    return OpenInvoice(str(row.id), row.number, customer, row.amount, row.open_balance, row.issued, due)


class SqlBook:
    """The book of business `business_id` inside the caller's session (it flushes, never commits)."""

    def __init__(self, session: Session, business_id: int) -> None:
        self.session = session
        self.business_id = business_id
        self._customers: dict[str, Customer] = {}
        self._by_key: dict[str, OpenInvoice | None] = {}  # reference_key -> invoice, cleared by apply()
        self._slip_candidates: set[str] = set()

    # reading: BookView ----------------------------------------------------------------------------
    def _rows(self, query: Any) -> Sequence[Row[Any]]:
        return self.session.connection().execute(query).all()

    def _invoices(self, *where: Any, order: Sequence[Any] = _OLDEST_FIRST, limit: int | None = None
                  ) -> list[OpenInvoice]:
        query = select(*_INVOICE_COLUMNS).where(INVOICE.c.business_id == self.business_id, *where).order_by(*order)
        return [_open_invoice(r) for r in self._rows(query.limit(limit) if limit is not None else query)]

    def invoice_by_reference_key(self, key: str) -> OpenInvoice | None:
        if key in self._by_key:
            return self._by_key[key]
        if key in self._slip_candidates:
            self._prefetch_slips()
            return self._by_key.get(key)
        found = self._invoices(INVOICE.c.number_key == key)
        self._by_key[key] = found[0] if found else None
        if not found and sum(ch.isdigit() for ch in key) >= 3:
            self._slip_candidates = one_slip_variants(key)
        return self._by_key[key]

    def _prefetch_slips(self) -> None:
        """After a reference that named nothing, the engine looks up each of its one-slip variants (~150):
        answer them all with one indexed query (`= ANY(array)` on PostgreSQL, IN on SQLite) and keep the
        answers, misses too, for this book's lifetime."""
        variants = sorted(self._slip_candidates)[:_SLIP_PREFETCH_MAX]
        self._slip_candidates = set()
        if self.session.connection().dialect.name == "postgresql":
            wanted = INVOICE.c.number_key == any_(bindparam("keys", variants, type_=postgresql.ARRAY(String)))
        else:
            wanted = INVOICE.c.number_key.in_(variants)
        by_key = {reference_key(i.number): i for i in self._invoices(wanted)}
        self._by_key.update({v: by_key.get(v) for v in variants})

    def invoices_by_digits_key(self, key: str) -> Sequence[OpenInvoice]:
        return self._invoices(INVOICE.c.digits_key == key, INVOICE.c.open_balance > 0)

    def invoice(self, invoice_id: str) -> OpenInvoice | None:
        found = self._invoices(INVOICE.c.id == int(invoice_id))
        return found[0] if found else None

    def customer(self, customer_id: str) -> Customer | None:
        if customer_id not in self._customers and customer_id.isdigit():
            self._load_customers([int(customer_id)])
        return self._customers.get(customer_id)

    def _load_customers(self, found: Iterable[int]) -> list[Customer]:
        ids = list(dict.fromkeys(found))
        wanted = [i for i in ids if str(i) not in self._customers]
        if wanted:
            rows = self._rows(select(CUSTOMER.c.id, CUSTOMER.c.name, CUSTOMER.c.account_code).where(
                CUSTOMER.c.business_id == self.business_id, CUSTOMER.c.id.in_(wanted)))
            phones: dict[int, list[str]] = {}
            for p in self._rows(select(PHONE.c.customer_id, PHONE.c.phone)
                                .where(PHONE.c.customer_id.in_(wanted)).order_by(PHONE.c.id)):
                phones.setdefault(p.customer_id, []).append(p.phone)
            for r in rows:
                self._customers[str(r.id)] = Customer(str(r.id), r.name, r.account_code, tuple(phones.get(r.id, ())))
        return [self._customers[str(i)] for i in ids if str(i) in self._customers]

    def _customers_where(self, table: Table, *where: Any, limit: int = 200) -> Sequence[Customer]:
        column = table.c.id if table is CUSTOMER else table.c.customer_id
        query = (select(column).where(table.c.business_id == self.business_id, *where)
                 .order_by(column).limit(limit))
        return self._load_customers(r[0] for r in self._rows(query))

    def customers_by_account_key(self, key: str) -> Sequence[Customer]:
        return self._customers_where(CUSTOMER, CUSTOMER.c.account_key == key)

    def customers_by_phone_hash(self, sha256_hex: str) -> Sequence[Customer]:
        return self._customers_where(PHONE, PHONE.c.phone_sha256 == sha256_hex)

    def customers_by_masked_phone(self, key: str) -> Sequence[Customer]:
        return self._customers_where(PHONE, PHONE.c.masked_key == key)

    def customers_by_name_key(self, key: str) -> Sequence[Customer]:
        return self._customers_where(CUSTOMER, CUSTOMER.c.name_key == key)

    def customers_by_name_tokens(self, tokens: Sequence[str], limit: int) -> Sequence[Customer]:
        """Intersect the tokens as a chain of index lookups: walk the first token's rows in customer order
        on ix_customer_name_token and probe the primary key (customer_id, token) for each other token, so
        the walk stops after `limit` matches instead of grouping every row of a common first name."""
        wanted = sorted(set(tokens))
        if not wanted:
            return []
        first = TOKEN.alias("t0")
        query = select(first.c.customer_id).where(first.c.business_id == self.business_id, first.c.token == wanted[0])
        for n, token in enumerate(wanted[1:], start=1):
            other = TOKEN.alias(f"t{n}")
            query = query.join(other, (other.c.customer_id == first.c.customer_id) & (other.c.token == token))
        query = query.order_by(first.c.customer_id).limit(limit)
        return self._load_customers(r[0] for r in self._rows(query))

    def customers_by_alias(self, kind: AliasKind, key: str) -> Sequence[Customer]:
        return self._customers_where(ALIAS, ALIAS.c.kind == kind.value, ALIAS.c.key == key)

    def open_invoices_of(self, customer_id: str, limit: int) -> Sequence[OpenInvoice]:
        if not customer_id.isdigit():
            return []
        return self._invoices(INVOICE.c.customer_id == int(customer_id), INVOICE.c.open_balance > 0, limit=limit)

    def open_invoices_with_balance(self, amount: Decimal, limit: int) -> Sequence[OpenInvoice]:
        if amount <= ZERO:
            return []
        # `open_balance > 0` repeated so the planner may use the partial index (business_id, open_balance)
        return self._invoices(INVOICE.c.open_balance == amount, INVOICE.c.open_balance > 0, order=(INVOICE.c.id,),
                              limit=limit)

    def credit_of(self, customer_id: str) -> Decimal:
        if not customer_id.isdigit():
            return ZERO
        credit = self.session.connection().execute(select(CUSTOMER.c.credit).where(
            CUSTOMER.c.business_id == self.business_id, CUSTOMER.c.id == int(customer_id))).scalar_one_or_none()
        return credit if credit is not None else ZERO

    # writing ---------------------------------------------------------------------------------------
    def add_customer(self, name: str, account_code: str | None = None, phones: Iterable[str] = ()) -> int:
        """A customer with every key column filled; `phones` canonical (`2547…`), duplicates ignored."""
        conn = self.session.connection()
        account = (account_code or "").strip() or None
        customer_id: int = conn.execute(CUSTOMER.insert().values(
            business_id=self.business_id, name=name.strip(), name_key=name_key(name), account_code=account,
            account_key=reference_key(account) if account else None, credit=ZERO, created_at=utcnow(),
        ).returning(CUSTOMER.c.id)).scalar_one()
        tokens = name_tokens(name)
        if tokens:
            conn.execute(TOKEN.insert(), [{"customer_id": customer_id, "token": t, "business_id": self.business_id}
                                          for t in tokens])
        for phone in dict.fromkeys(phones):
            self.add_phone(customer_id, phone)
        return customer_id

    def add_phone(self, customer_id: int, canonical: str) -> bool:
        """False when the business already has that phone (on this or another customer)."""
        stmt = self._insert(PHONE).values(
            business_id=self.business_id, customer_id=customer_id, phone=canonical,
            phone_sha256=phone_sha256(canonical), masked_key=masked_key(canonical[:4], canonical[-3:]))
        # RETURNING, not rowcount: on PostgreSQL rowcount read 1 for a conflicting no-op insert
        inserted = self.session.connection().execute(stmt.on_conflict_do_nothing().returning(PHONE.c.id)).first()
        self._customers.pop(str(customer_id), None)
        return inserted is not None

    def add_invoice(self, number: str, customer_id: int, amount: Decimal, issued: date, due: date | None,
                    description: str = "") -> int:
        invoice_id: int = self.session.connection().execute(INVOICE.insert().values(
            business_id=self.business_id, number=number, number_key=reference_key(number),
            digits_key=digits_key(number), customer_id=customer_id, amount=amount, open_balance=amount,
            issued=issued, due=due, description=description, status="open", created_at=utcnow(),
        ).returning(INVOICE.c.id)).scalar_one()
        return invoice_id

    def reference_taken(self, number: str) -> bool:
        return bool(self._invoices(INVOICE.c.number_key == reference_key(number)))

    def add_aliases(self, aliases: Iterable[Alias]) -> list[int]:
        """Remember learned aliases; ones already known are skipped. Returns the ids of new rows (for undo)."""
        added: list[int] = []
        for alias in aliases:
            stmt = self._insert(ALIAS).values(business_id=self.business_id, kind=alias.kind.value, key=alias.key,
                                              customer_id=int(alias.customer_id), created_at=utcnow())
            new_id = self.session.connection().execute(
                stmt.on_conflict_do_nothing().returning(ALIAS.c.id)).scalar_one_or_none()
            if new_id is not None:
                added.append(new_id)
        return added

    def remove_aliases(self, alias_ids: Sequence[int]) -> None:
        if alias_ids:
            self.session.connection().execute(ALIAS.delete().where(
                ALIAS.c.business_id == self.business_id, ALIAS.c.id.in_(list(alias_ids))))

    def apply(self, changes: Iterable[BookChange]) -> None:
        """Apply ledger changes as relative updates (`open_balance = open_balance + delta`), so two
        transactions never overwrite each other's arithmetic; the status follows the balance."""
        conn = self.session.connection()
        for change in changes:
            if isinstance(change, BalanceChange):
                balance = INVOICE.c.open_balance + change.delta
                conn.execute(update(INVOICE).where(
                    INVOICE.c.business_id == self.business_id, INVOICE.c.id == int(change.invoice_id),
                    INVOICE.c.status != "cancelled",
                ).values(open_balance=balance, status=_status_sql(balance)))
            else:
                conn.execute(update(CUSTOMER).where(
                    CUSTOMER.c.business_id == self.business_id, CUSTOMER.c.id == int(change.customer_id),
                ).values(credit=CUSTOMER.c.credit + change.delta))
        self._by_key.clear()
        self._slip_candidates = set()

    def _insert(self, table: Table) -> Any:
        dialect = postgresql if self.session.connection().dialect.name == "postgresql" else sqlite
        return dialect.insert(table)


def _status_sql(balance: Any) -> Any:
    return case((balance <= 0, "paid"), (balance >= INVOICE.c.amount, "open"), else_="partial")
