from decimal import Decimal

import pytest

from bot.ledger.money import MoneyError, format_kes, parse_amount
from bot.ledger.phones import MsisdnKind, mask_phone, masked_matches, normalise_phone, phone_sha256, read_msisdn


@pytest.mark.parametrize(
    ("value", "expected"),
    [("5.00", Decimal("5.00")), ("10", Decimal("10.00")), (Decimal("1.00"), Decimal("1.00")), (1, Decimal("1.00")),
     ("1,500.50", Decimal("1500.50"))],
)
def test_parse_amount_accepts_daraja_forms(value, expected):
    assert parse_amount(value) == expected


@pytest.mark.parametrize("value", ["abc", "-5", 1.0, "NaN", "Infinity", "1.005", None, True, "1e40", "9" * 40])
def test_parse_amount_refuses_bad_input_as_a_value(value):
    assert isinstance(parse_amount(value), MoneyError)


def test_format_kes():
    assert format_kes(Decimal("15000")) == "KES 15,000.00"


@pytest.mark.parametrize(
    "text", ["0712 345 678", "+254712345678", "254712345678", "712345678", "0712-345-678"]
)
def test_normalise_phone(text):
    assert normalise_phone(text) == "254712345678"


def test_normalise_phone_01_range_and_rejects():
    assert normalise_phone("0110 123 456") == "254110123456"
    assert normalise_phone("12345") is None
    assert normalise_phone("0612345678") is None


def test_read_msisdn_shapes():
    # the real v1 sandbox payload hashes 254705912645
    hashed = read_msisdn(phone_sha256("254705912645").upper())
    assert hashed.kind is MsisdnKind.SHA256 and hashed.sha256 == phone_sha256("254705912645")
    for masked_text in ("2547 ***** 126", "25470****149", "2547******635"):
        assert read_msisdn(masked_text).kind is MsisdnKind.MASKED
    assert masked_matches(read_msisdn("25470****149"), "254708374149")
    assert not masked_matches(read_msisdn("25470****149"), "254708374148")
    plain = read_msisdn("254708374149")
    assert plain.kind is MsisdnKind.PLAIN and plain.sha256 == phone_sha256("254708374149")
    assert read_msisdn("").kind is MsisdnKind.MISSING
    assert mask_phone("254708374149") == "2547*****149"
