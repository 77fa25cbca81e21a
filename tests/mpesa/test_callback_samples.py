"""Golden payloads: every published C2B and STK callback sample reads to the values a person reads in it."""

import hashlib
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest

from bot.ledger.payments import PaymentSource
from bot.ledger.phones import MsisdnKind
from bot.mpesa.callbacks import C2BNotice, StkFailed, StkPaid, parse_c2b, parse_stk

PAYLOADS = Path(__file__).parents[1] / "payloads"


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)


# file -> (TransID, amount, paid_at UTC, shortcode, BillRefNumber, name, msisdn kind, org balance, invoice)
C2B_SAMPLES = {
    "c2b_confirmation_v1_hashed_sandbox_2025.json": (
        "TK60708BHZ", Decimal("1.00"), utc(2025, 11, 6, 20, 2, 12), "600995", "UM001",
        "NICHOLAS JOHN SONGOK", MsisdnKind.SHA256, Decimal("41880264.80"), "ThisInvoice",
    ),
    "c2b_confirmation_v2_masked_doc.json": (
        "RKL51ZDR4F", Decimal("5.00"), utc(2023, 11, 21, 9, 13, 25), "600966", "Sample Transaction",
        "NICHOLAS", MsisdnKind.MASKED, Decimal("25.00"), "",
    ),
    "c2b_validation_2017_sandbox_unmasked.json": (
        "LHG31AA5TX", Decimal("200.00"), utc(2017, 8, 16, 16, 2, 43), "600610", "account",
        "John Doe", MsisdnKind.PLAIN, None, "",
    ),
    "c2b_validation_or_confirmation_registerurl_page_doc.json": (
        "RKTQDM7W6S", Decimal("10.00"), utc(2019, 11, 22, 3, 38, 45), "600638", "invoice008",
        "John Doe", MsisdnKind.MASKED, None, "",
    ),
}

# file -> (receipt, amount, paid_at UTC, last three digits of the phone, CheckoutRequestID)
STK_PAID_SAMPLES = {
    "stk_callback_success_doc.json": (
        "NLJ7RT61SV", Decimal("1.00"), utc(2019, 12, 19, 7, 21, 15), "149", "ws_CO_191220191020363925",
    ),
    "stk_callback_success_2018_balance_without_value.json": (
        "MAO0DO9BYO", Decimal("1.00"), utc(2018, 1, 24, 11, 47, 54), "085", "ws_CO_24012018144725647",
    ),
    "stk_callback_success_2026_no_balance.json": (
        "UABBX3K0J5", Decimal("1.00"), utc(2026, 1, 10, 23, 36, 59), "690", "ws_CO_11012026023640670726542690",
    ),
}

# file -> (ResultCode, ResultDesc as sent)
STK_FAILED_SAMPLES = {
    "stk_callback_cancelled_1032_doc.json": (1032, "Request cancelled by user"),
    "stk_callback_cancelled_1032_2019_prefixed.json": (1032, "[STK_CB - ]Request cancelled by user"),
    "stk_callback_smsc_ack_timeout_1036_2019.json": (1036, "[STK_CB - ]SMSC ACK timeout."),
    "stk_callback_timeout_1037_2021.json": (1037, "DS timeout."),
    "stk_callback_timeout_1037_2024.json": (1037, "DS timeout user cannot be reached"),
    "stk_callback_timeout_1037_2026_sandbox_ids_elided.json": (1037, "No response from user."),
    "stk_callback_wrong_pin_2001_2019.json": (2001, "[MpesaCB - ]The initiator information is invalid."),
}


def read(name: str) -> bytes:
    return (PAYLOADS / name).read_bytes()


def test_every_callback_sample_has_an_expectation():
    callbacks = {p.name for p in PAYLOADS.glob("stk_callback_*.json")}
    c2b_prefixes = ("c2b_validation_2", "c2b_validation_or", "c2b_confirmation_v")  # not the responses or acks
    callbacks |= {p.name for p in PAYLOADS.glob("c2b_*.json") if p.name.startswith(c2b_prefixes)}
    assert callbacks == set(C2B_SAMPLES) | set(STK_PAID_SAMPLES) | set(STK_FAILED_SAMPLES)


