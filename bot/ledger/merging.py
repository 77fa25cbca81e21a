"""One payment per receipt, whichever source saw it first: the rules for what a later source may change.

The first source to report a receipt creates the payment. A later source either agrees (it confirms the
payment and fills what the first one lacked), repeats what that same source already said, or disagrees on
the amount or the shortcode: then it changes nothing, and the disagreement is shown to the owner. Money is
never merged silently and never counted twice.

| field          | a later source that agrees                         | disagreement                       |
|----------------|----------------------------------------------------|------------------------------------|
| amount         | must be equal                                      | conflict: flagged, nothing changed |
| shortcode      | filled when the payment has none (STK, SMS)        | conflict when both are set         |
| reference      | filled when empty (C2B after STK): matched again   | the more trusted source's is kept  |
|                | if the payment is still unmatched                  | (c2b > pull > statement > sms)     |
| payer name     | filled when empty                                  | the first is kept                  |
| payer phone    | upgraded: missing -> masked -> hash                | the first is kept                  |
| paid at        | the first is kept                                  | noted when over 10 minutes apart   |
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from enum import StrEnum

from bot.ledger.payments import IncomingPayment
from bot.ledger.phones import MsisdnKind

# the order in which a source is trusted for an account reference: what the payer typed, as Daraja sent it,
# beats a statement's A/C column, which beats a reference read out of an SMS
TRUST = {"c2b": 0, "pull": 1, "statement": 2, "sms": 3, "stk": 4, "manual": 5}
_PHONE_RANK = {MsisdnKind.MISSING.value: 0, MsisdnKind.MASKED.value: 1, MsisdnKind.SHA256.value: 2,
               MsisdnKind.PLAIN.value: 2}
TIME_TOLERANCE = timedelta(minutes=10)


class MergeKind(StrEnum):
    CONFIRMED = "confirmed"  # agrees, nothing to add
    FILLED = "filled"  # agrees and added what the payment lacked
    CONFLICT = "conflict"  # disagrees on money or shortcode: flagged, nothing changed
    REPEAT = "repeat"  # the same source said it again


@dataclass(frozen=True, slots=True)
class Known:
    """The stored payment, as far as merging needs it."""

    sources: tuple[str, ...]
    amount: Decimal
    shortcode: str
    reference: str
    payer_name: str
    msisdn_kind: str
    paid_at: datetime
    unmatched: bool  # no allocation and no owner decision yet: a new reference may match it


@dataclass(frozen=True, slots=True)
class Merge:
    kind: MergeKind
    fills: dict[str, object] = field(default_factory=dict)  # payment column -> new value
    conflicts: tuple[str, ...] = ()  # why it disagrees, in words
    notes: tuple[str, ...] = ()  # differences that change nothing
    rematch: bool = False


def merge_sighting(known: Known, incoming: IncomingPayment) -> Merge:
    """What a later report of the same receipt does to the stored payment."""
    source = incoming.source.value
    conflicts = _conflicts(known, incoming)
    if conflicts:
        return Merge(MergeKind.CONFLICT, conflicts=conflicts)
    fills: dict[str, object] = {}
    notes: list[str] = []
    if not known.shortcode and incoming.shortcode:
        fills["shortcode"] = incoming.shortcode
    if incoming.reference and incoming.reference != known.reference:
        if not known.reference or TRUST.get(source, 9) < min((TRUST.get(s, 9) for s in known.sources), default=9):
            fills["reference"] = incoming.reference
        else:
            notes.append(f"{source} gives the reference {incoming.reference!r}; kept {known.reference!r}")
    if incoming.payer_name and not known.payer_name:
        fills["payer_name"] = incoming.payer_name
    if _PHONE_RANK.get(incoming.phone.kind.value, 0) > _PHONE_RANK.get(known.msisdn_kind, 0):
        fills.update(msisdn_kind=incoming.phone.kind.value, phone_sha256=incoming.phone.sha256,
                     masked_prefix=incoming.phone.masked_prefix, masked_suffix=incoming.phone.masked_suffix)
    if incoming.invoice_number and not known.reference and "reference" not in fills:
        fills["invoice_number"] = incoming.invoice_number
    if abs(incoming.paid_at - known.paid_at) > TIME_TOLERANCE:
        notes.append(f"{source} gives another time ({incoming.paid_at.isoformat()}); kept the first")
    repeat = source in known.sources
    if not fills:
        return Merge(MergeKind.REPEAT if repeat else MergeKind.CONFIRMED, notes=tuple(notes))
    return Merge(MergeKind.FILLED, fills, notes=tuple(notes), rematch="reference" in fills and known.unmatched)


def _conflicts(known: Known, incoming: IncomingPayment) -> tuple[str, ...]:
    found = []
    if incoming.amount != known.amount:
        found.append(f"amount {incoming.amount:.2f} from {incoming.source.value}, {known.amount:.2f} stored")
    if incoming.shortcode and known.shortcode and incoming.shortcode != known.shortcode:
        found.append(f"shortcode {incoming.shortcode} from {incoming.source.value}, {known.shortcode} stored")
    return tuple(found)
