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
from functools import cache
from typing import Any

from sqlalchemy import (
    Row,
    Select,
    String,
    Table,
    any_,
    bindparam,
    case,
    literal_column,
    select,
    union_all,
    update,
)
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
_CUSTOMER_ROWS = 200  # most rows one key lookup reads (a name shared by more is not a clue anyway)


def invoice_status(amount: Decimal, open_balance: Decimal) -> str:
    """open (nothing paid), partial, paid. A cancelled invoice is set so by hand and stays so."""
    if open_balance <= ZERO:
        return "paid"
    return "open" if open_balance >= amount else "partial"


def _open_invoice(row: Row[Any]) -> OpenInvoice:
    due: date = row.due if row.due is not None else row.issued
    customer = "" if row.customer_id is None else str(row.customer_id)
    return OpenInvoice(str(row.id), row.number, customer, row.amount, row.open_balance, row.issued, due)


# Statements are built once, with bound parameters (`business_id`, `key`, ...), so a lookup costs one
# execution of a cached compiled statement: building and compiling a select per call cost as much Python time
# as the round trip itself. Several are UNION ALLs of independent indexed lookups tagged `src`: what the
# engine asks next is fetched in the same round trip (see SqlBook's docstring).
_BUSINESS = INVOICE.c.business_id == bindparam("business_id")
# `> 0` written out, not bound: a generic plan of a prepared statement (psycopg prepares a statement after
# five runs) may use the partial indexes WHERE open_balance > 0 only when the predicate names the same constant
_OPEN = INVOICE.c.open_balance > literal_column("0")


def _src(n: int) -> Any:
    return literal_column(str(n)).label("src")


def _tagged_union(arms: Sequence[Select[Any]]) -> Any:
    """Each arm keeps its own ORDER BY / LIMIT (wrapped as a subquery: SQLite refuses them in a compound)."""
    wrapped = [select(arm.subquery()) for arm in arms]
    return wrapped[0].subquery("hit") if len(wrapped) == 1 else union_all(*wrapped).subquery("hit")


def _invoices_by_key_and_digits() -> Any:
    """Arm 0: the invoice whose number_key is `key` (ix_invoice_number_key); arm 1: the open invoices whose
    digits_key is `digits` (ix_invoice_digits_key), which the engine asks next when arm 0 finds nothing."""
    exact = select(_src(0), *_INVOICE_COLUMNS).where(_BUSINESS, INVOICE.c.number_key == bindparam("key"))
    digits = select(_src(1), *_INVOICE_COLUMNS).where(_BUSINESS, INVOICE.c.digits_key == bindparam("digits"),
                                                      _OPEN)
    return union_all(exact, digits).order_by(literal_column("src"), *(literal_column(c.name) for c in _OLDEST_FIRST))


_INVOICE_BY_KEY = select(*_INVOICE_COLUMNS).where(_BUSINESS, INVOICE.c.number_key == bindparam("key"))
_INVOICE_BY_KEY_AND_DIGITS = _invoices_by_key_and_digits()
_INVOICES_BY_DIGITS = (select(*_INVOICE_COLUMNS).where(_BUSINESS, INVOICE.c.digits_key == bindparam("digits"),
                                                       _OPEN).order_by(*_OLDEST_FIRST))
_INVOICE_BY_ID = select(*_INVOICE_COLUMNS).where(_BUSINESS, INVOICE.c.id == bindparam("invoice_id"))
_SLIPS = {
    "postgresql": select(*_INVOICE_COLUMNS).where(
        _BUSINESS, INVOICE.c.number_key == any_(bindparam("keys", type_=postgresql.ARRAY(String)))),
    "sqlite": select(*_INVOICE_COLUMNS).where(_BUSINESS, INVOICE.c.number_key.in_(bindparam("keys", expanding=True))),
}
_CREDIT = select(CUSTOMER.c.credit).where(CUSTOMER.c.business_id == bindparam("business_id"),
                                          CUSTOMER.c.id == bindparam("customer_id"))