@pytest.mark.parametrize("name", sorted(C2B_SAMPLES))
def test_c2b_sample(name):
    trans_id, amount, paid_at, shortcode, reference, payer, kind, balance, invoice = C2B_SAMPLES[name]
    notice = parse_c2b(read(name))
    assert isinstance(notice, C2BNotice), notice
    payment = notice.payment
    assert (payment.trans_id, payment.shortcode, payment.reference, payment.payer_name) == (
        trans_id, shortcode, reference, payer,
    )
    assert type(payment.amount) is Decimal and str(payment.amount) == str(amount)
    assert payment.paid_at == paid_at and payment.paid_at.utcoffset().total_seconds() == 0
    assert payment.phone.kind is kind and payment.source is PaymentSource.C2B
    assert (notice.org_balance, notice.invoice_number, payment.invoice_number) == (balance, invoice, invoice)


def test_c2b_times_are_nairobi_local_converted_to_utc():
    notice = parse_c2b(read("c2b_confirmation_v2_masked_doc.json"))
    assert notice.payment.paid_at.isoformat() == "2023-11-21T09:13:25+00:00"


def test_c2b_v1_hash_is_the_sandbox_person():
    notice = parse_c2b(read("c2b_confirmation_v1_hashed_sandbox_2025.json"))
    assert notice.payment.phone.sha256 == hashlib.sha256(b"254705912645").hexdigest()
    assert notice.msisdn_raw == notice.payment.phone.sha256
    assert notice.transaction_type == "Pay Bill"


def test_c2b_masked_forms_keep_their_visible_digits():
    spaced = parse_c2b(read("c2b_confirmation_v2_masked_doc.json"))
    packed = parse_c2b(read("c2b_validation_or_confirmation_registerurl_page_doc.json"))
    assert (spaced.msisdn_raw, spaced.payment.phone.masked_prefix, spaced.payment.phone.masked_suffix) == (
        "2547 ***** 126", "2547", "126",
    )
    assert (packed.payment.phone.masked_prefix, packed.payment.phone.masked_suffix) == ("25470", "149")


def test_c2b_plain_msisdn_is_hashed_not_kept():
    notice = parse_c2b(read("c2b_validation_2017_sandbox_unmasked.json"))
    assert notice.payment.phone.sha256 == hashlib.sha256(b"254708374149").hexdigest()
    assert notice.payment.phone.last_digits == "149"
    assert notice.transaction_type == "" and notice.third_party_trans_id == ""


@pytest.mark.parametrize("name", sorted(STK_PAID_SAMPLES))
def test_stk_paid_sample(name):
    receipt, amount, paid_at, last_digits, checkout_id = STK_PAID_SAMPLES[name]
    paid = parse_stk(read(name))
    assert isinstance(paid, StkPaid), paid
    payment = paid.payment
    assert (payment.trans_id, payment.paid_at, payment.phone.last_digits) == (receipt, paid_at, last_digits)
    assert type(payment.amount) is Decimal and str(payment.amount) == str(amount)
    assert payment.phone.kind is MsisdnKind.PLAIN and payment.source is PaymentSource.STK
    assert (payment.shortcode, payment.reference, payment.payer_name) == ("", "", "")
    assert paid.checkout_request_id == checkout_id
    assert paid.result_desc == "The service request is processed successfully."


@pytest.mark.parametrize("name", sorted(STK_FAILED_SAMPLES))
def test_stk_failed_sample(name):
    code, desc = STK_FAILED_SAMPLES[name]
    failed = parse_stk(read(name))
    assert isinstance(failed, StkFailed), failed
    assert (failed.result_code, failed.result_desc) == (code, desc)
    assert failed.checkout_request_id and failed.merchant_request_id


@pytest.mark.parametrize("name", sorted(STK_PAID_SAMPLES) + sorted(STK_FAILED_SAMPLES))
def test_an_stk_callback_is_not_a_c2b_notice(name):
    assert not isinstance(parse_c2b(read(name)), C2BNotice)


@pytest.mark.parametrize("name", sorted(C2B_SAMPLES))
def test_a_c2b_notice_is_not_an_stk_callback(name):
    assert not isinstance(parse_stk(read(name)), StkPaid | StkFailed)
