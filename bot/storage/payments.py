"""Reading payments back: exports and lookups. Always filtered by business."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session, col, select

from bot.storage.tables import PaymentRow


def payments_between(session: Session, business_id: int, start: datetime | None,
                     end: datetime | None) -> list[PaymentRow]:
    """Payments with `start <= paid_at < end` (half-open), oldest first."""
    query = select(PaymentRow).where(PaymentRow.business_id == business_id)
    if start is not None:
        query = query.where(PaymentRow.paid_at >= start)
    if end is not None:
        query = query.where(PaymentRow.paid_at < end)
    return list(session.exec(query.order_by(col(PaymentRow.paid_at), col(PaymentRow.id))))


def payments_needing_owner(session: Session, business_id: int, limit: int = 10) -> list[PaymentRow]:
    query = (select(PaymentRow).where(PaymentRow.business_id == business_id,
                                      col(PaymentRow.status).in_(("unmatched", "suggested")))
             .order_by(col(PaymentRow.paid_at).desc()).limit(limit))
    return list(session.exec(query))
