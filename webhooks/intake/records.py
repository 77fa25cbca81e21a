"""From a received Daraja body to a `CallbackRecord`: parse (never raising), check the shortcode belongs to
the token's business, and keep the body exactly as received whatever the parser thought of it."""

from __future__ import annotations

from datetime import datetime

from bot.mpesa.callbacks import C2BNotice, CallbackProblem, StkFailed, StkPaid, parse_c2b, parse_stk
from bot.storage.businesses import CallbackTarget
from bot.storage.callbacks import CallbackRecord, StkResult
from webhooks.intake.sms import SMS_SOURCE, build_sms_record

C2B_SOURCES = ("c2b_validation", "c2b_confirmation")


def build_record(source: str, target: CallbackTarget, body: bytes, remote_addr: str,
                 received_at: datetime) -> CallbackRecord:
    def record(**parsed: object) -> CallbackRecord:
        return CallbackRecord(source=source, business_id=target.business_id, body=body, remote_addr=remote_addr,
                              received_at=received_at, **parsed)  # type: ignore[arg-type]

    if source == SMS_SOURCE:
        return build_sms_record(target, body, remote_addr, received_at)
    try:
        parsed = parse_c2b(body) if source in C2B_SOURCES else parse_stk(body)
    except Exception as exc:  # noqa: BLE001 - a parser bug must not lose the body: it is journaled as invalid
        return record(problem=f"parser error: {type(exc).__name__}")
    if isinstance(parsed, CallbackProblem):
        return record(problem=parsed.reason, external_id=parsed.external_id)
    if isinstance(parsed, C2BNotice):
        payment = parsed.payment
        return record(external_id=payment.trans_id, payment=payment,
                      foreign_shortcode=payment.shortcode not in target.shortcodes)
    stk = StkResult(parsed.checkout_request_id, parsed.merchant_request_id,
                    0 if isinstance(parsed, StkPaid) else parsed.result_code, parsed.result_desc)
    if isinstance(parsed, StkFailed):
        return record(external_id=parsed.checkout_request_id, stk=stk)
    return record(external_id=parsed.payment.trans_id, payment=parsed.payment, stk=stk)
