"""What an owner does to a payment from the chat: confirm a suggestion, match by hand, mark it as not an
invoice payment, undo the last action. Each runs inside the caller's one transaction, filters every query
by business (another business's payment or invoice is simply "not found"), records what it did with the
state before and after, and learns the payer from confirmations."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from bot.bookkeeping.payments import incoming_payment
from bot.ledger.allocation import UNAPPLIED, Allocation, Settlement, allocate, allocate_exact
from bot.ledger.book import Customer, OpenInvoice
from bot.ledger.money import ZERO, format_kes
from bot.ledger.references import reference_key
from bot.ledger.replay import BalanceChange, BookChange, CreditChange, confirm
from bot.storage.book import SqlBook
from bot.storage.db import Session
from bot.storage.decisions import decision_of, last_action, record_action
from bot.storage.invoices import touch_invoices
from bot.storage.payments import current_settlement, payment_by_trans_id, payment_of, record_settlement
from bot.storage.tables import CustomerRow, OwnerActionRow, PaymentRow


@dataclass(frozen=True, slots=True)
class ActionResult:
    """ok and what changed in words, or not ok and why not."""

    ok: bool
    message: str
    payment_id: int | None = None
    action_id: int | None = None


def _refuse(message: str) -> ActionResult:
    return ActionResult(False, message)


def confirm_suggestion(session: Session, business_id: int, payment_id: int, choice_index: int,
                       actor: str) -> ActionResult:
    """The owner taps suggestion `choice_index` (0 = the first) of a payment."""
    payment = payment_of(session, business_id, payment_id)
    decision = decision_of(session, business_id, payment_id) if payment is not None else None
    if payment is None or decision is None:
        return _refuse("payment not found")
    if not 0 <= choice_index < len(decision.suggestions):
        return _refuse("that choice is not on offer any more")
    chosen = decision.suggestions[choice_index]
    return _settle_on(session, payment, [(a.invoice_id, None, a.amount) for a in chosen.allocations], "confirm",
                      actor)


def match_by_hand(session: Session, business_id: int, trans_id: str, invoice_numbers: Sequence[str], actor: str,
                  amounts: Sequence[Decimal] | None = None) -> ActionResult:
    """`/match TRANSID INV-0004 [INV-0005…]`: the payment pays these invoices, in this order, each up to
    what is open (or exactly `amounts`); the rest is the credit of the first invoice's customer. The
    invoices may be several customers' (a parent's one payment for two pupils)."""
    payment = payment_by_trans_id(session, business_id, trans_id)
    if payment is None:
        return _refuse(f"payment {trans_id} not found")
    if not invoice_numbers or (amounts is not None and len(amounts) != len(invoice_numbers)):
        return _refuse("name at least one invoice (and one amount per invoice when giving amounts)")
    chosen = [(None, n, amounts[i] if amounts is not None else None) for i, n in enumerate(invoice_numbers)]
    return _settle_on(session, payment, chosen, "match", actor)


def ignore_payment(session: Session, business_id: int, payment_id: int, actor: str) -> ActionResult:
    """Not an invoice payment (a walk-in sale, a transfer): take off whatever the engine applied."""
    payment = payment_of(session, business_id, payment_id)
    if payment is None:
        return _refuse("payment not found")
    return _apply_truth(session, payment, None, "ignore", actor, f"{payment.trans_id} marked as not an invoice")


def undo_last(session: Session, business_id: int, actor: str, now: datetime | None = None) -> ActionResult:
    """Put the book back exactly as it was before the business's last owner action."""
    action = last_action(session, business_id)
    if action is None:
        return _refuse("nothing to undo")
    payment = payment_of(session, business_id, action.payment_id or 0)
    if payment is None:
        return _refuse("payment not found")
    before, after = json.loads(action.before), json.loads(action.after)
    book = SqlBook(session, business_id)
    book.apply(_restoring(before, after))
    book.remove_aliases(after.get("aliases", []))
    restored = [Allocation(i, "", Decimal(a)) for i, a in before["allocations"]]
    state = before["payment"]
    settlement = None
    if state["customer_id"] is not None or restored:
        settlement = Settlement(state["customer_id"], tuple(restored), Decimal(state["credit"]))
    record_settlement(session, payment, settlement, state["status"])
    action.undone_at = now or datetime.now(UTC)
    action.undone_by = actor
    session.add(action)
    session.flush()
    return ActionResult(True, f"undone: {action.summary}", payment.id, action.id)


def _restoring(before: dict[str, Any], after: dict[str, Any]) -> list[BookChange]:
    """Relative changes from `after` back to `before`: exact when nothing else moved those balances since,
    and still right (it never erases another payment's share) when something did."""
    changes: list[BookChange] = []
    for invoice_id, balance in before["invoices"].items():
        delta = Decimal(balance) - Decimal(after["invoices"][invoice_id])
        if delta:
            changes.append(BalanceChange(invoice_id, delta))
    for customer_id, credit in before["credits"].items():
        delta = Decimal(credit) - Decimal(after["credits"][customer_id])
        if delta:
            changes.append(CreditChange(customer_id, delta))
    return changes