@cache
def _open_invoices_of(limit: int) -> Any:
    """Partial index ix_invoice_open_of_customer (or ix_invoice_customer_status and a small sort)."""
    return (select(*_INVOICE_COLUMNS).where(_BUSINESS, INVOICE.c.customer_id == bindparam("customer_id"), _OPEN)
            .order_by(*_OLDEST_FIRST).limit(limit))


@cache
def _open_invoices_with_balances(limit: int) -> Any:
    """Arm n: open invoices whose balance is `amount_n`, by id, at most `limit`: partial index
    ix_invoice_open_balance (business_id, open_balance, id) answers each arm in id order and stops at the limit.
    The engine asks the amount and then twice it (instalments); both come back in one round trip."""
    arms = [select(_src(n), *_INVOICE_COLUMNS).where(
        _BUSINESS, INVOICE.c.open_balance == bindparam(f"amount_{n}"), _OPEN)
        .order_by(INVOICE.c.id).limit(limit) for n in (0, 1)]
    hit = union_all(*(select(arm.subquery()) for arm in arms)).subquery("hit")
    return select(hit).order_by(hit.c.src, hit.c.id)


# customers: each arm selects (src, cid) by one index, ordered by customer id and limited; the outer query
# reads those customers with their phones in the same round trip
def _customer_arm(n: int, table: Table, *where: Any) -> Select[Any]:
    column = table.c.id if table is CUSTOMER else table.c.customer_id
    return (select(_src(n), column.label("cid")).where(table.c.business_id == bindparam("business_id"), *where)
            .order_by(column).limit(_CUSTOMER_ROWS))


def _alias_arm(n: int) -> Select[Any]:
    """customer_alias(business_id, kind, key): the unique uq_customer_alias."""
    return _customer_arm(n, ALIAS, ALIAS.c.kind == bindparam("alias_kind"), ALIAS.c.key == bindparam("key"))


def _token_arm(n: int, count: int, limit: int) -> Select[Any]:
    """Customers whose name has every one of `count` tokens (`token_0` is the alphabetically first): walk the
    first token's rows in customer order on ix_customer_name_token and probe the primary key (customer_id,
    token) for each other token, so the walk stops after `limit` matches instead of grouping every row of a
    common first name. (Not folded into the name_key lookup: PostgreSQL re-plans a join like this for each
    execution, and a union holding it would lose its cached generic plan with it.)"""
    first = TOKEN.alias("t0")
    query = select(_src(n), first.c.customer_id.label("cid")).where(
        first.c.business_id == bindparam("business_id"), first.c.token == bindparam("token_0"))
    for i in range(1, count):
        other = TOKEN.alias(f"t{i}")
        query = query.join(other, (other.c.customer_id == first.c.customer_id)
                           & (other.c.token == bindparam(f"token_{i}")))
    return query.order_by(first.c.customer_id).limit(limit)


def _customers_of(arms: Sequence[Select[Any]]) -> Any:
    hit = _tagged_union(arms)
    return (select(hit.c.src, CUSTOMER.c.id, CUSTOMER.c.name, CUSTOMER.c.account_code,
                   PHONE.c.id.label("phone_id"), PHONE.c.phone)
            .select_from(hit.join(CUSTOMER, CUSTOMER.c.id == hit.c.cid)
                         .outerjoin(PHONE, PHONE.c.customer_id == CUSTOMER.c.id))
            .where(CUSTOMER.c.business_id == bindparam("business_id"))
            .order_by(hit.c.src, CUSTOMER.c.id, PHONE.c.id))


_CUSTOMERS_BY_ID = _customers_of([select(_src(0), CUSTOMER.c.id.label("cid")).where(
    CUSTOMER.c.business_id == bindparam("business_id"), CUSTOMER.c.id.in_(bindparam("ids", expanding=True)))])
# with the alias of the same key the engine asks right after (reference_clues, payer_clues)
_CUSTOMERS_BY_ACCOUNT = _customers_of([_customer_arm(0, CUSTOMER, CUSTOMER.c.account_key == bindparam("key")),
                                       _alias_arm(1)])
