"""A `Reading` as the command the conversation's handlers take.

The handlers of the slash grammar (`grammar.CreateInvoice`, `grammar.Summary`, …) serve plain sentences too;
the intents the grammar never had get their own values here.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from bot.assistant.grammar import (
    Chat,
    ChooseBusiness,
    Command,
    CreateInvoice,
    CustomerLookup,
    Export,
    Help,
    ListInvoices,
    Match,
    Settings,
    Start,
    Summary,
    Undo,
    Unmatched,
)
from bot.assistant.reading import Reading
from bot.ledger.phones import normalise_phone


@dataclass(frozen=True, slots=True)
class RecordPayment:
    """Money received outside the M-Pesa callbacks (cash, a personal number, a cheque)."""

    customer: str
    phone: str | None
    amount: Decimal


@dataclass(frozen=True, slots=True)
class VerifyReceipt:
    receipt: str
    amount: Decimal | None


@dataclass(frozen=True, slots=True)
class RequestPayment:
    invoice: str | None  # None with `overdue`: every overdue invoice
    phone: str | None
    overdue: bool = False


@dataclass(frozen=True, slots=True)
class SetLanguage:
    lang: str


@dataclass(frozen=True, slots=True)
class Reconcile:
    pass


Intent = Command | RecordPayment | VerifyReceipt | RequestPayment | SetLanguage | Reconcile


def to_command(reading: Reading) -> Intent:
    """The handler's value for a complete reading (`reading.intent` is not None)."""
    a = reading.args
    intent = reading.intent
    if intent == "invoice":
        customer = a["customer"]
        return CreateInvoice(customer, normalise_phone(customer), Decimal(a["amount"]), a.get("description", ""),
                             a.get("due"), ())
    if intent == "record":
        return RecordPayment(a["customer"], normalise_phone(a["customer"]), Decimal(a["amount"]))
    if intent == "invoices":
        which = a.get("filter", "open")
        return ListInvoices(which if which in ("open", "overdue", "all") else "open")  # type: ignore[arg-type]
    if intent == "match":
        refs = tuple(a.get("invoices", a["invoice"]).split(","))
        return Match(a["receipt"], refs)
    if intent == "summary":
        period = a.get("period", "today")
        if period in ("today", "yesterday", "week", "month"):
            return Summary(period)  # type: ignore[arg-type]
        return Summary("day", date.fromisoformat(period))
    if intent == "customer":
        return CustomerLookup(a["query"], normalise_phone(a["query"]))
    if intent == "export":
        month = a.get("month")
        layout = a.get("layout")
        if month:
            year, number = month.split("-")
            return Export(month=int(number), year=int(year), layout=layout)
        return Export(layout=layout)
    if intent == "settings":
        return Settings(a.get("key"), a.get("value") or None)
    if intent == "start":
        return Start(a.get("code"))
    if intent == "business":
        number = a.get("number", "")
        return ChooseBusiness(int(number) if number.isascii() and number.isdigit() and len(number) <= 6 else None)
    if intent == "verify":
        return VerifyReceipt(a["receipt"], Decimal(a["amount"]) if a.get("amount") else None)
    if intent == "request":
        return RequestPayment(a.get("invoice"), a.get("phone"), overdue=a.get("which") == "overdue")
    if intent == "language":
        return SetLanguage(a["lang"])
    if intent == "reconcile":
        return Reconcile()
    return {"help": Help(), "unmatched": Unmatched(), "undo": Undo()}.get(intent or "", Chat(""))
