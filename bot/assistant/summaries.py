"""Summaries and digests as the owner reads them: the figures of a period (aggregated in SQL by
bot.storage.reports), a phone-sized text, a 14-day chart, and the outbox kinds the scheduler queues.

`summary.daily` (payload `{"day": "YYYY-MM-DD"}`) and `digest.morning` (`{"day": ...}`) are rendered when
they are delivered, from the book as it is then, like payment alerts (bot.assistant.renderers).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import date, time, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from bot.assistant import wording
from bot.assistant.catalogue import Lang, ntr, tr
from bot.assistant.charts import daily_chart
from bot.assistant.daraja_checks import pull_lines
from bot.assistant.messages import Choice, Reply
from bot.ledger.money import format_kes
from bot.ledger.summaries import (
    DEFAULT_DIGEST_TIME,
    DEFAULT_SUMMARY_TIME,
    Period,
    SummaryFigures,
    change_text,
    chart_window,
    compare,
    day_bounds,
    fill_days,
    period_bounds,
    read_clock,
    top_payers,
)
from bot.storage.db import Session
from bot.storage.outbox import OutboxKind
from bot.storage.reports import daily_totals, invoice_figures, invoices_due_by, payer_totals, payment_figures
from bot.storage.tables import BusinessRow, OutboxRow

SUMMARY_DAILY = OutboxKind.SUMMARY_DAILY
DIGEST_MORNING = OutboxKind.DIGEST_MORNING
GO_THROUGH = "s:u"  # button data: list the payments that need the owner
SCHEDULE_KEYS = {"summary": ("summary_time", DEFAULT_SUMMARY_TIME), "digest": ("digest_time", DEFAULT_DIGEST_TIME)}


# --- settings ----------------------------------------------------------------------------------------


def schedule_settings(settings_json: str) -> dict[str, Any]:
    try:
        data = json.loads(settings_json or "{}")
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


def scheduled_time(settings_json: str, what: str) -> time | None:
    """When `what` (summary | digest) goes out in the business's local time; None when switched off."""
    key, default = SCHEDULE_KEYS[what]
    value = schedule_settings(settings_json).get(key)
    if value == "off":
        return None
    return (read_clock(value) if isinstance(value, str) else None) or default


def set_scheduled_time(business: BusinessRow, what: str, text: str) -> str | None:
    """Change a schedule from a typed value (`20:30`, `8pm`, `off`); returns the problem, None when done."""
    key, _default = SCHEDULE_KEYS[what]
    value = text.strip().lower()
    if value != "off":
        clock = read_clock(value)
        if clock is None:
            return f"{text!r} is not a time of day; try 20:30, 8pm or off"
        value = clock.strftime("%H:%M")
    data = schedule_settings(business.settings_json)
    data[key] = value
    business.settings_json = json.dumps(data, sort_keys=True)
    return None


# --- figures -----------------------------------------------------------------------------------------


def summary_figures(session: Session, business_id: int, period: Period, tz: ZoneInfo) -> SummaryFigures:
    """Everything a summary shows, in a handful of indexed aggregate queries."""
    start, end = period_bounds(period, tz)
    window = chart_window(period)
    days = [window.start + timedelta(days=i) for i in range(window.days)]
    series = fill_days(window, daily_totals(session, business_id, days, day_bounds(window.start, window.days, tz)))
    partial, overdue, due_today = invoice_figures(session, business_id, period.last_day)
    return SummaryFigures(
        period=period, payments=payment_figures(session, business_id, start, end), partial=partial,
        overdue=overdue, due_today=due_today, top_payers=top_payers(payer_totals(session, business_id, start, end)),
        series=series, comparison=compare(series, period.last_day))


# --- words -------------------------------------------------------------------------------------------


def period_label(period: Period, today: date, lang: Lang = "en") -> str:
    if period.days == 1:
        if period.start == today:
            return tr(lang, "Today, {day}", day=wording.day_text(period.start, today, lang))
        return wording.day_text(period.start, today, lang)
    return f"{wording.day_text(period.start, today, lang)} - {wording.day_text(period.last_day, today, lang)}"


