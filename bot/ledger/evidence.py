"""Evidence a payment carries: invoices its reference points at, customers its reference or payer point at.

Each clue has a strength. STRONG identifies a customer on its own (their phone hash, their account code,
their phone or full name typed as reference). LIKELY is the masked phone with the first name agreeing.
MEDIUM is a plausible reading (payer's full name, something learned from text). WEAK (a first name
alone) only orders suggestions.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import IntEnum

from bot.ledger.book import AliasKind, BookView, Customer, OpenInvoice, masked_alias_key, masked_key
from bot.ledger.money import ZERO
from bot.ledger.payments import IncomingPayment
from bot.ledger.phones import MsisdnKind, masked_matches, normalise_phone, phone_sha256
from bot.ledger.references import (
    digit_count,
    digits_key,
    is_filler,
    name_key,
    name_tokens,
    number_groups,
    one_slip_variants,
    reference_key,
)


class Strength(IntEnum):
    WEAK = 1
    MEDIUM = 2
    LIKELY = 3  # masked phone + first name: one fit, still not proof
    STRONG = 4


@dataclass(frozen=True, slots=True)
class InvoiceHit:
    """An open invoice the reference names: exactly, by its digits, or one slip away."""

    invoice: OpenInvoice
    exact: bool
    reason: str


@dataclass(frozen=True, slots=True)
class Clue:
    """A customer the payment points at, how strongly and why (in words for the owner)."""

    customer: Customer
    strength: Strength
    reason: str


def invoice_hits(reference: str, book: BookView, min_digits: int) -> tuple[list[InvoiceHit], list[InvoiceHit]]:
    """(exact hits, one-slip hits) among open invoices. Exact: same key, or same digits when the payer
    typed at least `min_digits` digits. Slips are only looked up when nothing matched exactly."""
    if is_filler(reference):
        return [], []
    key = reference_key(reference)
    found = book.invoice_by_reference_key(key)
    if found is not None and found.open_balance > ZERO:
        return [InvoiceHit(found, True, f"account {found.number}")], []
    if found is None and digit_count(reference) >= min_digits:
        by_digits = [i for i in book.invoices_by_digits_key(digits_key(reference)) if i.open_balance > ZERO]
        if by_digits:
            return [InvoiceHit(i, True, f"account {reference.strip()!r} reads as {i.number}") for i in by_digits], []
    if found is None and digit_count(reference) < min_digits:
        return _short_number(reference, book), []
    if found is not None:
        return [], []
    return [], _slip_hits(key, book)


def _short_number(reference: str, book: BookView) -> list[InvoiceHit]:
    """`inv64`: a short number is read as an invoice's only when typed after that invoice's own letters."""
    groups = number_groups(reference)
    if len(groups) != 1 or len(groups[0][0]) < 2:
        return []
    letters, digits = groups[0]
    found = [i for i in book.invoices_by_digits_key(digits.lstrip("0")) if i.open_balance > ZERO
             and reference_key(i.number).startswith(letters)]
    return [InvoiceHit(i, True, f"account {reference.strip()!r} reads as {i.number}") for i in found]


def _slip_hits(key: str, book: BookView) -> list[InvoiceHit]:
    hits: dict[str, InvoiceHit] = {}
    for variant in one_slip_variants(key):
        invoice = book.invoice_by_reference_key(variant)
        if invoice is not None and invoice.open_balance > ZERO:
            hits[invoice.id] = InvoiceHit(invoice, False, f"account {key} is one slip from {invoice.number}")
    return list(hits.values())


@dataclass(frozen=True, slots=True)
class Named:
    """What a reference naming several numbers names: open invoices, or customers (admission numbers)."""

    invoices: tuple[OpenInvoice, ...]
    customers: tuple[Customer, ...]
    reason: str


def named_by_numbers(reference: str, book: BookView) -> Named | None:
    """`inv 23 24`, `INV-0023/24`, `for INV-0023 and 24`, `ADM6161/1704`: when every one of two or more
    numbers names one open invoice (or one customer's account), those. None otherwise (one number, or a
    number that names nothing or several things: then the reference is read as a whole)."""
    groups = number_groups(reference)
    if len(groups) < 2:
        return None
    customers = [_one_account(letters, digits, book) for letters, digits in groups]
    if not any(customers):  # `C10 2 months` is house C10, not invoices 10 and 2
        invoices = [_one_open_invoice(letters, digits, book) for letters, digits in groups]
        found = list(dict.fromkeys(i for i in invoices if i is not None))
        if len(found) == len(invoices) >= 2:
            return Named(tuple(found), (), f"account names {', '.join(i.number for i in found)}")
    if all(c is not None for c in customers):
        people = list({c.id: c for c in customers if c is not None}.values())
        if len(people) >= 2:
            return Named((), tuple(people), f"account names {' and '.join(c.name for c in people)}")
    return None


def _one_open_invoice(letters: str, digits: str, book: BookView) -> OpenInvoice | None:
    key = digits.lstrip("0")
    if not key:
        return None
    found = [i for i in book.invoices_by_digits_key(key) if i.open_balance > ZERO]
    if len(found) > 1 and letters:  # `RENT 42` beside `WTR-042`: the letters typed decide
        found = [i for i in found if reference_key(i.number).startswith(letters)]
    return found[0] if len(found) == 1 else None


def _one_account(letters: str, digits: str, book: BookView) -> Customer | None:
    found = list(book.customers_by_account_key(letters + digits)) if letters else []
    return found[0] if len(found) == 1 else None


def reference_clues(reference: str, book: BookView, limit: int) -> list[Clue]:
    """Customers the reference names: account code, phone, full name, part of a name, learned text."""
    if is_filler(reference):
        return []
    key = reference_key(reference)
    clues = [Clue(c, Strength.STRONG, f"account {reference.strip()} is {c.name}'s code")
             for c in book.customers_by_account_key(key)]
    if not clues:
        clues = _account_inside(reference, book)
    canonical = normalise_phone(reference)
    if canonical is not None:
        clues += [Clue(c, Strength.STRONG, f"account is {c.name}'s phone")
                  for c in book.customers_by_phone_hash(phone_sha256(canonical))]
    clues += _name_clues(reference, book, limit, "account names", Strength.STRONG)
    paid = book.invoice_by_reference_key(key)
    owner = book.customer(paid.customer_id) if paid is not None else None
    if paid is not None and owner is not None:  # a paid invoice named again: its customer paying the next one
        clues.append(Clue(owner, Strength.MEDIUM, f"account {paid.number} (already paid) is {owner.name}'s"))
    clues += [Clue(c, Strength.MEDIUM, f"account {reference.strip()!r} was {c.name} before")
              for c in book.customers_by_alias(AliasKind.REFERENCE, key)]
    return clues


def _account_inside(reference: str, book: BookView) -> list[Clue]:
    """`oct rent b11`, `hse A12`, `C10 2 months`: the one letters-and-number word that is an account code."""
    typed = [letters + digits for letters, digits in number_groups(reference) if letters]
    found = {c.id: (code, c) for code in typed for c in book.customers_by_account_key(code)}
    if len({code for code, _c in found.values()}) != 1:
        return []
    return [Clue(c, Strength.STRONG, f"account {reference.strip()!r} names {code}, {c.name}'s code")
            for code, c in found.values()]


def _name_clues(text: str, book: BookView, limit: int, what: str, full: Strength) -> list[Clue]:
    key = name_key(text)
    if not key:
        return []
    exact = book.customers_by_name_key(key)
    if exact:
        return [Clue(c, full, f"{what} {c.name}") for c in exact]
    tokens = name_tokens(text)
    partial = book.customers_by_name_tokens(tokens, limit)
    strength = Strength.MEDIUM if len(tokens) >= 2 else Strength.WEAK
    return [Clue(c, strength, f"{what} part of {c.name}") for c in partial]


_LEARNED_PHONE = Strength.MEDIUM  # a learned phone narrows to its customers; it does not prove one


def payer_clues(payment: IncomingPayment, book: BookView, limit: int) -> list[Clue]:
    """Customers the payer looks like: phone hash (own or learned), masked phone + first name, name."""
    phone = payment.phone
    clues: list[Clue] = []
    if phone.sha256 is not None:
        own = book.customers_by_phone_hash(phone.sha256)
        clues += [Clue(c, Strength.STRONG, f"payer's phone is {c.name}'s") for c in own]
        clues += [Clue(c, _LEARNED_PHONE, f"payer's phone paid for {c.name} before")
                  for c in book.customers_by_alias(AliasKind.PHONE_HASH, phone.sha256)]
    if phone.kind is MsisdnKind.MASKED:
        clues += _masked_clues(payment, book)
    if len(name_tokens(payment.payer_name)) < 2:  # C2B v2 sends the first name only: a hint, no more
        return clues + _name_clues(payment.payer_name, book, limit, "payer is", Strength.WEAK)
    named = _name_clues(payment.payer_name, book, limit, "payer is", Strength.MEDIUM)
    learned = [Clue(c, Strength.MEDIUM, f"payer {payment.payer_name.title()} paid for {c.name} before")
               for c in book.customers_by_alias(AliasKind.PAYER_NAME, name_key(payment.payer_name))]
    return clues + named + learned + _corroborated_phone(clues, named)


def _corroborated_phone(phone: list[Clue], named: list[Clue]) -> list[Clue]:
    """A phone that paid for a customer before is only a hint (phones are shared by families, staff and
    transporters); the payer's full name being that customer's own makes it likely. (The payer's name
    learned with the phone is no second witness: both came from the same payments.)"""
    by_name = {c.customer.id for c in named if c.strength >= Strength.MEDIUM}
    return [Clue(c.customer, Strength.LIKELY, f"{c.reason}, under the same name") for c in phone
            if c.strength is Strength.MEDIUM and c.customer.id in by_name]


def _masked_clues(payment: IncomingPayment, book: BookView) -> list[Clue]:
    """A masked phone is a candidate, never proof: it counts only with the first name agreeing."""
    phone = payment.phone
    parts = payment.payer_name.split()
    if not (phone.masked_prefix and phone.masked_suffix and parts):
        return []
    first = parts[0].lower()
    clues = [Clue(c, Strength.LIKELY, f"payer {parts[0].title()} {phone.masked_prefix}***{phone.masked_suffix} "
                  f"fits {c.name}'s phone")
             for c in book.customers_by_masked_phone(masked_key(phone.masked_prefix, phone.masked_suffix))
             if first in name_tokens(c.name) and any(masked_matches(phone, p) for p in c.phones)]
    alias = masked_alias_key(phone.masked_prefix, phone.masked_suffix, first)
    clues += [Clue(c, Strength.LIKELY, f"payer {parts[0].title()} with this masked phone paid for {c.name} before")
              for c in book.customers_by_alias(AliasKind.MASKED_PHONE, alias)]
    return clues


def strongest(clues: Iterable[Clue]) -> dict[str, Clue]:
    """One clue per customer: the strongest (first seen wins a tie)."""
    best: dict[str, Clue] = {}
    for clue in clues:
        held = best.get(clue.customer.id)
        if held is None or clue.strength > held.strength:
            best[clue.customer.id] = clue
    return best


def leader(clues: Sequence[Clue]) -> Clue | None:
    """The single customer at the top strength, or None when nobody or several share the top."""
    best = strongest(clues)
    if not best:
        return None
    top = max(c.strength for c in best.values())
    leaders = [c for c in best.values() if c.strength == top]
    return leaders[0] if len(leaders) == 1 else None
