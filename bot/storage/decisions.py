"""What the engine decided about each payment and what the owner did about it: the match decision and the
owner actions (the undo log). Repositories only: read and flush inside the caller's unit of work, always
filtered by business."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlmodel import Session

from bot.ledger.allocation import Settlement
from bot.storage.payments import settlement_from_json, settlement_to_json
from bot.storage.tables import (
    MatchDecisionRow,
    OwnerActionRow,
    PaymentRow,
)


@dataclass(frozen=True, slots=True)
class StoredDecision:
    kind: str
    confidence: int
    reasons: tuple[str, ...]
    applied: Settlement | None
    suggestions: tuple[Settlement, ...]


def record_decision(session: Session, payment: PaymentRow, decision: StoredDecision, now: datetime) -> None:
    session.add(MatchDecisionRow(
        business_id=payment.business_id, payment_id=payment.id or 0, kind=decision.kind,
        confidence=decision.confidence, reasons=json.dumps(list(decision.reasons)),
        applied=json.dumps(settlement_to_json(decision.applied)),
        suggestions=json.dumps([settlement_to_json(s) for s in decision.suggestions]), created_at=now))
    session.flush()


def decision_of(session: Session, business_id: int, payment_id: int) -> StoredDecision | None:
    row = session.scalars(select(MatchDecisionRow).where(MatchDecisionRow.business_id == business_id,
                                                      MatchDecisionRow.payment_id == payment_id)).first()
    if row is None:
        return None
    suggestions = tuple(s for s in (settlement_from_json(d) for d in json.loads(row.suggestions)) if s is not None)
    return StoredDecision(row.kind, row.confidence, tuple(json.loads(row.reasons)),
                          settlement_from_json(json.loads(row.applied)), suggestions)


# owner actions ---------------------------------------------------------------------------------------
def record_action(session: Session, action: OwnerActionRow) -> OwnerActionRow:
    session.add(action)
    session.flush()
    return action


def last_action(session: Session, business_id: int) -> OwnerActionRow | None:
    query = (select(OwnerActionRow)
             .where(OwnerActionRow.business_id == business_id,
                    OwnerActionRow.undone_at.is_(None))  # type: ignore[union-attr]
             .order_by(OwnerActionRow.id.desc()).limit(1))  # type: ignore[union-attr]
    if _is_postgres(session):
        query = query.with_for_update()
    return session.scalars(query).first()


def _is_postgres(session: Session) -> bool:
    return session.connection().dialect.name == "postgresql"