def summary_text(name: str, figures: SummaryFigures, today: date, lang: Lang = "en") -> str:
    p = figures.payments
    lines = [f"{name}: {period_label(figures.period, today, lang)}",
             ntr(lang, "Received {total} in {n} payment", "Received {total} in {n} payments", p.count,
                 total=format_kes(p.total))]
    if p.count:
        lines.append(tr(lang, "Matched automatically: {total} ({count})", total=format_kes(p.auto_total),
                        count=p.auto_count))
    if p.needs_owner_count:
        lines.append(ntr(lang, "Need you: {n} payment, {total}", "Need you: {n} payments, {total}",
                         p.needs_owner_count, total=format_kes(p.needs_owner_total)))
    if figures.partial.count:
        lines.append(ntr(lang, "Paid in part: {n} invoice, {total} still due",
                         "Paid in part: {n} invoices, {total} still due", figures.partial.count,
                         total=format_kes(figures.partial.total)))
    if figures.overdue.count:
        lines.append(ntr(lang, "Overdue: {n} invoice, {total}", "Overdue: {n} invoices, {total}",
                         figures.overdue.count, total=format_kes(figures.overdue.total)))
    if figures.top_payers:
        unknown = tr(lang, "Unknown")
        payers = ", ".join(f"{wording.short_name(t.name) or unknown} {format_kes(t.total)}" for t in figures.top_payers)
        lines.append(tr(lang, "Top: {payers}", payers=payers))
    lines += _comparison_lines(figures, lang)
    return "\n".join(lines)


def _comparison_lines(figures: SummaryFigures, lang: Lang = "en") -> list[str]:
    c = figures.comparison
    if figures.period.days == 1:
        now = figures.payments.total
        return [tr(lang, "vs day before: {change} ({amount})", change=change_text(now, c.previous_day),
                   amount=format_kes(c.previous_day)),
                tr(lang, "7-day average: {amount} ({change})", amount=format_kes(c.average_7),
                   change=change_text(now, c.average_7))]
    per_day = (figures.payments.total / figures.period.days).quantize(Decimal("0.01"))
    return [tr(lang, "Per day: {amount}", amount=format_kes(per_day))]


def _count(n: int, thing: str) -> str:
    return f"{n} {thing}" if n == 1 else f"{n} {thing}s"


def summary_reply(session: Session, business: BusinessRow, period: Period, today: date,
                  *, chart: bool = True, lang: Lang = "en") -> Reply:
    """The summary of `period` with its chart, and a button when payments need the owner."""
    tz = ZoneInfo(business.timezone)
    figures = summary_figures(session, business.id or 0, period, tz)
    choices = (Choice(tr(lang, "Go through them"), GO_THROUGH),) if figures.payments.needs_owner_count else ()
    text = "\n".join([summary_text(business.name, figures, today, lang), *pull_lines(session, business.id or 0, tz)])
    if not chart:
        return Reply(text, choices)
    title = f"{business.name}: last {len(figures.series)} days"
    # the chart is drawn from the figures already read, after the caller's transaction (Reply.later)
    return Reply(text, choices, later=lambda: Reply(text, choices, picture=daily_chart(figures.series, title)))


def digest_reply(session: Session, business: BusinessRow, today: date) -> Reply | None:
    """Invoices due today and overdue; None when there are none (no message is better than an empty one)."""
    _partial, overdue, due_today = invoice_figures(session, business.id or 0, today)
    if not overdue.count and not due_today.count:
        return None
    lines = [f"Good morning. {business.name}, {wording.day_text(today, today)}"]
    if due_today.count:
        lines.append(f"Due today: {_count(due_today.count, 'invoice')}, {format_kes(due_today.total)}")
    if overdue.count:
        lines.append(f"Overdue: {_count(overdue.count, 'invoice')}, {format_kes(overdue.total)}")
    for inv in invoices_due_by(session, business.id or 0, today):
        when = "today" if inv.due == today else wording.day_text(inv.due, today)
        who = wording.short_name(inv.customer)
        lines.append(" ".join(part for part in (inv.number, who, format_kes(inv.open_balance), f"due {when}") if part))
    return Reply("\n".join(lines))


# --- outbox ------------------------------------------------------------------------------------------


def render_scheduled(session: Session, outbox: OutboxRow, payload: Mapping[str, Any]) -> Reply | None:
    """The Reply for a `summary.daily` or `digest.morning` outbox row; None for another kind."""
    business = session.get(BusinessRow, outbox.business_id)
    if business is None or outbox.kind not in (SUMMARY_DAILY, DIGEST_MORNING):
        return None
    day = date.fromisoformat(str(payload["day"]))
    if outbox.kind == SUMMARY_DAILY:
        return summary_reply(session, business, Period.day(day), day)
    return digest_reply(session, business, day)

