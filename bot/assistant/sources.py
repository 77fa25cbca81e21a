"""What the owner hears about payment sources: a later source that disagrees with a stored payment."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

from bot.assistant.alerts import register_renderer
from bot.assistant.messages import Reply
from bot.ledger.money import format_kes
from bot.storage.db import Session
from bot.storage.sightings import CONFLICT_KIND
from bot.storage.tables import OutboxRow, PaymentRow

SOURCE_NAMES = {"c2b": "the M-Pesa confirmation", "stk": "M-Pesa Express", "pull": "Pull Transactions",
                "sms": "a forwarded SMS", "statement": "the statement", "manual": "a manual entry"}


def source_name(source: str) -> str:
    return SOURCE_NAMES.get(source, source)


def _money(value: object) -> str:
    try:
        return format_kes(Decimal(str(value)))
    except InvalidOperation:
        return str(value)


def _conflict(session: Session, outbox: OutboxRow, p: Mapping[str, Any]) -> Reply:
    payment = session.get(PaymentRow, int(p["payment_id"]))
    stored = _money(payment.amount) if payment is not None and payment.business_id == outbox.business_id else "?"
    shortcode = f" to {p['shortcode']}" if p.get("shortcode") else ""
    return Reply(
        f"Check payment {p['trans_id']}: {source_name(str(p.get('source')))} says {_money(p.get('amount'))}"
        f"{shortcode}, but the book has {stored}.\n"
        "The book was not changed and nothing was counted twice. Compare with your M-PESA statement; "
        "if the message is not from M-PESA, it may be fake.")


register_renderer(CONFLICT_KIND, _conflict)
