"""Between stored payment rows and ledger values: the payment, the business's match settings."""

from __future__ import annotations

import json
from dataclasses import fields
from decimal import Decimal, InvalidOperation
from typing import Any

from bot.ledger.evidence import Strength
from bot.ledger.matching import DEFAULT_SETTINGS, MatchSettings
from bot.ledger.payments import IncomingPayment, PaymentSource
from bot.ledger.phones import MsisdnKind, PayerPhone
from bot.storage.tables import BusinessRow, PaymentRow


def incoming_payment(row: PaymentRow) -> IncomingPayment:
    """The ledger's view of a stored payment (the full phone number was never stored, only its hash)."""
    try:
        kind = MsisdnKind(row.msisdn_kind)
    except ValueError:
        kind = MsisdnKind.MISSING
    phone = PayerPhone(kind, sha256=row.phone_sha256, masked_prefix=row.masked_prefix,
                       masked_suffix=row.masked_suffix)
    return IncomingPayment(
        trans_id=row.trans_id, amount=row.amount, paid_at=row.paid_at, shortcode=row.shortcode,
        reference=row.reference, payer_name=row.payer_name, phone=phone, source=PaymentSource(row.source),
        invoice_number=row.invoice_number)


UNPINNED_PRACTICES = ("oldest_first", "ask")  # MatchSettings.unpinned


def set_unpinned_practice(business: BusinessRow, practice: str) -> str | None:
    """`/settings practice ask|oldest`: what to do with a certain customer's payment whose amount pins no
    invoice. None when set, else the problem in words."""
    chosen = {"oldest": "oldest_first", "oldest_first": "oldest_first", "fifo": "oldest_first", "ask": "ask",
              "uliza": "ask", "kongwe": "oldest_first"}.get(practice.strip().lower())
    if chosen is None:
        return f"{practice!r} is not a practice; try oldest or ask"
    try:
        data = json.loads(business.settings_json or "{}")
    except ValueError:
        data = {}
    if not isinstance(data, dict):
        data = {}
    matching = data.get("matching") if isinstance(data.get("matching"), dict) else {}
    data["matching"] = {**matching, "unpinned": chosen}
    business.settings_json = json.dumps(data, sort_keys=True)
    return None


def match_settings(business: BusinessRow | None) -> MatchSettings:
    """`settings_json["matching"]` overrides, each checked; anything unreadable keeps the safe default."""
    if business is None:
        return DEFAULT_SETTINGS
    try:
        raw = json.loads(business.settings_json or "{}").get("matching", {})
    except (ValueError, AttributeError):
        return DEFAULT_SETTINGS
    if not isinstance(raw, dict):
        return DEFAULT_SETTINGS
    values: dict[str, Any] = {}
    for field in fields(MatchSettings):
        if field.name in raw:
            value = _read(getattr(DEFAULT_SETTINGS, field.name), raw[field.name])
            if value is not None:
                values[field.name] = value
    return MatchSettings(**values)


def _read(default: object, value: object) -> object | None:
    try:
        if isinstance(default, Strength):
            return Strength(value) if not isinstance(value, str) else Strength[value.upper()]
        if isinstance(default, Decimal):
            number = Decimal(str(value))
            return number if Decimal(0) <= number <= Decimal(100) else None
        if isinstance(default, str):
            return value if value in UNPINNED_PRACTICES else None
        if isinstance(default, int) and isinstance(value, int) and not isinstance(value, bool):
            return value if 0 < value <= 500 else None
    except (ValueError, KeyError, InvalidOperation):
        return None
    return None
