"""Asking a customer to pay by STK push ("ask Mary to pay INV-0042"), and following each push to its end.

`request_payment` runs in the chat's unit of work: it checks the invoice, the phone and that no push is open
for them, and queues the push. `send_queued` (the `stk.requests` job) claims queued pushes, commits the claim,
then calls Daraja with no transaction open, and records what Daraja said. `check_pending` asks Daraja (STK
query, with back-off) about pushes whose callback has not come: 4999 and 500.001.1001 mean "ask again"
(reference §3.5), anything else ends the push. Results are told to the person who asked (`request.update`).
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import ROUND_FLOOR, Decimal

from bot.bookkeeping.daraja_gateway import DarajaGateway
from bot.ledger.phones import mask_phone, normalise_phone
from bot.ledger.references import reference_key
from bot.mpesa.daraja_errors import DarajaError, Failure
from bot.mpesa.daraja_models import StkAccepted, StkAnswer, StkPush
from bot.storage.daraja import DarajaCredentials, credential_rows_of, credentials_for
from bot.storage.db import Engine, Session, unit_of_work
from bot.storage.sealing import SealError
from bot.storage.stk_pushes import (
    Requestable,
    claim_due_checks,
    claim_queued,
    overdue_requestables,
    queue_push,
    requestable,
    stale_sending,
    tell_asker,
)
from bot.storage.tables import BusinessRow, StkPushRow

log = logging.getLogger("hesabu.stk_requests")
MAX_PUSH = Decimal("250000")  # Daraja's limit per transaction (docs FAQ)
FIRST_CHECK = timedelta(seconds=90)  # the prompt waits about a minute; the callback usually comes within 30 s
MAX_CHECK_GAP = timedelta(minutes=10)
GIVE_UP_AFTER = 20  # queries; with the back-off about 2.5 hours


@dataclass(frozen=True, slots=True)
class RequestOutcome:
    """`queued` or a refusal `reason`: no_credentials, no_invoice, invoice_paid, no_phone, bad_phone,
    pending, too_small, too_large."""

    reason: str
    invoice: str = ""
    customer: str = ""
    phone_masked: str = ""
    amount: Decimal = Decimal(0)
    push_id: int | None = None

    @property
    def queued(self) -> bool:
        return self.reason == "queued"


def request_payment(session: Session, business_id: int, invoice_ref: str, phone_text: str | None,
                    asked_by: str, now: datetime) -> RequestOutcome:
    """Queue an STK push for the invoice's open balance (whole shillings) to its customer's phone, or the one
    given. Never commits."""
    shortcode = _push_shortcode(session, business_id)
    if shortcode is None:
        return RequestOutcome("no_credentials")
    found = requestable(session, business_id, reference_key(invoice_ref))
    if found is None:
        return RequestOutcome("no_invoice", invoice=invoice_ref.strip().upper()[:20])
    return _queue(session, business_id, shortcode, found, phone_text, asked_by, now)


def overdue_for_request(session: Session, business_id: int, today: date) -> list[Requestable]:
    return overdue_requestables(session, business_id, today)


def request_many(session: Session, business_id: int, invoice_ids: list[int], asked_by: str, today: date,
                 now: datetime) -> list[RequestOutcome]:
    """The bulk form, after the person confirmed: one push per invoice still overdue, to its customer's phone."""
    shortcode = _push_shortcode(session, business_id)
    if shortcode is None:
        return [RequestOutcome("no_credentials")]
    wanted = set(invoice_ids)
    chosen = [r for r in overdue_requestables(session, business_id, today) if r.invoice_id in wanted]
    return [_queue(session, business_id, shortcode, r, None, asked_by, now) for r in chosen]


def _push_shortcode(session: Session, business_id: int) -> str | None:
    rows = credential_rows_of(session, business_id)
    return rows[0].shortcode if rows else None


def _queue(session: Session, business_id: int, shortcode: str, found: Requestable, phone_text: str | None,
           asked_by: str, now: datetime) -> RequestOutcome:
    base = RequestOutcome("", invoice=found.number, customer=found.customer_name)
    phone = normalise_phone(phone_text) if phone_text else (found.phones[0] if found.phones else None)
    if phone is None:
        return _with(base, "bad_phone" if phone_text else "no_phone")
    amount = found.open_balance.to_integral_value(rounding=ROUND_FLOOR)  # Daraja takes whole shillings
    base = _with(base, "", phone_masked=mask_phone(phone), amount=amount)
    if found.open_balance <= 0:
        return _with(base, "invoice_paid")
    if amount < 1:
        return _with(base, "too_small")
    if amount > MAX_PUSH:
        return _with(base, "too_large")
    push = queue_push(session, StkPushRow(business_id=business_id, invoice_id=found.invoice_id, shortcode=shortcode,
                                          phone=phone, amount=amount, account_reference=found.number[:12],
                                          asked_by=asked_by, next_check_at=now, created_at=now))
    if push is None:
        return _with(base, "pending")
    return _with(base, "queued", push_id=push.id)


def _with(outcome: RequestOutcome, reason: str, **changes: object) -> RequestOutcome:
    values = {"reason": reason, "invoice": outcome.invoice, "customer": outcome.customer,
              "phone_masked": outcome.phone_masked, "amount": outcome.amount, "push_id": outcome.push_id}
    values.update(changes)
    return RequestOutcome(**values)  # type: ignore[arg-type]


# --- the job: sending and following pushes --------------------------------------------------------------


