"""From a forwarded-SMS body to a `CallbackRecord`, like webhooks.intake.records does for Daraja bodies: the forwarder's
shape read (bot.mpesa.forwarders), then the M-PESA message (bot.mpesa.sms). The body is kept exactly as received
whatever became of it; the spool replays it through here too."""

from __future__ import annotations

from datetime import datetime

from bot.mpesa.forwarders import Forwarded, read_forwarded
from bot.mpesa.sms import SmsOutgoing, SmsPayment, SmsReversal, SmsUnread, is_mpesa_sender, read_sms
from bot.storage.businesses import CallbackTarget
from bot.storage.callbacks import CallbackRecord

SMS_SOURCE = "sms"


def build_sms_record(target: CallbackTarget, body: bytes, remote_addr: str, received_at: datetime) -> CallbackRecord:
    def record(**parsed: object) -> CallbackRecord:
        return CallbackRecord(source=SMS_SOURCE, business_id=target.business_id, body=body, remote_addr=remote_addr,
                              received_at=received_at, **parsed)  # type: ignore[arg-type]

    try:
        forwarded = read_forwarded(body)
        if not isinstance(forwarded, Forwarded):
            return record(problem=f"forwarded SMS: {forwarded.reason}")
        if not is_mpesa_sender(forwarded.sender):
            return record(not_payment=True)  # the route never stores these; a replayed one stays harmless
        reading = read_sms(forwarded.text)
    except Exception as exc:  # noqa: BLE001 - a reader bug must not lose the body: it is journaled as invalid
        return record(problem=f"parser error: {type(exc).__name__}")
    if isinstance(reading, SmsPayment):
        # a till or Pochi SMS does not say which shortcode was paid: the payment has none, and agrees with any
        return record(external_id=reading.receipt, payment=reading.incoming())
    if isinstance(reading, SmsReversal):
        return record(external_id=reading.original, reversal_of=reading.original)
    if isinstance(reading, SmsOutgoing):
        return record(external_id=reading.receipt or None, not_payment=True)
    assert isinstance(reading, SmsUnread)
    if not reading.looks_like_mpesa:
        return record(not_payment=True)  # promotions and notices from the M-PESA sender
    return record(problem=f"M-PESA message not read: {reading.reason}", external_id=reading.receipt)


def is_forwarded_from_mpesa(body: bytes) -> bool | None:
    """True/False for a readable forwarder body; None when the body is not one (it is then journaled and flagged)."""
    forwarded = read_forwarded(body)
    if not isinstance(forwarded, Forwarded):
        return None
    return is_mpesa_sender(forwarded.sender)
