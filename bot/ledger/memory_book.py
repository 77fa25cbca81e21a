"""`InMemoryBook`: the BookView over dict indexes, for tests and the tuning harness.

It keeps the same indexes a SQL repository would (by key, never by scanning), so a lookup that is
slow here would be slow there too. Values handed out are frozen; the book itself is the mutable store.
"""

from __future__ import annotations

import dataclasses
from collections import defaultdict
from collections.abc import Iterable, Sequence
from decimal import Decimal

from bot.ledger.book import Alias, AliasKind, Customer, OpenInvoice, masked_key
from bot.ledger.money import ZERO
from bot.ledger.phones import phone_sha256
from bot.ledger.references import digits_key, name_key, name_tokens, reference_key
from bot.ledger.replay import BalanceChange, BookChange


class InMemoryBook:
    """One business's customers, invoices, credit and aliases, indexed like the SQL tables."""

    def __init__(self, customers: Iterable[Customer] = ()) -> None:
        self._customers: dict[str, Customer] = {}
        self._invoices: dict[str, OpenInvoice] = {}
        self._credit: dict[str, Decimal] = defaultdict(lambda: ZERO)
        self._by_reference: dict[str, str] = {}
        self._by_digits: dict[str, set[str]] = defaultdict(set)
        self._by_customer: dict[str, set[str]] = defaultdict(set)
        self._by_balance: dict[Decimal, set[str]] = defaultdict(set)
        self._customer_index: dict[tuple[str, str], set[str]] = defaultdict(set)
        self._aliases: dict[tuple[AliasKind, str], set[str]] = defaultdict(set)
        for customer in customers:
            self.add_customer(customer)

    # writing ---------------------------------------------------------------------------------------
    def add_customer(self, customer: Customer) -> None:
        self._customers[customer.id] = customer
        if customer.account_code:
            self._customer_index["account", reference_key(customer.account_code)].add(customer.id)
        for phone in customer.phones:
            self._customer_index["phone", phone_sha256(phone)].add(customer.id)
            self._customer_index["masked", masked_key(phone[:4], phone[-3:])].add(customer.id)
        self._customer_index["name", name_key(customer.name)].add(customer.id)
        for token in name_tokens(customer.name):
            self._customer_index["token", token].add(customer.id)

    def add_invoice(self, invoice: OpenInvoice) -> None:
        self._invoices[invoice.id] = invoice
        self._by_reference[reference_key(invoice.number)] = invoice.id
        self._by_digits[digits_key(invoice.number)].add(invoice.id)
        self._by_customer[invoice.customer_id].add(invoice.id)
        self._by_balance[invoice.open_balance].add(invoice.id)

    def add_alias(self, alias: Alias) -> None:
        self._aliases[alias.kind, alias.key].add(alias.customer_id)

    def apply(self, changes: Iterable[BookChange]) -> None:
        for change in changes:
            if isinstance(change, BalanceChange):
                self._set_balance(change.invoice_id, self._invoices[change.invoice_id].open_balance + change.delta)
            else:
                self._credit[change.customer_id] += change.delta

    def _set_balance(self, invoice_id: str, balance: Decimal) -> None:
        old = self._invoices[invoice_id]
        self._by_balance[old.open_balance].discard(invoice_id)
        self._invoices[invoice_id] = dataclasses.replace(old, open_balance=balance)
        self._by_balance[balance].add(invoice_id)

    def invoice(self, invoice_id: str) -> OpenInvoice:
        return self._invoices[invoice_id]

    def snapshot(self) -> tuple[dict[str, Decimal], dict[str, Decimal]]:
        """Open balances and non-zero credits, for tests that undo must restore exactly."""
        balances = {i.id: i.open_balance for i in self._invoices.values()}
        return balances, {k: v for k, v in self._credit.items() if v}

    # BookView ------------------------------------------------------------------------------------------
    def invoice_by_reference_key(self, key: str) -> OpenInvoice | None:
        found = self._by_reference.get(key)
        return self._invoices[found] if found is not None else None

    def invoices_by_digits_key(self, key: str) -> Sequence[OpenInvoice]:
        found = (self._invoices[i] for i in self._by_digits.get(key, ()))
        return sorted((i for i in found if i.open_balance > ZERO), key=lambda i: i.age_key)

    def customer(self, customer_id: str) -> Customer | None:
        return self._customers.get(customer_id)

    def _customers_at(self, index: str, key: str) -> Sequence[Customer]:
        return [self._customers[c] for c in sorted(self._customer_index.get((index, key), ()))]

    def customers_by_account_key(self, key: str) -> Sequence[Customer]:
        return self._customers_at("account", key)

    def customers_by_phone_hash(self, sha256_hex: str) -> Sequence[Customer]:
        return self._customers_at("phone", sha256_hex)

    def customers_by_masked_phone(self, key: str) -> Sequence[Customer]:
        return self._customers_at("masked", key)

    def customers_by_name_key(self, key: str) -> Sequence[Customer]:
        return self._customers_at("name", key)

    def customers_by_name_tokens(self, tokens: Sequence[str], limit: int) -> Sequence[Customer]:
        if not tokens:
            return []
        ids = set.intersection(*(self._customer_index.get(("token", t), set()) for t in tokens))
        return [self._customers[c] for c in sorted(ids)[:limit]]

    def customers_by_alias(self, kind: AliasKind, key: str) -> Sequence[Customer]:
        return [self._customers[c] for c in sorted(self._aliases.get((kind, key), ())) if c in self._customers]

    def open_invoices_of(self, customer_id: str, limit: int) -> Sequence[OpenInvoice]:
        found = (self._invoices[i] for i in self._by_customer.get(customer_id, ()))
        return sorted((i for i in found if i.open_balance > ZERO), key=lambda i: i.age_key)[:limit]

    def open_invoices_with_balance(self, amount: Decimal, limit: int) -> Sequence[OpenInvoice]:
        if amount <= ZERO:
            return []
        found = sorted(self._by_balance.get(amount, ()))[:limit]
        return [self._invoices[i] for i in found]

    def credit_of(self, customer_id: str) -> Decimal:
        return self._credit.get(customer_id, ZERO)