async def send_queued(engine: Engine, gateway: DarajaGateway, now: datetime) -> int:
    """Send every queued push once. Returns how many were claimed. Database work runs in threads."""
    claimed = await asyncio.to_thread(_claim_queued, engine, now)
    for push_id, shortcode in claimed:
        prepared = await asyncio.to_thread(_prepare, engine, gateway, push_id, shortcode)
        if prepared is None:
            continue
        credentials, request, passkey = prepared
        if credentials is None:
            answer: StkAccepted | DarajaError = DarajaError(Failure.AUTH, "", "no readable Daraja credentials")
        else:
            answer = await gateway.client(credentials).stk_push(gateway.app(credentials), request, passkey, now)
        await asyncio.to_thread(_record_answer, engine, push_id, answer, now)
    return len(claimed)


def _claim_queued(engine: Engine, now: datetime) -> list[tuple[int, str]]:
    with unit_of_work(engine) as session:
        claimed = [(p.id or 0, p.shortcode) for p in claim_queued(session, now)]
        for doubtful in stale_sending(session, now - timedelta(minutes=5)):
            tell_asker(session.connection(), doubtful.business_id, doubtful.id or 0, doubtful.asked_by,
                       "in_doubt", now)
    return claimed


def _prepare(engine: Engine, gateway: DarajaGateway, push_id: int,
             shortcode: str) -> tuple[DarajaCredentials | None, StkPush, str] | None:
    with unit_of_work(engine) as session:
        push = session.get(StkPushRow, push_id)
        business = session.get(BusinessRow, push.business_id) if push is not None else None
        if push is None or business is None:
            return None
        try:
            credentials = credentials_for(session, gateway.keyring, shortcode)
        except SealError:
            credentials = None
        request = StkPush(shortcode, shortcode, business.kind == "till", int(push.amount), push.phone,
                          gateway.urls(business.callback_token)["stk_callback"], push.account_reference,
                          f"Pay {push.account_reference}"[:13])
        return credentials, request, credentials.passkey if credentials else ""


def _record_answer(engine: Engine, push_id: int, answer: StkAccepted | DarajaError, now: datetime) -> None:
    with unit_of_work(engine) as session:
        push = session.get(StkPushRow, push_id)
        if push is None or push.status != "sending":
            return  # its callback came first (a very fast customer): the intake already closed it
        if isinstance(answer, StkAccepted):
            push.status, push.checkout_request_id = "pending", answer.checkout_request_id
            push.merchant_request_id, push.next_check_at = answer.merchant_request_id, now + FIRST_CHECK
            event = "sent"
        elif answer.failure is Failure.IN_DOUBT:
            push.status, push.error, event = "in_doubt", str(answer)[:300], "in_doubt"
        else:
            push.status, push.error, push.resolved_at, event = "refused", str(answer)[:300], now, "refused"
        session.add(push)
        session.flush()
        log.info("stk.push push_id=%s status=%s", push.id, push.status)
        tell_asker(session.connection(), push.business_id, push.id or 0, push.asked_by, event, now)


async def check_pending(engine: Engine, gateway: DarajaGateway, now: datetime) -> int:
    """Query Daraja about pushes whose result has not come. Returns how many were asked about."""
    due = await asyncio.to_thread(_claim_checks, engine, gateway, now)
    for push_id, shortcode, checkout, credentials in due:
        if credentials is None:
            continue
        answer = await gateway.client(credentials).stk_query(gateway.app(credentials), shortcode,
                                                             credentials.passkey, checkout, now)
        await asyncio.to_thread(_after_query, engine, push_id, answer, now)
    return len(due)


def _claim_checks(engine: Engine, gateway: DarajaGateway,
                  now: datetime) -> list[tuple[int, str, str, DarajaCredentials | None]]:
    with unit_of_work(engine) as session:
        due = [(p.id or 0, p.shortcode, p.checkout_request_id or "")
               for p in claim_due_checks(session, now, now + MAX_CHECK_GAP)]
        out = []
        for push_id, shortcode, checkout in due:
            try:
                credentials = credentials_for(session, gateway.keyring, shortcode)
            except SealError:
                credentials = None
            out.append((push_id, shortcode, checkout, credentials))
        return out


def _after_query(engine: Engine, push_id: int, answer: StkAnswer | DarajaError, now: datetime) -> None:
    with unit_of_work(engine) as session:
        push = session.get(StkPushRow, push_id)
        if push is None or push.status != "pending":
            return  # the callback came while we asked
        push.queries += 1
        if isinstance(answer, StkAnswer) and not answer.pending:
            _end_by_query(session, push, answer, now)
        elif push.queries >= GIVE_UP_AFTER:
            push.status, push.resolved_at, push.error = "in_doubt", now, "no final answer from Daraja"
            session.add(push)
            tell_asker(session.connection(), push.business_id, push.id or 0, push.asked_by, "in_doubt", now)
        else:  # 4999 or 500.001.1001 (or the network): ask again later, less and less often
            push.next_check_at = now + min(FIRST_CHECK * (2 ** min(push.queries, 6)) / 3, MAX_CHECK_GAP)
            session.add(push)


def _end_by_query(session: Session, push: StkPushRow, answer: StkAnswer, now: datetime) -> None:
    """The query carries no receipt: a push paid per the query gets its payment from the callback, Pull or the
    owner's SMS; the asker is told it was paid now."""
    push.result_code, push.result_desc, push.resolved_at = answer.result_code, answer.result_desc[:200], now
    push.status = "paid" if answer.result_code == 0 else "failed"
    session.add(push)
    session.flush()
    tell_asker(session.connection(), push.business_id, push.id or 0, push.asked_by,
               "paid_by_query" if answer.result_code == 0 else "failed", now)
