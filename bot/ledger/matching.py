"""The matching engine: one payment, the book, the settings -> a decision (auto, suggest or none).

The ladder, after Odoo, Navari and Xero (see the matching reference, section 3.9):
1. the reference names an open invoice (exactly or by its digits) -> auto, unless the payer's own
   phone says it is another customer's payment; the rest of an overpayment goes to the customer's other
   open invoices oldest first, then to credit;
2. the reference is one slip from an invoice -> auto only when the payer points at that invoice's customer;
3. the reference or the payer names a customer -> an open invoice equal to the amount, else oldest first;
   auto only on strong evidence (settings), otherwise one-tap suggestions;
4. nothing but the amount -> suggestions of invoices with that open balance, never auto.
A payment with no usable reference from an unknown payer is never auto-applied.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum

from bot.ledger.allocation import Allocation, Settlement, allocate, allocate_named_first
from bot.ledger.book import BookView, Customer, OpenInvoice
from bot.ledger.evidence import (
    Clue,
    InvoiceHit,
    Named,
    Strength,
    invoice_hits,
    leader,
    named_by_numbers,
    payer_clues,
    reference_clues,
    strongest,
)
from bot.ledger.money import ZERO, format_kes
from bot.ledger.payments import IncomingPayment
from bot.ledger.readings import close_below, exact_sums, read_amount
from bot.ledger.references import not_invoiced


class DecisionKind(StrEnum):
    AUTO = "auto"
    SUGGEST = "suggest"
    NONE = "none"


@dataclass(frozen=True, slots=True)
class MatchSettings:
    """Thresholds of the ladder. The defaults are the safe ones; a business may loosen them later."""

    min_reference_digits: int = 3  # `19` or `1` typed as account is noise; `0023` is meant
    auto_fifo_strength: Strength = Strength.LIKELY  # evidence needed to auto-apply any other reading
    auto_equal_amount_strength: Strength = Strength.MEDIUM  # ... to auto-apply to an invoice equal to the amount
    small_overpay_percent: Decimal = Decimal("5")  # 12,550 for a 12,500 invoice: that invoice, 50 credit
    # the business's practice for a customer who is certain but whose amount pins no invoice: "oldest_first"
    # (the default, as QuickBooks and Navari apply an unassigned payment) or "ask"
    unpinned: str = "oldest_first"
    candidate_limit: int = 20
    open_invoice_limit: int = 50
    suggestion_count: int = 3


DEFAULT_SETTINGS = MatchSettings()


@dataclass(frozen=True, slots=True)
class Decision:
    """What to do with a payment. `settlement` is what auto applies; `suggestions` are best first."""

    kind: DecisionKind
    settlement: Settlement | None
    suggestions: tuple[Settlement, ...]
    confidence: int  # percent
    reasons: tuple[str, ...]

    @property
    def allocations(self) -> tuple[Allocation, ...]:
        return self.settlement.allocations if self.settlement is not None else ()


def match_payment(payment: IncomingPayment, book: BookView, settings: MatchSettings = DEFAULT_SETTINGS) -> Decision:
    """Decide what a payment pays. Expected outcomes (nothing found, ambiguous) are decisions, not errors."""
    payer = payer_clues(payment, book, settings.candidate_limit)
    named_set = named_by_numbers(payment.reference, book)
    if named_set is not None and named_set.invoices:
        return _on_named_invoices(payment, book, settings, named_set)
    if named_set is not None:
        return _on_customers(payment, book, settings, named_set.customers, named_set.reason)
    exact, slips = invoice_hits(payment.reference, book, settings.min_reference_digits)
    if exact:
        return _on_invoice(payment, book, settings, exact, payer)
    named = reference_clues(payment.reference, book, settings.candidate_limit)
    if slips:
        corroborated = _corroborated(slips, named + payer)
        if corroborated is not None:
            return _auto(_settle(payment, book, settings, corroborated.invoice), 85, (corroborated.reason,))
    decision = _on_customer(payment, book, settings, named, payer)
    if slips and decision.kind is not DecisionKind.AUTO:
        extra = tuple(_settle(payment, book, settings, s.invoice) for s in slips)
        return _suggest(payment, book, settings, extra + decision.suggestions, tuple(s.reason for s in slips))
    return decision


def _on_invoice(
    payment: IncomingPayment, book: BookView, settings: MatchSettings, hits: list[InvoiceHit], payer: list[Clue]
) -> Decision:
    known = strongest(payer)
    if len(hits) > 1:
        mine = [h for h in hits if h.invoice.customer_id in known]
        if len(mine) != 1:
            options = tuple(_settle(payment, book, settings, h.invoice) for h in hits)
            return _suggest(payment, book, settings, options, ("account fits several invoices",))
        hits = mine
    hit = hits[0]
    settlement = _settle(payment, book, settings, hit.invoice)
    own = leader(payer)
    if own is not None and own.strength is Strength.STRONG and own.customer.id != hit.invoice.customer_id:
        theirs = _customer_options(payment, book, settings, own)
        reasons = (hit.reason, f"but {own.reason}")
        return _suggest(payment, book, settings, theirs + (settlement,), reasons)
    rival = _exact_elsewhere(payment, book, settings, settlement)
    if rival:  # `INV 4` paying 4,750 on an 800 invoice while INV-0003 is 4,750: two readings, so ask
        return _suggest(payment, book, settings, (*rival, settlement),
                        (hit.reason, "but the amount fits another invoice exactly"))
    return _auto(settlement, 95, (hit.reason, *_amount_words(payment.amount, hit.invoice)))


def _exact_elsewhere(payment: IncomingPayment, book: BookView, settings: MatchSettings,
                     settlement: Settlement) -> list[Settlement]:
    """When the named invoice leaves much of the amount as credit, the invoices elsewhere whose open balance
    is exactly the amount: a mistyped reference is likelier than a large overpayment."""
    credit = payment.amount - settlement.applied
    if credit * 100 <= settlement.applied * settings.small_overpay_percent:
        return []
    mine = settlement.invoice_numbers()
    return [s for s in _amount_only(payment, book, settings)[:2] if s.applied == payment.amount
            and not s.invoice_numbers() & mine]


def _on_named_invoices(payment: IncomingPayment, book: BookView, settings: MatchSettings, named: Named) -> Decision:
    """A payment that names particular invoices pays those (oldest first); what is left is credit."""
    ordered = sorted(named.invoices, key=lambda i: i.age_key)
    settlement = allocate(payment.amount, ordered)
    total = sum((i.open_balance for i in ordered), ZERO)
    if payment.amount >= total:
        words = "amount equals their open balances" if payment.amount == total else \
            f"{format_kes(payment.amount - total)} over, kept as credit"
        return _auto(settlement, 90, (named.reason, words))
    return _auto(settlement, 80, (named.reason, f"part payment, {format_kes(total - payment.amount)} still open"))


def _on_customers(payment: IncomingPayment, book: BookView, settings: MatchSettings, customers: Sequence[Customer],
                  reason: str) -> Decision:
    """Several customers named or pointed at together (a parent's pupils, one phone on each): an amount that
    is exactly one open invoice of each, or of them together, is applied; anything else is asked about."""
    pool = sorted((i for c in customers for i in book.open_invoices_of(c.id, settings.open_invoice_limit)),
                  key=lambda i: i.age_key)
    sums = [s for s in exact_sums(payment.amount, pool) if {i.customer_id for i in s} == {c.id for c in customers}]
    if len(sums) == 1:
        return _auto(allocate(payment.amount, sums[0]), 85, (reason, "amount is one open invoice of each"))
    options = [allocate(payment.amount, s) for s in sums]
    per_customer = [_customer_options(payment, book, settings, Clue(c, Strength.STRONG, reason)) for c in customers]
    return _suggest(payment, book, settings, options + list(_interleave(payment, per_customer)), (reason,))


def _corroborated(slips: list[InvoiceHit], clues: list[Clue]) -> InvoiceHit | None:
    pointed = {c.customer.id for c in clues if c.strength >= Strength.MEDIUM}
    fits = [s for s in slips if s.invoice.customer_id in pointed]
    return fits[0] if len(fits) == 1 else None


def _on_customer(
    payment: IncomingPayment, book: BookView, settings: MatchSettings, named: list[Clue], payer: list[Clue]
) -> Decision:
    chosen = _choose_customer(named, payer)
    if chosen is None:
        tops = _top_customers(named + payer)
        per_customer = [_customer_options(payment, book, settings, c) for c in tops]
        options = _interleave(payment, per_customer)
        return _suggest(payment, book, settings, options, ("several customers fit",) if tops else ())
    invoices = book.open_invoices_of(chosen.customer.id, settings.open_invoice_limit)
    if not invoices:
        return _suggest(payment, book, settings, (), (chosen.reason, f"{chosen.customer.name} owes nothing"))
    reading = read_amount(payment.amount, invoices, settings)
    needed = settings.auto_equal_amount_strength if reading and reading.exact else settings.auto_fifo_strength
    options = _customer_options(payment, book, settings, chosen)
    if reading is not None and chosen.strength >= needed:
        if reading.exact:
            return _auto(reading.settlement, 90, (chosen.reason, reading.reason))
        rival = _rival_with_exact_amount(payment, book, settings, chosen, named + payer)
        if rival is not None:  # the tenant who moved, typing the old house: the amount is their own rent
            reasons = (chosen.reason, f"but the amount is exactly what {rival[0].customer.name} owes")
            return _suggest(payment, book, settings, (rival[1], *options), reasons)
        if settings.unpinned == "ask":
            return _suggest(payment, book, settings, (reading.settlement, *options), (chosen.reason, reading.reason))
        if not_invoiced(payment.reference):
            reasons = (chosen.reason, "the account names something not invoiced")
            return _suggest(payment, book, settings, options, reasons)
            return _suggest(payment, book, settings, options, reasons)
        return _auto(reading.settlement, 85, (chosen.reason, reading.reason))
    return _suggest(payment, book, settings, options, (chosen.reason,))


def _rival_with_exact_amount(payment: IncomingPayment, book: BookView, settings: MatchSettings, chosen: Clue,
                             clues: list[Clue]) -> tuple[Clue, Settlement] | None:
    """Another customer the payment points at (by name, phone or account) whose open invoices the amount
    fits exactly, where the chosen customer's do not: two readings, so the owner is asked. Only the few
    strongest others are read (a surname typed may fit hundreds of customers)."""
    others = [c for c in sorted(strongest(clues).values(), key=lambda c: -c.strength)
              if c.customer.id != chosen.customer.id][:RIVALS]
    for clue in others:
        reading = read_amount(payment.amount, book.open_invoices_of(clue.customer.id, settings.open_invoice_limit),
                              settings)
        if reading is not None and reading.exact:
            return clue, reading.settlement
    return None


RIVALS = 3


def _choose_customer(named: list[Clue], payer: list[Clue]) -> Clue | None:
    """What the payer typed wins over who the payer is: a parent's phone may pay for another child."""
    typed = leader(named)
    if typed is not None and typed.strength is Strength.STRONG:
        return typed
    both = leader(named + payer)
    if both is None or both.strength < Strength.MEDIUM:
        return None
    return both


def _interleave(payment: IncomingPayment, per_customer: list[tuple[Settlement, ...]]) -> tuple[Settlement, ...]:
    """Across customers: readings that use the whole amount on one invoice first, then the rest in turn."""
    flat = [o for rank in range(max((len(p) for p in per_customer), default=0))
            for p in per_customer if rank < len(p) for o in (p[rank],)]
    return tuple(sorted(flat, key=lambda o: o.applied != payment.amount or len(o.allocations) != 1))


def _top_customers(clues: list[Clue]) -> list[Clue]:
    best = sorted(strongest(clues).values(), key=lambda c: -c.strength)
    return best[:3]


def _customer_options(
    payment: IncomingPayment, book: BookView, settings: MatchSettings, clue: Clue
) -> tuple[Settlement, ...]:
    """One-tap readings for a customer: the invoice equal to the amount, oldest first, the oldest alone."""
    invoices = book.open_invoices_of(clue.customer.id, settings.open_invoice_limit)
    reading = read_amount(payment.amount, invoices, settings)
    equal = [allocate(payment.amount, [i]) for i in invoices if i.open_balance == payment.amount]
    near = [allocate_named_first(payment.amount, i, ()) for i in close_below(payment.amount, invoices, settings)]
    oldest_first = allocate(payment.amount, invoices) if invoices else None
    singles = [allocate(payment.amount, [i]) for i in invoices[:3]]
    first = reading.settlement if reading is not None else None
    return tuple(s for s in [first, *equal[:2], *near[:3], oldest_first, *singles] if s is not None)


def _settle(payment: IncomingPayment, book: BookView, settings: MatchSettings, invoice: OpenInvoice) -> Settlement:
    """The named invoice first; an overpayment goes on to the customer's other open invoices it clears."""
    if payment.amount <= invoice.open_balance:
        return allocate(payment.amount, [invoice])
    others = book.open_invoices_of(invoice.customer_id, settings.open_invoice_limit)
    return allocate_named_first(payment.amount, invoice, others)


def _amount_words(amount: Decimal, invoice: OpenInvoice) -> tuple[str, ...]:
    if amount == invoice.open_balance:
        return ("amount equals the open balance",)
    if amount < invoice.open_balance:
        return (f"part payment, {format_kes(invoice.open_balance - amount)} still open",)
    return (f"overpaid by {format_kes(amount - invoice.open_balance)}",)


def _auto(settlement: Settlement, confidence: int, reasons: Sequence[str]) -> Decision:
    return Decision(DecisionKind.AUTO, settlement, (), confidence, tuple(reasons))


def _suggest(
    payment: IncomingPayment,
    book: BookView,
    settings: MatchSettings,
    options: Sequence[Settlement],
    reasons: Sequence[str],
) -> Decision:
    """Best-first suggestions without repeats, topped up with invoices whose balance equals the amount."""
    unique: dict[frozenset[str], Settlement] = {}
    for option in [*options, *_amount_only(payment, book, settings)]:
        if option.allocations:
            unique.setdefault(option.invoice_numbers(), option)
    picked = tuple(unique.values())[: settings.suggestion_count]
    if not picked:
        return Decision(DecisionKind.NONE, None, (), 0, (*reasons, "nothing on the book fits"))
    return Decision(DecisionKind.SUGGEST, None, picked, 50 if options else 30, tuple(reasons))


def _amount_only(payment: IncomingPayment, book: BookView, settings: MatchSettings) -> list[Settlement]:
    """Invoices whose open balance equals the amount, closest due date first (Xero's order); then
    invoices the amount pays exactly half of (instalments are common)."""
    day = payment.paid_at.date()
    ranked: list[OpenInvoice] = []
    for balance in (payment.amount, payment.amount * 2):
        found = book.open_invoices_with_balance(balance, settings.candidate_limit)
        ranked += sorted(found, key=lambda i: (abs((i.due - day).days), i.age_key))
    return [allocate(payment.amount, [i]) for i in ranked]


def match_to_invoice(payment: IncomingPayment, book: BookView, invoice: OpenInvoice, reason: str,
                     settings: MatchSettings = DEFAULT_SETTINGS) -> Decision:
    """A payment whose invoice is known from how it was asked for (an STK push Hesabu sent for it): applied to
    that invoice, never re-guessed; an overpayment goes on as `_settle` does."""
    settlement = _settle(payment, book, settings, invoice)
    return _auto(settlement, 100, (reason, *_amount_words(payment.amount, invoice)))
