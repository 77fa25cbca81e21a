"""What the owner hears about payment sources: a later source that disagrees with a stored payment, a reversal,
and the callback health alarm."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any
from zoneinfo import ZoneInfo

from bot.assistant.catalogue import Lang, ntr, tr
from bot.assistant.messages import Reply
from bot.ledger.money import format_kes
from bot.storage.businesses import business_language
from bot.storage.db import Session
from bot.storage.tables import BusinessRow, OutboxRow, PaymentRow

SOURCE_NAMES = {"c2b": "the M-Pesa confirmation", "stk": "M-Pesa Express", "pull": "Pull Transactions",
                "sms": "a forwarded SMS", "statement": "the statement", "manual": "a manual entry"}


def source_name(source: str) -> str:
    return SOURCE_NAMES.get(source, source)


def _money(value: object) -> str:
    try:
        return format_kes(Decimal(str(value)))
    except InvalidOperation:
        return str(value)


def render_conflict(session: Session, outbox: OutboxRow, p: Mapping[str, Any]) -> Reply:
    payment = session.get(PaymentRow, int(p["payment_id"]))
    stored = _money(payment.amount) if payment is not None and payment.business_id == outbox.business_id else "?"
    shortcode = f" to {p['shortcode']}" if p.get("shortcode") else ""
    return Reply(
        f"Check payment {p['trans_id']}: {source_name(str(p.get('source')))} says {_money(p.get('amount'))}"
        f"{shortcode}, but the book has {stored}.\n"
        "The book was not changed and nothing was counted twice. Compare with your M-PESA statement; "
        "if the message is not from M-PESA, it may be fake.")


def _lang(session: Session, business_id: int) -> Lang:
    business = session.get(BusinessRow, business_id)
    return business_language(business.settings_json if business is not None else None)


def render_silent_source(session: Session, outbox: OutboxRow, p: Mapping[str, Any]) -> Reply:
    business = session.get(BusinessRow, outbox.business_id)
    zone = ZoneInfo(business.timezone if business is not None else "Africa/Nairobi")
    last = datetime.fromisoformat(str(p["last_callback_at"])).astimezone(zone)
    return Reply(ntr(_lang(session, outbox.business_id),
                     "No M-Pesa callback has reached Hesabu since {when}, but one payment arrived another way (SMS, "
                     "Pull or a statement). Check that your server is reachable at its public address, that the C2B "
                     "URLs are registered (hesabu daraja register-urls) and that your Daraja app is live.",
                     "No M-Pesa callback has reached Hesabu since {when}, but {n} payments arrived another way (SMS, "
                     "Pull or a statement). Check that your server is reachable at its public address, that the C2B "
                     "URLs are registered (hesabu daraja register-urls) and that your Daraja app is live.",
                     int(p["found"]), when=f"{last:%d/%m %H:%M}"))


def render_reversal(session: Session, outbox: OutboxRow, p: Mapping[str, Any]) -> Reply:
    lang = _lang(session, outbox.business_id)
    reopened = ", ".join(str(n) for n in p.get("reopened") or [])
    text = tr(lang, "Payment {code} ({amount}) was reversed: it no longer counts.", code=p["trans_id"],
              amount=_money(p.get("amount")))
    if reopened:
        text += " " + tr(lang, "Open again: {invoices}.", invoices=reopened)
    return Reply(text)

