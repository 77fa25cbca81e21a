"""The book as the matching engine reads it: customers, open invoices, learned aliases.

`BookView` is the read side the engine needs, made only of lookups an index can answer; the storage
layer implements it with SQL, `InMemoryBook` (memory_book.py) with dicts. Every key passed in is built
with the functions of `references.py` / `phones.py`, so the storage side fills its indexed columns with
the same functions.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from enum import StrEnum
from typing import Protocol

from bot.ledger.phones import phone_sha256


@dataclass(frozen=True, slots=True)
class Customer:
    """Someone who owes the business. `phones` are canonical (`2547XXXXXXXX`), never shown in full."""

    id: str
    name: str
    account_code: str | None = None  # admission number, house number: what payers type for the account
    phones: tuple[str, ...] = ()

    @property
    def phone_hashes(self) -> frozenset[str]:
        return frozenset(phone_sha256(p) for p in self.phones)


@dataclass(frozen=True, slots=True)
class OpenInvoice:
    """An invoice with what is still owed on it (`open_balance` 0 once paid)."""

    id: str
    number: str
    customer_id: str
    amount: Decimal
    open_balance: Decimal
    issued: date
    due: date

    @property
    def age_key(self) -> tuple[date, date, str]:
        """Oldest first: issued, then due, then number."""
        return (self.issued, self.due, self.number)


class AliasKind(StrEnum):
    PHONE_HASH = "phone_hash"  # key: sha256 hex of the canonical phone
    MASKED_PHONE = "masked_phone"  # key: masked_alias_key(prefix, suffix, first name)
    PAYER_NAME = "payer_name"  # key: name_key(payer name)
    REFERENCE = "reference"  # key: reference_key(what the payer typed)


@dataclass(frozen=True, slots=True)
class Alias:
    """A learned fact: payments showing `key` of `kind` come from `customer_id`."""

    kind: AliasKind
    key: str
    customer_id: str


def masked_key(prefix: str, suffix: str) -> str:
    """`2547`+`126` -> `2547*126`: the part of a masked MSISDN every Daraja variant shows.

    Index: `customer_phone.masked_key` = masked_key(canonical[:4], canonical[-3:])."""
    return f"{prefix[:4]}*{suffix[-3:]}"


def masked_alias_key(prefix: str, suffix: str, first_name: str) -> str:
    """Masked phone plus first name: `2547*126 mary`, the most a C2B v2 callback tells about a payer."""
    return f"{masked_key(prefix, suffix)} {first_name.strip().lower()}"


class BookView(Protocol):
    """Indexed lookups over one business's book. None of them scans all invoices or all customers."""

    def invoice_by_reference_key(self, key: str) -> OpenInvoice | None:
        """The invoice whose reference_key(number) == key, open or paid. Unique index on
        (business_id, reference_key)."""
        ...

    def invoices_by_digits_key(self, key: str) -> Sequence[OpenInvoice]:
        """Open invoices whose digits_key(number) == key. Index on (business_id, digits_key)."""
        ...

    def customer(self, customer_id: str) -> Customer | None:
        """One customer by id. Primary key."""
        ...

    def customers_by_account_key(self, key: str) -> Sequence[Customer]:
        """Customers whose reference_key(account_code) == key. Index on (business_id, account_key)."""
        ...

    def customers_by_phone_hash(self, sha256_hex: str) -> Sequence[Customer]:
        """Customers with a phone whose phone_sha256 == sha256_hex. Index on customer_phone(sha256)."""
        ...

    def customers_by_masked_phone(self, key: str) -> Sequence[Customer]:
        """Customers with a phone whose masked_key(canonical[:4], canonical[-3:]) == key.
        Index on customer_phone(masked_key); the engine narrows by the longer prefix itself."""
        ...

    def customers_by_name_key(self, key: str) -> Sequence[Customer]:
        """Customers whose name_key(name) == key. Index on (business_id, name_key)."""
        ...

    def customers_by_name_tokens(self, tokens: Sequence[str], limit: int) -> Sequence[Customer]:
        """Customers whose name has every token (name_tokens). Index on customer_name_token(token):
        intersect per token (GROUP BY customer_id HAVING count = len(tokens)), at most `limit` rows."""
        ...

    def customers_by_alias(self, kind: AliasKind, key: str) -> Sequence[Customer]:
        """Customers learned for (kind, key). Index on customer_alias(business_id, kind, key)."""
        ...

    def open_invoices_of(self, customer_id: str, limit: int) -> Sequence[OpenInvoice]:
        """The customer's invoices with open_balance > 0, oldest first (issued, due, number), at most
        `limit`. Partial index on (customer_id, issued, due, number) WHERE open_balance > 0."""
        ...

    def open_invoices_with_balance(self, amount: Decimal, limit: int) -> Sequence[OpenInvoice]:
        """Open invoices whose open_balance == amount, at most `limit`, any order.
        Partial index on (business_id, open_balance) WHERE open_balance > 0."""
        ...

    def credit_of(self, customer_id: str) -> Decimal:
        """The customer's unapplied credit (overpayments kept). A column or a small ledger sum."""
        ...