_CUSTOMERS_BY_PHONE = _customers_of([_customer_arm(0, PHONE, PHONE.c.phone_sha256 == bindparam("key")),
                                     _alias_arm(1)])
_CUSTOMERS_BY_MASKED = _customers_of([_customer_arm(0, PHONE, PHONE.c.masked_key == bindparam("key"))])
_CUSTOMERS_BY_ALIAS = _customers_of([_alias_arm(0)])


_CUSTOMERS_BY_NAME = _customers_of([_customer_arm(0, CUSTOMER, CUSTOMER.c.name_key == bindparam("key")),
                                    _alias_arm(1)])


@cache
def _customers_by_tokens(tokens: int, limit: int) -> Any:
    return _customers_of([_token_arm(0, tokens, limit)])


def _customers_from(rows: Sequence[Row[Any]], arms: int) -> list[list[Customer]]:
    """Rows (src, id, name, account_code, phone_id, phone) in (src, id, phone id) order -> customers per arm.
    An arm may name a customer twice (two phones with one masked key): phones are kept once each."""
    found: list[dict[int, tuple[str, str | None, dict[int, str]]]] = [{} for _ in range(arms)]
    for r in rows:
        _name, _account, phones = found[r.src].setdefault(r.id, (r.name, r.account_code, {}))
        if r.phone_id is not None:
            phones[r.phone_id] = r.phone
    return [[Customer(str(i), name, account, tuple(phones.values())) for i, (name, account, phones) in arm.items()]
            for arm in found]


