"""Quick indexed questions about the book asked on the validation path."""

from __future__ import annotations

from sqlalchemy import Engine, or_, select
from sqlmodel import Session

from bot.ledger.references import reference_key
from bot.storage.tables import CustomerRow, InvoiceRow


def reference_is_known(engine: Engine, business_id: int, reference: str) -> bool:
    """Does the account number typed name an open invoice or a customer's account code?"""
    key = reference_key(reference)  # the same key the book indexes invoices and account codes by
    if not key:
        return False
    with Session(engine) as session:
        invoice = session.execute(select(InvoiceRow.id).where(
            InvoiceRow.business_id == business_id, InvoiceRow.number_key == key,
            or_(InvoiceRow.status == "open", InvoiceRow.status == "partial")).limit(1)).first()
        if invoice is not None:
            return True
        customer = session.execute(select(CustomerRow.id).where(
            CustomerRow.business_id == business_id, CustomerRow.account_key == key).limit(1)).first()
        return customer is not None