# settling --------------------------------------------------------------------------------------------
Choice = tuple[str | None, str | None, Decimal | None]  # (invoice id, or invoice number; amount or None)


def _settle_on(session: Session, payment: PaymentRow, chosen: list[Choice], kind: str, actor: str) -> ActionResult:
    book = SqlBook(session, payment.business_id)
    applied = current_settlement(session, payment)
    invoices: list[OpenInvoice] = []
    for invoice_id, number, _amount in chosen:
        found = book.invoice(invoice_id) if invoice_id is not None else _by_number(book, number or "")
        if found is None:
            return _refuse(f"invoice {number or invoice_id} not found")
        invoices.append(_as_if_unapplied(found, applied))
    if any(i.open_balance <= ZERO for i in invoices):
        return _refuse(f"{', '.join(i.number for i in invoices if i.open_balance <= ZERO)} is already paid")
    if all(amount is not None for _i, _n, amount in chosen):
        shares = [(invoice, amount or ZERO) for invoice, (_i, _n, amount) in zip(invoices, chosen, strict=True)]
        truth = allocate_exact(payment.amount, shares)
        if truth is None:
            return _refuse("those amounts are more than the payment or than what the invoices still owe")
    else:
        truth = allocate(payment.amount, invoices)
    numbers = ", ".join(f"{a.number} {format_kes(a.amount)}" for a in truth.allocations)
    credit = f"; {format_kes(truth.credit)} kept as credit" if truth.credit else ""
    return _apply_truth(session, payment, truth, kind, actor, f"{payment.trans_id} -> {numbers}{credit}")


def _by_number(book: SqlBook, number: str) -> OpenInvoice | None:
    return book.invoice_by_reference_key(reference_key(number)) if reference_key(number) else None


def _as_if_unapplied(invoice: OpenInvoice, applied: Settlement | None) -> OpenInvoice:
    """What is open on the invoice if this payment's current share were taken off first."""
    share = sum((a.amount for a in (applied.allocations if applied else ()) if a.invoice_id == invoice.id), ZERO)
    return dataclasses.replace(invoice, open_balance=invoice.open_balance + share) if share else invoice


def _apply_truth(session: Session, payment: PaymentRow, truth: Settlement | None, kind: str, actor: str,
                 summary: str) -> ActionResult:
    book = SqlBook(session, payment.business_id)
    applied = current_settlement(session, payment)
    before = _snapshot(session, payment, applied, truth)
    confirmation = confirm(incoming_payment(payment), applied, truth or UNAPPLIED, _paid_customers(book, truth))
    if applied is None and truth is None:
        confirmation = dataclasses.replace(confirmation, changes=())
    book.apply(confirmation.changes)
    alias_ids = book.add_aliases(confirmation.aliases)
    record_settlement(session, payment, truth, "ignored" if truth is None else "matched")
    after = _snapshot(session, payment, applied, truth) | {"aliases": alias_ids}
    action = record_action(session, OwnerActionRow(
        business_id=payment.business_id, payment_id=payment.id, kind=kind, actor=actor, summary=summary,
        before=json.dumps(before), after=json.dumps(after), created_at=datetime.now(UTC)))
    return ActionResult(True, summary, payment.id, action.id)


def _paid_customers(book: SqlBook, truth: Settlement | None) -> list[Customer]:
    """Every customer a settlement pays: one payment may pay two pupils' fees (the credit's owner first)."""
    if truth is None:
        return []
    ids = [truth.customer_id] if truth.customer_id else []
    for allocation in truth.allocations:
        invoice = book.invoice(allocation.invoice_id)
        if invoice is not None:
            ids.append(invoice.customer_id)
    found = (book.customer(i) for i in dict.fromkeys(ids))
    return [c for c in found if c is not None]


def _snapshot(session: Session, payment: PaymentRow, *settlements: Settlement | None) -> dict[str, Any]:
    """The part of the book an action can touch: the payment, its allocations, the invoices and credits."""
    invoice_ids = {int(a.invoice_id) for s in settlements if s for a in s.allocations}
    customer_ids = {int(s.customer_id) for s in settlements if s and s.customer_id}
    current = current_settlement(session, payment)
    balances = touch_invoices(session, payment.business_id, list(invoice_ids))
    credits = {}
    for customer_id in sorted(customer_ids):
        row = session.get(CustomerRow, customer_id)
        if row is not None and row.business_id == payment.business_id:
            session.refresh(row)
            credits[str(customer_id)] = str(row.credit)
    return {
        "payment": {"status": payment.status, "credit": str(payment.credit),
                    "customer_id": str(payment.customer_id) if payment.customer_id is not None else None},
        "allocations": [[a.invoice_id, str(a.amount)] for a in (current.allocations if current else ())],
        "invoices": {str(k): str(v) for k, v in balances.items()},
        "credits": credits,
    }
