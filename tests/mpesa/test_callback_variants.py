"""Callbacks as they drift: numbers for strings, odd names, missing items, and bodies that are not callbacks."""

import json
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from bot.ledger.phones import MsisdnKind
from bot.mpesa.callbacks import C2BNotice, CallbackProblem, StkFailed, StkPaid, parse_c2b, parse_stk

DROP = object()  # marks a field to leave out of the body


def c2b(**changes) -> bytes:
    doc = {
        "TransactionType": "Pay Bill", "TransID": "RKL51ZDR4F", "TransTime": "20231121121325",
        "TransAmount": "5.00", "BusinessShortCode": "600966", "BillRefNumber": "INV-1",
        "InvoiceNumber": "", "OrgAccountBalance": "25.00", "ThirdPartyTransID": "",
        "MSISDN": "2547 ***** 126", "FirstName": "NICHOLAS", "MiddleName": "", "LastName": "",
    }
    doc.update(changes)
    return json.dumps({k: v for k, v in doc.items() if v is not DROP}).encode()


def stk(code=0, items=None, **changes) -> bytes:
    callback = {
        "MerchantRequestID": "29115-34620561-1", "CheckoutRequestID": "ws_CO_191220191020363925",
        "ResultCode": code, "ResultDesc": "The service request is processed successfully.",
    }
    if items is not None:
        callback["CallbackMetadata"] = {"Item": items}
    callback.update(changes)
    return json.dumps({"Body": {"stkCallback": {k: v for k, v in callback.items() if v is not DROP}}}).encode()


def paid_items(**values):
    base = {"Amount": 1, "MpesaReceiptNumber": "NLJ7RT61SV", "TransactionDate": 20191219102115,
            "PhoneNumber": 254708374149}
    base.update(values)
    return [{"Name": k, "Value": v} for k, v in base.items() if v is not DROP]



def test_c2b_numbers_where_strings_are_usual():
    notice = parse_c2b(c2b(TransAmount=5, TransTime=20231121121325, BusinessShortCode=600966, MSISDN=254708374149))
    assert isinstance(notice, C2BNotice), notice
    assert notice.payment.amount == Decimal("5.00") and notice.payment.shortcode == "600966"
    assert notice.payment.paid_at == datetime(2023, 11, 21, 9, 13, 25, tzinfo=UTC)
    assert notice.payment.phone.kind is MsisdnKind.PLAIN and notice.msisdn_raw == "254708374149"


def test_c2b_decimal_amount_never_passes_through_float():
    raw = b'{"TransID":"RKL51ZDR4F","TransTime":"20231121121325","TransAmount":10500.10}'
    notice = parse_c2b(raw)
    assert str(notice.payment.amount) == "10500.10"


def test_c2b_names_and_reference_are_cleaned_but_keep_case():
    body = c2b(FirstName="  mary\t", MiddleName=None, LastName=" Wanjiku  Njeri ", BillRefNumber="  inv 7 ")
    notice = parse_c2b(body)
    assert notice.payment.payer_name == "mary Wanjiku Njeri"
    assert notice.payment.reference == "inv 7"


@pytest.mark.parametrize("missing", [{"FirstName": DROP, "MiddleName": DROP, "LastName": DROP}, {"FirstName": ""}])
def test_c2b_names_may_be_missing(missing):
    assert parse_c2b(c2b(**missing)).payment.payer_name == ""


@pytest.mark.parametrize("ref", [DROP, None, "", "   "])
def test_c2b_bill_ref_may_be_missing(ref):
    assert parse_c2b(c2b(BillRefNumber=ref)).payment.reference == ""


def test_c2b_receipt_is_stripped_and_uppercased():
    notice = parse_c2b(c2b(TransID=" rkl51zdr4f "))
    assert notice.payment.trans_id == "RKL51ZDR4F"


@pytest.mark.parametrize(("msisdn", "kind"), [
    ("94C392C311D522DA950619227B3361752A42042DB7E1E699B26E628305C68A88", MsisdnKind.SHA256),
    ("2547 ***** 126", MsisdnKind.MASKED), ("25470****149", MsisdnKind.MASKED),
    ("254708374149", MsisdnKind.PLAIN), (DROP, MsisdnKind.MISSING), ("", MsisdnKind.MISSING),
])
def test_c2b_msisdn_shapes(msisdn, kind):
    notice = parse_c2b(c2b(MSISDN=msisdn))
    assert notice.payment.phone.kind is kind


