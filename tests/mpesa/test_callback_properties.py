"""Whatever arrives on a callback URL, the parsers answer with a value and never raise."""

import json
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from bot.mpesa.callbacks import C2BNotice, CallbackProblem, StkFailed, StkPaid, parse_c2b, parse_stk

C2B_KEYS = ["TransactionType", "TransID", "TransTime", "TransAmount", "BusinessShortCode", "BillRefNumber",
            "InvoiceNumber", "OrgAccountBalance", "ThirdPartyTransID", "MSISDN", "FirstName", "MiddleName",
            "LastName"]
STK_KEYS = ["MerchantRequestID", "CheckoutRequestID", "ResultCode", "ResultDesc", "CallbackMetadata", "Item",
            "Name", "Value", "Body", "stkCallback", "Amount", "MpesaReceiptNumber", "TransactionDate",
            "PhoneNumber", "Balance"]

scalars = st.one_of(
    st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False, allow_infinity=False), st.text(max_size=30),
    st.sampled_from(["0", "5.00", "-5", "1e40", "20231121121325", "2547 ***** 126", "NLJ7RT61SV", "\ud800"]),
    st.integers(min_value=10**13, max_value=10**14),
)
keys = st.one_of(st.sampled_from(C2B_KEYS + STK_KEYS), st.text(max_size=10))
json_ish = st.recursive(scalars, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(keys, inner, max_size=6),
                        max_leaves=30)
OUTCOMES = C2BNotice | StkPaid | StkFailed | CallbackProblem


def as_body(value: object) -> bytes:
    return json.dumps(value).encode("utf-8", "surrogatepass")


@given(st.binary(max_size=2000))
def test_arbitrary_bytes_never_raise(body):
    assert isinstance(parse_c2b(body), C2BNotice | CallbackProblem)
    assert isinstance(parse_stk(body), OUTCOMES)


@settings(max_examples=300)
@given(st.dictionaries(keys, json_ish, max_size=14))
def test_arbitrary_json_objects_never_raise(doc):
    body = as_body(doc)
    assert isinstance(parse_c2b(body), C2BNotice | CallbackProblem)
    assert isinstance(parse_stk(as_body({"Body": {"stkCallback": doc}})), OUTCOMES)


@settings(max_examples=300)
@given(st.fixed_dictionaries({k: json_ish for k in C2B_KEYS}))
def test_c2b_shaped_objects_never_raise_and_money_stays_exact(doc):
    result = parse_c2b(as_body(doc))
    assert isinstance(result, C2BNotice | CallbackProblem)
    if isinstance(result, C2BNotice):
        assert isinstance(result.payment.amount, Decimal) and result.payment.amount > 0
        assert result.payment.paid_at.utcoffset().total_seconds() == 0


@settings(max_examples=300)
@given(json_ish, st.lists(st.dictionaries(st.sampled_from(["Name", "Value"]), json_ish), max_size=6))
def test_stk_shaped_objects_never_raise(code, items):
    named = [{**item, "Name": name} for item, name in zip(items, ["Amount", "MpesaReceiptNumber",
                                                                   "TransactionDate", "PhoneNumber", "Balance"],
                                                            strict=False)]
    callback = {"MerchantRequestID": "m", "CheckoutRequestID": "c", "ResultCode": code,
                "CallbackMetadata": {"Item": named}}
    assert isinstance(parse_stk(as_body({"Body": {"stkCallback": callback}})), OUTCOMES)