class SqlBook:
    """The book of business `business_id` inside the caller's session (it flushes, never commits).

    A `SqlBook` lives for one unit of work (one payment's match): it caches what it has read, and every
    write through it drops the caches it could make stale (balances on `apply`, aliases on `add_aliases`).
    Round trips are what a match costs on PostgreSQL, so a lookup also fetches, in the same query, what the
    engine asks next with the same key: the reference's invoice with the open invoices of its digits, a
    customer key (account, phone, name) with the alias learned for that key, an amount with twice it; and
    customers come back with their phones. The answers
    are exactly BookView's, cached or not (tests/storage/test_book.py)."""

    def __init__(self, session: Session, business_id: int) -> None:
        self.session = session
        self.business_id = business_id
        self._dialect = ""
        self._customers: dict[str, Customer] = {}
        self._by_key: dict[str, OpenInvoice | None] = {}  # reference_key -> invoice
        self._by_digits: dict[str, list[OpenInvoice]] = {}
        self._slip_candidates: set[str] = set()
        self._open_of: dict[tuple[str, int], list[OpenInvoice]] = {}
        self._with_balance: dict[tuple[Decimal, int], list[OpenInvoice]] = {}
        self._lookups: dict[tuple[str, str], list[Customer]] = {}  # (index, key) -> customers
        self._aliases: dict[tuple[str, str], list[Customer]] = {}  # (alias kind, key) -> customers
        self._tokens: dict[tuple[tuple[str, ...], int], list[Customer]] = {}

    # reading: BookView ----------------------------------------------------------------------------
    def _rows(self, query: Any, **params: Any) -> Sequence[Row[Any]]:
        return self.session.connection().execute(query, {"business_id": self.business_id, **params}).all()

    def _is_postgres(self) -> bool:
        if not self._dialect:
            self._dialect = self.session.connection().dialect.name
        return self._dialect == "postgresql"

    def invoice_by_reference_key(self, key: str) -> OpenInvoice | None:
        if key in self._by_key:
            return self._by_key[key]
        if key in self._slip_candidates:
            self._prefetch_slips()
            return self._by_key.get(key)
        slips = sum(ch.isdigit() for ch in key) >= 3  # worth a digits lookup, and slips if nothing is found
        digits = digits_key(key)
        if slips and digits not in self._by_digits:
            rows = self._rows(_INVOICE_BY_KEY_AND_DIGITS, key=key, digits=digits)
            self._by_digits[digits] = [_open_invoice(r) for r in rows if r.src == 1]
            found = [_open_invoice(r) for r in rows if r.src == 0]
        else:
            found = [_open_invoice(r) for r in self._rows(_INVOICE_BY_KEY, key=key)]
        self._by_key[key] = found[0] if found else None
        if not found and slips:
            self._slip_candidates = one_slip_variants(key)
        return self._by_key[key]

    def _prefetch_slips(self) -> None:
        """After a reference that named nothing, the engine looks up each of its one-slip variants (~150):
        answer them all with one indexed query (`= ANY(array)` on PostgreSQL, IN on SQLite) and keep the
        answers, misses too, for this book's lifetime."""
        variants = sorted(self._slip_candidates)[:_SLIP_PREFETCH_MAX]
        self._slip_candidates = set()
        query = _SLIPS["postgresql" if self._is_postgres() else "sqlite"]
        by_key = {reference_key(i.number): i for i in map(_open_invoice, self._rows(query, keys=variants))}
        self._by_key.update({v: by_key.get(v) for v in variants})

    def invoices_by_digits_key(self, key: str) -> Sequence[OpenInvoice]:
        if key not in self._by_digits:
            self._by_digits[key] = [_open_invoice(r) for r in self._rows(_INVOICES_BY_DIGITS, digits=key)]
        return list(self._by_digits[key])

    def invoice(self, invoice_id: str) -> OpenInvoice | None:
        found = self._rows(_INVOICE_BY_ID, invoice_id=int(invoice_id))
        return _open_invoice(found[0]) if found else None

    def customer(self, customer_id: str) -> Customer | None:
        if customer_id not in self._customers and customer_id.isdigit():
            self._keep(self._customers_from(_CUSTOMERS_BY_ID, 1, ids=[int(customer_id)])[0])
        return self._customers.get(customer_id)

    def _customers_from(self, query: Any, arms: int, **params: Any) -> list[list[Customer]]:
        found = _customers_from(self._rows(query, **params), arms)
        for arm in found:
            self._keep(arm)
        return found

    def _keep(self, customers: Iterable[Customer]) -> None:
        self._customers.update((c.id, c) for c in customers)

    def _lookup(self, index: str, key: str, query: Any, alias: AliasKind | None) -> list[Customer]:
        """Customers by one customer index, and (same round trip) the customers learned for (alias, key)."""
        if (index, key) not in self._lookups:
            if alias is None:
                self._lookups[index, key] = self._customers_from(query, 1, key=key)[0]
            else:
                mine, learned = self._customers_from(query, 2, key=key, alias_kind=alias.value)
                self._lookups[index, key] = mine
                self._aliases.setdefault((alias.value, key), learned)
        return list(self._lookups[index, key])

    def customers_by_account_key(self, key: str) -> Sequence[Customer]:
        return self._lookup("account", key, _CUSTOMERS_BY_ACCOUNT, AliasKind.REFERENCE)

    def customers_by_phone_hash(self, sha256_hex: str) -> Sequence[Customer]:
        return self._lookup("phone", sha256_hex, _CUSTOMERS_BY_PHONE, AliasKind.PHONE_HASH)

    def customers_by_masked_phone(self, key: str) -> Sequence[Customer]:
        return self._lookup("masked", key, _CUSTOMERS_BY_MASKED, None)

    def customers_by_name_key(self, key: str) -> Sequence[Customer]:
        return self._lookup("name", key, _CUSTOMERS_BY_NAME, AliasKind.PAYER_NAME)

    def customers_by_name_tokens(self, tokens: Sequence[str], limit: int) -> Sequence[Customer]:
        wanted = tuple(sorted(set(tokens)))
        if not wanted or limit <= 0:
            return []
        if (wanted, limit) not in self._tokens:
            params = {f"token_{i}": t for i, t in enumerate(wanted)}
            self._tokens[wanted, limit] = self._customers_from(_customers_by_tokens(len(wanted), limit), 1,
                                                               **params)[0]
        return list(self._tokens[wanted, limit])

    def customers_by_alias(self, kind: AliasKind, key: str) -> Sequence[Customer]:
        if (kind.value, key) not in self._aliases:
            self._aliases[kind.value, key] = self._customers_from(_CUSTOMERS_BY_ALIAS, 1, key=key,
                                                                  alias_kind=kind.value)[0]
        return list(self._aliases[kind.value, key])

    def open_invoices_of(self, customer_id: str, limit: int) -> Sequence[OpenInvoice]:
        if not customer_id.isdigit():
            return []
        if (customer_id, limit) not in self._open_of:
            rows = self._rows(_open_invoices_of(limit), customer_id=int(customer_id))
            self._open_of[customer_id, limit] = [_open_invoice(r) for r in rows]
        return list(self._open_of[customer_id, limit])

    def open_invoices_with_balance(self, amount: Decimal, limit: int) -> Sequence[OpenInvoice]:
        if amount <= ZERO:
            return []
        if (amount, limit) not in self._with_balance:
            rows = self._rows(_open_invoices_with_balances(limit), amount_0=amount, amount_1=amount * 2)
            self._with_balance[amount, limit] = [_open_invoice(r) for r in rows if r.src == 0]
            self._with_balance.setdefault((amount * 2, limit), [_open_invoice(r) for r in rows if r.src == 1])
        return list(self._with_balance[amount, limit])

    def credit_of(self, customer_id: str) -> Decimal:
        if not customer_id.isdigit():
            return ZERO
        credit = self.session.connection().execute(
            _CREDIT, {"business_id": self.business_id, "customer_id": int(customer_id)}).scalar_one_or_none()
        return credit if credit is not None else ZERO

    def _forget_invoices(self) -> None:
        self._by_key.clear()
        self._by_digits.clear()
        self._slip_candidates = set()
        self._open_of.clear()
        self._with_balance.clear()

    def _forget_customers(self) -> None:
        self._customers.clear()
        self._lookups.clear()
        self._aliases.clear()
        self._tokens.clear()

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
        self._forget_customers()
        return customer_id

    def add_phone(self, customer_id: int, canonical: str) -> bool:
        """False when the customer already has that phone. Another customer may have it too: a parent's phone
        is registered on each child, and evidence from it narrows to those customers."""
        stmt = self._insert(PHONE).values(
            business_id=self.business_id, customer_id=customer_id, phone=canonical,
            phone_sha256=phone_sha256(canonical), masked_key=masked_key(canonical[:4], canonical[-3:]))
        # RETURNING, not rowcount: on PostgreSQL rowcount read 1 for a conflicting no-op insert
        inserted = self.session.connection().execute(stmt.on_conflict_do_nothing().returning(PHONE.c.id)).first()
        self._forget_customers()
        return inserted is not None

    def add_invoice(self, number: str, customer_id: int, amount: Decimal, issued: date, due: date | None,
                    description: str = "") -> int:
        invoice_id: int = self.session.connection().execute(INVOICE.insert().values(
            business_id=self.business_id, number=number, number_key=reference_key(number),
            digits_key=digits_key(number), customer_id=customer_id, amount=amount, open_balance=amount,
            issued=issued, due=due, description=description, status="open", created_at=utcnow(),
        ).returning(INVOICE.c.id)).scalar_one()
        self._forget_invoices()
        return invoice_id

    def reference_taken(self, number: str) -> bool:
        return bool(self._rows(_INVOICE_BY_KEY, key=reference_key(number)))

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
        self._forget_customers()
        return added

    def remove_aliases(self, alias_ids: Sequence[int]) -> None:
        if alias_ids:
            self.session.connection().execute(ALIAS.delete().where(
                ALIAS.c.business_id == self.business_id, ALIAS.c.id.in_(list(alias_ids))))
            self._forget_customers()

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
        self._forget_invoices()

    def _insert(self, table: Table) -> Any:
        dialect = postgresql if self.session.connection().dialect.name == "postgresql" else sqlite
        return dialect.insert(table)


def _status_sql(balance: Any) -> Any:
    return case((balance <= 0, "paid"), (balance >= INVOICE.c.amount, "open"), else_="partial")
