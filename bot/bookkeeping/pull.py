"""Recovering what callbacks missed: Daraja's Pull Transactions for the last hours, page by page.

Each row is journaled like a callback (source `pull`, the row's JSON as the body) and recorded through the same
intake as every other source (bot.storage.intake): a receipt Hesabu already has is confirmed by Safaricom (or,
if Pull disagrees on the amount, flagged as a conflict, nothing changed); a receipt it never heard of becomes a
payment (source `pull`) that is matched like any other and reported as recovered. Running it twice changes
nothing the second time: the receipt is unique.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta

from bot.bookkeeping.daraja_gateway import DarajaGateway, daraja_target
from bot.ledger.payments import IncomingPayment, PaymentSource
from bot.ledger.phones import read_msisdn
from bot.mpesa.daraja_errors import DarajaError
from bot.mpesa.daraja_models import PullRow
from bot.storage.callbacks import CallbackRecord, Outcome, record_callbacks
from bot.storage.daraja import pull_registered_shortcodes, record_pull
from bot.storage.db import Engine, unit_of_work, write_gate
from bot.storage.payments import confirm_payments, stored_amounts

MAX_PAGES = 50  # Daraja keeps 48 hours; a page holds many rows (size UNCONFIRMED): this bounds a broken offset
MAX_HOURS = 48


@dataclass(frozen=True, slots=True)
class PullReport:
    shortcode: str
    start: str = ""
    end: str = ""
    rows: int = 0
    confirmed: int = 0
    recovered: int = 0
    conflicts: int = 0
    unreadable: int = 0
    pages: int = 0
    problem: str = ""  # our refusal, or Daraja's error in words

    def counts(self) -> dict[str, object]:
        return asdict(self)


async def reconcile_pull(engine: Engine, gateway: DarajaGateway, shortcode: str, hours: float,
                         now: datetime) -> PullReport:
    """Pull `[now - hours, now]` and record every row; new payments wait for the matching sweep."""
    target = await asyncio.to_thread(daraja_target, engine, gateway, shortcode)
    if isinstance(target, str):
        return PullReport(shortcode, problem=target)
    business_id, credentials = target.business_id, target.credentials
    start = now - timedelta(hours=max(0.1, min(hours, MAX_HOURS)))
    report = {"shortcode": shortcode, "start": start.isoformat(), "end": now.isoformat()}
    counts = {"rows": 0, "confirmed": 0, "recovered": 0, "conflicts": 0, "unreadable": 0, "pages": 0}
    client, app = gateway.client(credentials), gateway.app(credentials)
    offset, seen_first = 0, set()
    for _ in range(MAX_PAGES):
        page = await client.pull_query(app, shortcode, start, now, offset)
        if isinstance(page, DarajaError):
            return await asyncio.to_thread(_finish, engine, PullReport(**report, **counts, problem=str(page)), now)
        counts["pages"] += 1
        counts["unreadable"] += page.unreadable
        if not page.rows or page.rows[0].trans_id in seen_first:
            break  # the end, or an offset Daraja ignored (the same page again)
        seen_first.add(page.rows[0].trans_id)
        counts["rows"] += len(page.rows)
        for key, value in (await asyncio.to_thread(_record_page, engine, business_id, shortcode, page.rows,
                                                   now)).items():
            counts[key] += value
        offset += len(page.rows) + page.unreadable
    return await asyncio.to_thread(_finish, engine, PullReport(**report, **counts), now)



def pull_payment(row: PullRow, shortcode: str) -> IncomingPayment:
    return IncomingPayment(trans_id=row.trans_id, amount=row.amount, paid_at=row.paid_at, shortcode=shortcode,
                           reference=row.reference[:100], payer_name="", phone=read_msisdn(row.msisdn_raw),
                           source=PaymentSource.PULL)


def _record_page(engine: Engine, business_id: int, shortcode: str, rows: tuple[PullRow, ...],
                 now: datetime) -> dict[str, int]:
    records = [CallbackRecord(source="pull", business_id=business_id, body=_body(row), remote_addr="daraja-pull",
                              received_at=now, external_id=row.trans_id, payment=pull_payment(row, shortcode))
               for row in rows]
    with write_gate(engine), engine.begin() as conn:
        recorded = record_callbacks(conn, records, now)
        stored = stored_amounts(conn, business_id, [r.trans_id for r in rows])
        agreeing = [r.trans_id for r in rows if stored.get(r.trans_id) == r.amount]
        confirm_payments(conn, business_id, agreeing, now)
    out = {"confirmed": 0, "recovered": 0, "conflicts": 0}
    for row, res in zip(rows, recorded, strict=True):
        if res.outcome is Outcome.STORED:
            out["recovered"] += 1
        elif stored.get(row.trans_id) == row.amount:
            out["confirmed"] += 1
        else:  # Safaricom's amount is not the book's: flagged by the intake, nothing changed
            out["conflicts"] += 1
    return out


def _body(row: PullRow) -> bytes:
    return json.dumps({"transactionId": row.trans_id, "trxDate": row.paid_at.astimezone(UTC).isoformat(),
                       "msisdn": row.msisdn_raw, "transactiontype": row.transaction_type,
                       "billreference": row.reference, "amount": f"{row.amount:.2f}",
                       "organizationname": row.organization}).encode()


def _finish(engine: Engine, report: PullReport, now: datetime) -> PullReport:
    with unit_of_work(engine) as session:
        record_pull(session, report.shortcode, report.counts(), now)
    return report


def pull_shortcodes(engine: Engine) -> list[str]:
    """Every shortcode registered for Pull by Hesabu (the hourly job's list)."""
    with unit_of_work(engine) as session:
        return pull_registered_shortcodes(session)


async def pull_all(engine: Engine, gateway: DarajaGateway, hours: float, now: datetime) -> list[PullReport]:
    """The `daraja.pull` job: every Pull-registered shortcode, one after the other (one tenant's slow Daraja
    answer delays the others' pull, never their callbacks)."""
    return [await reconcile_pull(engine, gateway, code, hours, now)
            for code in await asyncio.to_thread(pull_shortcodes, engine)]
