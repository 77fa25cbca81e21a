"""The sources check, run by the scheduler (`sources.check`): reversals reported by SMS are applied, and the
callback health alarm tells the owner, once per silence, when SMS, Pull or a statement shows payments but no Daraja
callback has arrived for `callback_alarm_hours` (business settings "sources", default 6)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.bookkeeping.reversals import reverse_payment
from bot.storage.db import Engine, unit_of_work, write_gate
from bot.storage.outbox import OutboxKind, queue_message
from bot.storage.reconciliation import (
    businesses_with_callbacks,
    found_without_callbacks,
    last_callback_at,
    mark_handled,
    pending_reversals,
)

SILENT_KIND = OutboxKind.CALLBACKS_SILENT
DEFAULT_ALARM_HOURS = 6


@dataclass(frozen=True, slots=True)
class Checked:
    reversals: int
    alarms: int


def check_sources(engine: Engine, now: datetime) -> Checked:
    return Checked(apply_sms_reversals(engine, now), raise_callback_alarms(engine, now))


def apply_sms_reversals(engine: Engine, now: datetime) -> int:
    with write_gate(engine), unit_of_work(engine) as session:
        pending = pending_reversals(session)
        for callback_id, business_id, receipt in pending:
            done = reverse_payment(session, business_id, receipt, "sms", now)
            mark_handled(session, callback_id, now, f"reversal: {done.outcome}")
    return len(pending)


def alarm_hours(settings_json: str | None) -> float:
    try:
        value = json.loads(settings_json or "{}").get("sources", {}).get("callback_alarm_hours", DEFAULT_ALARM_HOURS)
    except (ValueError, AttributeError):
        return DEFAULT_ALARM_HOURS
    return float(value) if isinstance(value, int | float) and 0 < value <= 24 * 14 else DEFAULT_ALARM_HOURS


def raise_callback_alarms(engine: Engine, now: datetime) -> int:
    raised = 0
    with write_gate(engine), unit_of_work(engine) as session:
        for business_id, settings_json in businesses_with_callbacks(session):
            last = last_callback_at(session, business_id)
            if last is None:
                continue  # a shop without the API never gets callbacks: nothing is wrong
            hours = alarm_hours(settings_json)
            if now - last < timedelta(hours=hours):
                continue
            found = found_without_callbacks(session, business_id, last)
            if found == 0:
                continue
            payload = {"last_callback_at": last.isoformat(), "found": found, "hours": hours}
            # once per silence: the key is the last callback, so the next silence (after one arrives) tells again
            if queue_message(session, business_id, SILENT_KIND, f"{SILENT_KIND}:{business_id}:{last.isoformat()}",
                             payload, now):
                raised += 1
    return raised
