"""Matching a stored payment, after the acknowledgement: claim it, decide, apply an auto match, record the
decision and its reasons, and queue one alert in the outbox. Runs once per payment however many server
processes share the database (see `claim_payment`)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.bookkeeping.payments import incoming_payment, match_settings
from bot.ledger.matching import Decision, DecisionKind, MatchSettings, match_payment, match_to_invoice
from bot.ledger.replay import apply_changes
from bot.storage.book import SqlBook
from bot.storage.db import Session
from bot.storage.decisions import StoredDecision, record_decision
from bot.storage.outbox import OutboxKind, queue_message
from bot.storage.payments import claim_payment, record_settlement, settlement_to_json, unprocessed_payment_ids
from bot.storage.stk_pushes import push_paid_by
from bot.storage.tables import BusinessRow, InvoiceRow, PaymentRow

ALERT = OutboxKind.PAYMENT_ALERT
_STATUS = {DecisionKind.AUTO: "matched", DecisionKind.SUGGEST: "suggested", DecisionKind.NONE: "unmatched"}


@dataclass(frozen=True, slots=True)
class Processed:
    payment_id: int
    business_id: int
    trans_id: str
    decision: Decision
    status: str


def process_payment(session: Session, payment_id: int, now: datetime) -> Processed | None:
    """Match one payment. None when there is nothing to do: already processed, or being processed by
    another worker right now. Never commits."""
    payment = claim_payment(session, payment_id)
    if payment is None:
        return None
    business = session.get(BusinessRow, payment.business_id)
    book = SqlBook(session, payment.business_id)
    decision = _decide(session, payment, book, match_settings(business))
    if decision.settlement is not None:
        book.apply(apply_changes(decision.settlement))
    payment.processed_at = now
    status = _STATUS[decision.kind]
    record_settlement(session, payment, decision.settlement, status)
    record_decision(session, payment, StoredDecision(decision.kind.value, decision.confidence, decision.reasons,
                                                     decision.settlement, decision.suggestions), now)
    if payment.source != "statement":  # an import recovers many (often old) payments at once: its report says so
        queue_message(session, payment.business_id, ALERT, _alert_key(payment), alert_payload(payment, decision),
                      now)
    return Processed(payment.id or 0, payment.business_id, payment.trans_id, decision, status)


def _alert_key(payment: PaymentRow) -> str:
    """One alert per matching run: a payment matched again because a later source brought its reference
    (bot.storage.sightings) has more sources than when it was first matched, so it gets its own alert."""
    sources = payment.sources or payment.source
    return f"{ALERT}:{payment.id}" if "," not in sources else f"{ALERT}:{payment.id}:{sources}"


def _decide(session: Session, payment: PaymentRow, book: SqlBook, settings: MatchSettings) -> Decision:
    """A payment that answers an STK push Hesabu sent for an invoice pays that invoice (never re-guessed);
    everything else goes through the matching ladder."""
    incoming = incoming_payment(payment)
    seen_by_stk = "stk" in (payment.sources or payment.source).split(",")
    push = push_paid_by(session, payment.business_id, payment.trans_id) if seen_by_stk else None
    invoice = session.get(InvoiceRow, push.invoice_id) if push is not None and push.invoice_id else None
    if invoice is not None and invoice.business_id == payment.business_id:
        opened = book.invoice_by_reference_key(invoice.number_key)
        if opened is not None:
            return match_to_invoice(incoming, book, opened, f"paid by the push for {invoice.number}", settings)
    return match_payment(incoming, book, settings)


def alert_payload(payment: PaymentRow, decision: Decision) -> dict[str, object]:
    """What the chat needs to tell the owner, without a phone number: the chat layer renders it."""
    return {
        "payment_id": payment.id, "trans_id": payment.trans_id, "amount": f"{payment.amount:.2f}",
        "paid_at": payment.paid_at.isoformat(), "payer_name": payment.payer_name, "reference": payment.reference,
        "decision": decision.kind.value, "confidence": decision.confidence, "reasons": list(decision.reasons),
        "applied": settlement_to_json(decision.settlement),
        "suggestions": [settlement_to_json(s) for s in decision.suggestions],
        # found by Daraja's Pull Transactions: its own notification never came
        "recovered": payment.source == "pull",
    }


def claim_unprocessed(session: Session, limit: int, now: datetime,
                      min_age: timedelta = timedelta(seconds=5)) -> list[int]:
    """Ids of payments whose matching never ran and that are older than `min_age` (younger ones are still
    with the live worker). Rows another process has locked are skipped; each id is then processed in its
    own transaction by `process_payment`, whose claim makes a second attempt a no-op."""
    return unprocessed_payment_ids(session, now - min_age, limit)