def test_c2b_upper_case_hash_is_compared_in_lower_case():
    notice = parse_c2b(c2b(MSISDN="94C392C311D522DA950619227B3361752A42042DB7E1E699B26E628305C68A88"))
    assert notice.payment.phone.sha256 == "94c392c311d522da950619227b3361752a42042db7e1e699b26e628305c68a88"


@pytest.mark.parametrize("balance", ["", "  ", None, DROP])
def test_c2b_blank_org_balance_is_none(balance):
    assert parse_c2b(c2b(OrgAccountBalance=balance)).org_balance is None


@pytest.mark.parametrize(("body", "reason"), [
    (b"not json at all", "not JSON"),
    (b"", "not JSON"),
    (b"[]", "not an object (a JSON array)"),
    (b"42", "not an object (a JSON number)"),
    (b'"TransID"', "not an object (a JSON string)"),
    (b"null", "not an object (a JSON null)"),
    (b"{}", "missing TransID"),
    (b"\xff\xfe{}", "not UTF-8"),
    (b'{"TransAmount": NaN}', "not JSON"),
    (b"[" * 50_000, "not JSON"),
    (b"[" * 30_000 + b"]" * 30_000, "not JSON"),
    (b"{" * 1_000_000, "body too large (1000000 bytes)"),
    (b'{"TransID": "A"}' + b" " * (1 << 20), "body too large (1048592 bytes)"),
])
def test_bodies_that_are_not_callbacks(body, reason):
    assert parse_c2b(body) == CallbackProblem(reason, None)
    stk_result = parse_stk(body)
    assert isinstance(stk_result, CallbackProblem) and stk_result.external_id is None


def test_deep_nesting_under_the_size_limit_is_a_problem_not_a_crash():
    body = b'{"a":' * 10_000 + b"1" + b"}" * 10_000
    assert parse_c2b(body) == CallbackProblem("not JSON", None)
    assert parse_stk(body) == CallbackProblem("not JSON", None)


@pytest.mark.parametrize(("changes", "reason"), [
    ({"TransID": DROP}, "missing TransID"),
    ({"TransID": "  "}, "missing TransID"),
    ({"TransID": "RKL-51"}, "TransID 'RKL-51' is not a receipt code"),
    ({"TransID": "A" * 21}, "TransID 'AAAAAAAAAAAAAAAAAAAAA' is not a receipt code"),
    ({"TransID": {"x": 1}}, "TransID {...} is not a receipt code"),
    ({"TransAmount": "abc"}, "TransAmount 'abc' is not a number"),
    ({"TransAmount": "-5"}, "TransAmount '-5' is negative"),
    ({"TransAmount": "0"}, "TransAmount '0' is zero"),
    ({"TransAmount": "0.00"}, "TransAmount '0.00' is zero"),
    ({"TransAmount": "1.005"}, "TransAmount '1.005' has more than two decimal places"),
    ({"TransAmount": "1e40"}, "TransAmount '1e40' is too large"),
    ({"TransAmount": DROP}, "missing TransAmount"),
    ({"TransAmount": True}, "TransAmount true is not a number"),
    ({"TransTime": "2023-11-21 12:13:25"}, "TransTime '2023-11-21 12:13:25' is not a YYYYMMDDHHmmss time"),
    ({"TransTime": "20231321121325"}, "TransTime '20231321121325' is not a real date and time"),
    ({"TransTime": "00010101000000"}, "TransTime '00010101000000' is not a plausible year"),
    ({"TransTime": DROP}, "missing TransTime"),
    ({"FirstName": ["a"]}, "FirstName is [...], not text"),
    ({"BillRefNumber": "INV\x00 1"}, "BillRefNumber contains control characters"),
    ({"BillRefNumber": "x" * 101}, "BillRefNumber is too long (101 characters)"),
    ({"MSISDN": ["254708374149"]}, "MSISDN is [...], not a phone"),
    ({"OrgAccountBalance": "n/a"}, "OrgAccountBalance 'n/a' is not a number"),
])
def test_c2b_problems_name_the_field(changes, reason):
    problem = parse_c2b(c2b(**changes))
    assert isinstance(problem, CallbackProblem)
    assert problem.reason == reason
    readable = changes.get("TransID", "RKL51ZDR4F")
    assert problem.external_id == ("RKL51ZDR4F" if readable == "RKL51ZDR4F" else None)


