"""A payment as the ledger sees it: what M-Pesa told us, in exact values, whatever the channel."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from enum import StrEnum

from bot.ledger.phones import PayerPhone


class PaymentSource(StrEnum):
    C2B = "c2b"
    STK = "stk"
    PULL = "pull"
    SMS = "sms"
    STATEMENT = "statement"
    MANUAL = "manual"


class PaymentStatus(StrEnum):
    UNMATCHED = "unmatched"
    SUGGESTED = "suggested"
    MATCHED = "matched"
    IGNORED = "ignored"
    REVERSED = "reversed"


@dataclass(frozen=True, slots=True)
class IncomingPayment:
    """One M-Pesa receipt. `trans_id` is the receipt code: TransID (C2B) = MpesaReceiptNumber (STK)."""

    trans_id: str
    amount: Decimal
    paid_at: datetime  # aware, UTC
    shortcode: str
    reference: str  # BillRefNumber as typed, stripped; "" for tills and STK
    payer_name: str  # first, middle and last names joined; may be ""
    phone: PayerPhone
    source: PaymentSource
    invoice_number: str = ""  # Daraja's InvoiceNumber, usually empty
