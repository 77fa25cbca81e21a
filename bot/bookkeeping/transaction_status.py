"""Is this receipt real? Daraja's Transaction Status, for a business with an initiator.

`ask_status` sends the query (no transaction open) and records the request; Daraja answers later, at
`POST /daraja/{token}/result`, where `apply_result` (in the unit of work that journaled the body) closes the
request and acts on what it says: a receipt the book has with the same amount is confirmed by Safaricom; a
reversed one is reversed on the book (bot.bookkeeping.reversals); a person who asked in chat is told.
`/verify` (payment sources) calls `ask_status` when the book does not know a code.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass
from datetime import datetime

from bot.bookkeeping.daraja_gateway import DarajaGateway, daraja_target
from bot.bookkeeping.reversals import reverse_payment
from bot.mpesa.daraja_errors import DarajaError
from bot.mpesa.daraja_results import AsyncResult
from bot.mpesa.fields import FieldError, read_receipt
from bot.storage.daraja import DarajaCredentials, add_request, request_answered, request_of
from bot.storage.db import Engine, Session, unit_of_work
from bot.storage.outbox import OutboxKind, queue_message
from bot.storage.payments import confirm_payments, payment_by_trans_id
from bot.storage.tables import DarajaRequestRow

STATUS_RESULT = OutboxKind.STATUS_RESULT  # told to the person who asked in chat (payload `to`)


@dataclass(frozen=True, slots=True)
class StatusAsked:
    request_id: int | None = None
    problem: str = ""
    error: DarajaError | None = None


@dataclass(frozen=True, slots=True)
class StatusAnswer:
    """What Daraja said about a receipt, once its result came."""

    receipt: str
    done: bool
    result_code: str = ""
    description: str = ""
    status: str = ""  # Completed | Reversed (UNCONFIRMED wording) | ...
    amount: str = ""
    payer: str = ""
    finalised_at: str = ""
    on_book: str = ""  # confirmed | reversed | unknown | differs | ""


async def ask_status(engine: Engine, gateway: DarajaGateway, shortcode: str, receipt: str, asked_by: str,
                     now: datetime) -> StatusAsked:
    try:
        code = read_receipt(receipt, "receipt")
    except FieldError:
        return StatusAsked(problem=f"{receipt[:20]!r} is not an M-Pesa receipt code")
    target = await asyncio.to_thread(_target, engine, gateway, shortcode)
    if isinstance(target, str):
        return StatusAsked(problem=target)
    business_id, token, credentials = target
    answer = await gateway.client(credentials).transaction_status(
        gateway.app(credentials), credentials.initiator_name, credentials.security_credential, shortcode, code,
        gateway.urls(token)["result"])
    if isinstance(answer, DarajaError):
        return StatusAsked(error=answer)
    row = DarajaRequestRow(business_id=business_id, kind="status", receipt=code,
                           conversation_id=answer.conversation_id,
                           originator_conversation_id=answer.originator_conversation_id, asked_by=asked_by,
                           created_at=now)
    return StatusAsked(await asyncio.to_thread(_add, engine, row))


def _add(engine: Engine, row: DarajaRequestRow) -> int:
    with unit_of_work(engine) as session:
        return add_request(session, row).id or 0


def _target(engine: Engine, gateway: DarajaGateway, shortcode: str) -> tuple[int, str, DarajaCredentials] | str:
    target = daraja_target(engine, gateway, shortcode)
    if isinstance(target, str):
        return target
    if not target.credentials.has_initiator:
        return (f"Transaction Status needs an initiator: set initiator_name and security_credential with "
                f"'hesabu daraja set {shortcode}' (an API operator made on the M-PESA org portal)")
    return target.business_id, target.token, target.credentials


def apply_result(session: Session, business_id: int, result: AsyncResult, now: datetime) -> StatusAnswer | None:
    """Close the request this result answers and act on it. None when it answers nothing Hesabu asked
    (kept in the journal only). Never commits."""
    request = request_answered(session, business_id, result.conversation_id, result.originator_conversation_id)
    if request is None or request.status == "done":
        return None
    on_book = _on_book(session, business_id, request.receipt, result, now)
    answer = StatusAnswer(request.receipt, True, result.result_code, result.result_desc, result.status,
                          f"{result.amount:.2f}" if result.amount is not None else "", result.payer,
                          result.finalised_at.isoformat() if result.finalised_at else "", on_book)
    request.status, request.result_code, request.resolved_at = "done", result.result_code, now
    request.result = json.dumps(_fields(answer))
    session.add(request)
    if ":" in request.asked_by and not request.asked_by.startswith("cli"):
        queue_message(session, business_id, STATUS_RESULT, f"{STATUS_RESULT}:{request.id}",
                      {"request_id": request.id, "to": request.asked_by}, now)
    return answer


def _on_book(session: Session, business_id: int, receipt: str, result: AsyncResult, now: datetime) -> str:
    payment = payment_by_trans_id(session, business_id, receipt)
    if payment is None:
        return "unknown"
    if result.ok and "revers" in result.status.casefold():
        reverse_payment(session, business_id, receipt, "status", now)
        return "reversed"
    if result.ok and result.status.casefold() == "completed":
        if result.amount is not None and result.amount != payment.amount:
            return "differs"
        confirm_payments(session.connection(), business_id, [receipt], now)
        return "confirmed"
    return ""


def _fields(answer: StatusAnswer) -> dict[str, object]:
    return {k: getattr(answer, k) for k in answer.__dataclass_fields__}


def status_answer(session: Session, request_id: int) -> StatusAnswer | None:
    """The answer as recorded (the CLI waits on this); `done` False while Daraja has not answered."""
    request = request_of(session, request_id)
    if request is None:
        return None
    if request.status != "done":
        return StatusAnswer(request.receipt, False)
    data = json.loads(request.result or "{}")
    return StatusAnswer(**{k: data.get(k, "") for k in StatusAnswer.__dataclass_fields__ if k != "done"},
                        done=True)