def test_c2b_lone_surrogate_is_refused():
    problem = parse_c2b(c2b().replace(b'"NICHOLAS"', b'"\\ud800"'))
    assert problem == CallbackProblem("FirstName contains control characters", "RKL51ZDR4F")


def test_stk_items_are_read_by_name_in_any_order():
    balances = [{"Name": "Balance"}, {"Name": "Balance", "Value": "{Amount={BasicAmount=1}}"}]
    items = list(reversed(paid_items())) + balances
    paid = parse_stk(stk(items=items))
    assert isinstance(paid, StkPaid), paid
    assert paid.payment.trans_id == "NLJ7RT61SV" and paid.payment.amount == Decimal("1.00")
    assert paid.payment.paid_at == datetime(2019, 12, 19, 7, 21, 15, tzinfo=UTC)


def test_stk_strings_where_numbers_are_usual():
    items = paid_items(Amount="10500.00", TransactionDate="20260111023659", PhoneNumber="254726542690")
    paid = parse_stk(stk(code="0", items=items))
    assert paid.payment.amount == Decimal("10500.00") and paid.payment.phone.last_digits == "690"


def test_stk_lone_item_object_and_missing_phone():
    item = {"Name": "Amount", "Value": 1}
    assert parse_stk(stk(items=item)).reason == "missing MpesaReceiptNumber"
    paid = parse_stk(stk(items=paid_items(PhoneNumber=DROP)))
    assert paid.payment.phone.kind is MsisdnKind.MISSING


@pytest.mark.parametrize("code", [1, 17, 1032, 1036, 1037, 2001, "1032", 4999])
def test_stk_any_non_zero_code_is_a_failure(code):
    failed = parse_stk(stk(code=code, ResultDesc="whatever"))
    assert failed == StkFailed("29115-34620561-1", "ws_CO_191220191020363925", int(code), "whatever")


def test_stk_failure_with_metadata_is_still_a_failure():
    assert isinstance(parse_stk(stk(code=1032, items=paid_items())), StkFailed)


@pytest.mark.parametrize(("body", "reason"), [
    (stk(), "paid, but CallbackMetadata has no Item list"),
    (stk(items=[]), "missing MpesaReceiptNumber"),
    (stk(items=paid_items(Amount=DROP)), "missing Amount"),
    (stk(items=paid_items(MpesaReceiptNumber=DROP)), "missing MpesaReceiptNumber"),
    (stk(items=paid_items(TransactionDate=DROP)), "missing TransactionDate"),
    (stk(items=paid_items(Amount="abc")), "Amount 'abc' is not a number"),
    (stk(items=paid_items(Amount=0)), "Amount 0 is zero"),
    (stk(items=paid_items() + [{"Name": "Amount", "Value": 2}]),
     "CallbackMetadata has Amount twice with different values"),
    (stk(items=["junk", 5, None]), "missing MpesaReceiptNumber"),
    (stk(code="C2B00012"), "ResultCode 'C2B00012' is not a number"),
    (stk(code=None), "missing ResultCode"),
    (stk(code=1.5), "ResultCode 1.5 is not a number"),
    (stk(MerchantRequestID=DROP), "missing MerchantRequestID"),
])
def test_stk_problems(body, reason):
    assert parse_stk(body) == CallbackProblem(reason, "ws_CO_191220191020363925")


@pytest.mark.parametrize(("body", "reason"), [
    (b'{"Body": 5}', "missing Body.stkCallback"),
    (b'{"Body": {"stkCallback": []}}', "missing Body.stkCallback"),
    (b'{"stkCallback": {}}', "missing Body.stkCallback"),
    (stk(CheckoutRequestID=DROP), "missing CheckoutRequestID"),
])
def test_stk_problems_without_an_id(body, reason):
    assert parse_stk(body) == CallbackProblem(reason, None)
