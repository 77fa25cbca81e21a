"""Outbox messages as the person reads them: one renderer per outbox kind, in one explicit table.

Rendering happens at delivery time, so a partial payment says what is still due when the owner reads it.
A kind this version cannot render, or a payload it cannot read, is logged and answered None (the outbox marks
the delivery failed) rather than raised.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import replace
from decimal import InvalidOperation
from typing import Any

from bot.assistant.alerts import render_flagged_callback, render_payment_alert
from bot.assistant.daraja_checks import render_reversed, render_status
from bot.assistant.messages import Reply
from bot.assistant.requests import render_request_update
from bot.assistant.sources import render_conflict, render_silent_source
from bot.assistant.summaries import render_scheduled
from bot.logs import get_logger
from bot.storage.db import Session
from bot.storage.outbox import OutboxKind, outbox_payload
from bot.storage.tables import OutboxRow

log = get_logger("renderers")
Renderer = Callable[[Session, OutboxRow, Mapping[str, Any]], "Reply | None"]
RENDERERS: dict[str, Renderer] = {
    OutboxKind.PAYMENT_ALERT: render_payment_alert,
    OutboxKind.CALLBACK_FLAGGED: render_flagged_callback,
    OutboxKind.PAYMENT_CONFLICT: render_conflict,
    OutboxKind.SUMMARY_DAILY: render_scheduled,
    OutboxKind.DIGEST_MORNING: render_scheduled,
    OutboxKind.CALLBACKS_SILENT: render_silent_source,
    OutboxKind.PAYMENT_REVERSED: render_reversed,  # names the customer; Swahili through sources.render_reversal
    OutboxKind.REQUEST_UPDATE: render_request_update,
    OutboxKind.STATUS_RESULT: render_status,
}


def render_outbox_message(session: Session, outbox: OutboxRow) -> Reply | None:
    """The Reply for one outbox row; None (logged) for a kind or payload this version cannot render."""
    renderer = RENDERERS.get(outbox.kind)
    if renderer is None:
        log.warning("alerts.unknown_kind", outbox_id=outbox.id, kind=outbox.kind)
        return None
    try:
        reply = renderer(session, outbox, outbox_payload(outbox))
        return replace(reply, kind=outbox.kind) if reply is not None else None
    except (KeyError, TypeError, ValueError, InvalidOperation) as exc:
        log.warning("alerts.bad_payload", outbox_id=outbox.id, kind=outbox.kind, error=type(exc).__name__)
        return None
