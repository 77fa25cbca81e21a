"""What Safaricom's own checks found, in the owner's words: the last Pull Transactions run per shortcode (for
/settings and the daily summary), a reversal (`payment.reversed`), a Transaction Status answer (`status.result`)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from bot.assistant.messages import Reply
from bot.assistant.sources import render_reversal
from bot.assistant.wording import short_name
from bot.ledger.money import format_kes
from bot.storage.businesses import business_language
from bot.storage.daraja import last_pulls_of, request_of
from bot.storage.db import Session
from bot.storage.stk_pushes import invoice_by_number
from bot.storage.tables import BusinessRow, CustomerRow, OutboxRow


def pull_lines(session: Session, business_id: int, tz: ZoneInfo, now: datetime | None = None) -> list[str]:
    """One line per shortcode with Daraja credentials; nothing for a business without them."""
    lines = []
    for shortcode, at, counts in last_pulls_of(session, business_id):
        if at is None:
            lines.append(f"M-Pesa check (Pull) {shortcode}: not run yet")
            continue
        local = at.astimezone(tz)
        when = local.strftime("%H:%M") if now is None or local.date() == now.astimezone(tz).date() \
            else local.strftime("%d %b %H:%M")
        if counts.get("problem"):
            lines.append(f"M-Pesa check (Pull) {shortcode} at {when} failed: {str(counts['problem'])[:80]}")
            continue
        found = f"{counts.get('recovered', 0)} recovered, {counts.get('confirmed', 0)} confirmed"
        conflicts = int(counts.get("conflicts", 0) or 0)
        lines.append(f"M-Pesa check (Pull) {shortcode} at {when}: {found}"
                     + (f", {conflicts} disagreeing" if conflicts else ""))
    return lines


def render_reversed(session: Session, outbox: OutboxRow, payload: Mapping[str, Any]) -> Reply:
    """`Mary W.'s KES 2,500.00 for INV-0042 was reversed; INV-0042 is open again.` A business reading another
    language gets the catalogue's words (bot.assistant.sources)."""
    business = session.get(BusinessRow, outbox.business_id)
    if business_language(business.settings_json if business is not None else None) != "en":
        return render_reversal(session, outbox, payload)
    amount = format_kes(Decimal(str(payload["amount"])))
    reopened = [str(n) for n in payload.get("reopened") or []]
    who = _customer_of(session, outbox.business_id, reopened[0]) if reopened else ""
    owner = f"{who}'s {amount}" if who else f"{amount} ({payload['trans_id']})"
    if not reopened:
        return Reply(f"M-Pesa reversed {owner}: it is no longer counted as received.")
    numbers = ", ".join(reopened)
    verb = "is" if len(reopened) == 1 else "are"
    return Reply(f"{owner} for {numbers} was reversed; {numbers} {verb} open again.")


def _customer_of(session: Session, business_id: int, invoice_number: str) -> str:
    invoice = invoice_by_number(session, business_id, invoice_number)
    customer = session.get(CustomerRow, invoice.customer_id) if invoice is not None and invoice.customer_id else None
    return short_name(customer.name) if customer is not None and customer.business_id == business_id else ""


def render_status(session: Session, outbox: OutboxRow, payload: Mapping[str, Any]) -> Reply | None:
    request = request_of(session, int(payload["request_id"]))
    if request is None or request.business_id != outbox.business_id:
        return None
    answer = json.loads(request.result or "{}")
    receipt = request.receipt
    if answer.get("result_code") != "0":
        return Reply(f"M-Pesa does not confirm {receipt}: {answer.get('description') or 'no such receipt'}.")
    if answer.get("on_book") == "reversed":
        return Reply(f"M-Pesa says {receipt} was reversed; the book now shows it reversed.")
    amount = format_kes(Decimal(answer["amount"])) if answer.get("amount") else "an amount"
    payer = f" from {short_name(answer.get('payer'))}" if answer.get("payer") else ""
    tail = {"confirmed": " It matches the book.", "differs": " The book has another amount for it: check it.",
            "unknown": " It is not on the book yet."}.get(answer.get("on_book", ""), "")
    return Reply(f"M-Pesa confirms {receipt}: {amount}{payer}, {answer.get('status') or 'completed'}.{tail}")

