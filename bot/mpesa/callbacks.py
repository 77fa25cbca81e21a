"""Daraja callbacks (C2B validation/confirmation, STK Push result) read into ledger values.

Callbacks are unsigned and their shapes drift (numbers vs strings, masked vs hashed MSISDN, metadata
items that come and go), so parsing is tolerant of the variations seen in the wild and strict about
everything else. Whatever the body, the parsers return a value: a notice, an STK outcome, or a
`CallbackProblem` saying why the body cannot be used. They never raise.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal

from bot.ledger.payments import IncomingPayment, PaymentSource
from bot.ledger.phones import read_msisdn
from bot.mpesa.fields import (
    FieldError,
    describe,
    read_amount,
    read_nairobi_time,
    read_name,
    read_optional_amount,
    read_receipt,
    read_required_text,
    read_result_code,
    read_text,
)

MAX_BODY = 64 * 1024  # real callbacks are under 2 KB; anything far larger is not Daraja
_NAMES = ("FirstName", "MiddleName", "LastName")
_STK_ITEMS = {name.casefold(): name for name in ("Amount", "MpesaReceiptNumber", "TransactionDate", "PhoneNumber")}

JsonObject = Mapping[str, object]


@dataclass(frozen=True, slots=True)
class C2BNotice:
    """A C2B validation request or confirmation: the payment plus the fields only C2B carries."""

    payment: IncomingPayment
    transaction_type: str
    invoice_number: str
    org_balance: Decimal | None  # blank in validation requests
    third_party_trans_id: str
    msisdn_raw: str  # as received: masked, sha256 hex or plain


@dataclass(frozen=True, slots=True)
class StkPaid:
    """An STK Push that the customer paid (ResultCode 0)."""

    payment: IncomingPayment
    merchant_request_id: str
    checkout_request_id: str
    result_desc: str


@dataclass(frozen=True, slots=True)
class StkFailed:
    """An STK Push that ended unpaid: cancelled, timed out, wrong PIN, no funds... Map on result_code only."""

    merchant_request_id: str
    checkout_request_id: str
    result_code: int
    result_desc: str


@dataclass(frozen=True, slots=True)
class CallbackProblem:
    """A body that cannot be used, with a short human reason and the provider's id when it was readable."""

    reason: str
    external_id: str | None


def parse_c2b(body: bytes) -> C2BNotice | CallbackProblem:
    """Read a C2B validation or confirmation body (the two share one shape)."""
    doc = _load_object(body)
    if isinstance(doc, CallbackProblem):
        return doc
    external_id = _readable_receipt(doc.get("TransID"))
    try:
        return _c2b_notice(doc)
    except FieldError as error:
        return CallbackProblem(str(error), external_id)


def _c2b_notice(doc: JsonObject) -> C2BNotice:
    msisdn_raw = _msisdn_text(doc.get("MSISDN"), "MSISDN")
    invoice_number = read_text(doc, "InvoiceNumber")
    payment = IncomingPayment(
        trans_id=read_receipt(doc.get("TransID"), "TransID"),
        amount=read_amount(doc.get("TransAmount"), "TransAmount"),
        paid_at=read_nairobi_time(doc.get("TransTime"), "TransTime"),
        shortcode=read_text(doc, "BusinessShortCode"),
        reference=read_text(doc, "BillRefNumber"),
        payer_name=read_name(doc, _NAMES),
        phone=read_msisdn(msisdn_raw),
        source=PaymentSource.C2B,
        invoice_number=invoice_number,
    )
    return C2BNotice(
        payment=payment,
        transaction_type=read_text(doc, "TransactionType"),
        invoice_number=invoice_number,
        org_balance=read_optional_amount(doc.get("OrgAccountBalance"), "OrgAccountBalance"),
        third_party_trans_id=read_text(doc, "ThirdPartyTransID"),
        msisdn_raw=msisdn_raw,
    )


def parse_stk(body: bytes) -> StkPaid | StkFailed | CallbackProblem:
    """Read an STK Push callback (`{"Body": {"stkCallback": {...}}}`)."""
    doc = _load_object(body)
    if isinstance(doc, CallbackProblem):
        return doc
    callback = _object_at(_object_at(doc, "Body"), "stkCallback")
    if callback is None:
        return CallbackProblem("missing Body.stkCallback", None)
    external_id = _readable_text(callback, "CheckoutRequestID")
    try:
        return _stk_outcome(callback)
    except FieldError as error:
        return CallbackProblem(str(error), external_id)


def _stk_outcome(callback: JsonObject) -> StkPaid | StkFailed:
    merchant_request_id = read_required_text(callback, "MerchantRequestID")
    checkout_request_id = read_required_text(callback, "CheckoutRequestID")
    result_code = read_result_code(callback.get("ResultCode"))
    result_desc = read_text(callback, "ResultDesc")
    if result_code != 0:
        return StkFailed(merchant_request_id, checkout_request_id, result_code, result_desc)
    payment = _stk_payment(_metadata_items(callback))
    return StkPaid(payment, merchant_request_id, checkout_request_id, result_desc)


def _stk_payment(items: dict[str, object]) -> IncomingPayment:
    phone = _msisdn_text(items.get("phonenumber"), "PhoneNumber")
    return IncomingPayment(
        trans_id=read_receipt(items.get("mpesareceiptnumber"), "MpesaReceiptNumber"),
        amount=read_amount(items.get("amount"), "Amount"),
        paid_at=read_nairobi_time(items.get("transactiondate"), "TransactionDate"),
        shortcode="",  # the STK callback does not say which shortcode was paid
        reference="",  # nor the AccountReference
        payer_name="",
        phone=read_msisdn(phone),
        source=PaymentSource.STK,
    )


def _metadata_items(callback: JsonObject) -> dict[str, object]:
    """CallbackMetadata items by (case-folded) Name. Items come and go between years, so never by index."""
    raw = _object_at(callback, "CallbackMetadata")
    items = raw.get("Item") if raw is not None else None
    if isinstance(items, dict):
        items = [items]  # other Daraja results send a lone item as an object, not a list
    if not isinstance(items, list):
        raise FieldError("paid, but CallbackMetadata has no Item list")
    found: dict[str, object] = {}
    for item in items:
        key = _item_key(item)
        if key is None:
            continue  # Balance and unknown items carry nothing we use, whatever their shape
        if key in found and found[key] != item.get("Value"):
            raise FieldError(f"CallbackMetadata has {_STK_ITEMS[key]} twice with different values")
        found[key] = item.get("Value")
    return found


def _item_key(item: object) -> str | None:
    name = item.get("Name") if isinstance(item, dict) else None
    key = name.strip().casefold() if isinstance(name, str) else None
    return key if key in _STK_ITEMS else None


def _msisdn_text(value: object, name: str) -> str:
    """The phone field as received; STK sends a JSON number, C2B a string."""
    if value is None:
        return ""
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    if not isinstance(value, str):
        raise FieldError(f"{name} is {describe(value)}, not a phone")
    read_text({name: value}, name)  # same length and control-character checks as other text
    return value


def _load_object(body: bytes) -> JsonObject | CallbackProblem:
    """The body as a JSON object, with every number as int or Decimal (never float)."""
    if not isinstance(body, bytes | bytearray):
        return CallbackProblem(f"body is {type(body).__name__}, not bytes", None)
    if len(body) > MAX_BODY:
        return CallbackProblem(f"body too large ({len(body)} bytes)", None)
    try:
        text = bytes(body).decode("utf-8-sig")
    except UnicodeDecodeError:
        return CallbackProblem("not UTF-8", None)
    try:
        doc = json.loads(text, parse_float=Decimal, parse_constant=_refuse_constant)
    except (ValueError, RecursionError):  # JSONDecodeError is a ValueError; so is a 5000-digit int
        return CallbackProblem("not JSON", None)
    if not isinstance(doc, dict):
        return CallbackProblem(f"not an object (a JSON {_json_kind(doc)})", None)
    return doc


def _refuse_constant(name: str) -> object:
    raise ValueError(f"{name} is not JSON")


def _json_kind(doc: object) -> str:
    kinds = {list: "array", str: "string", bool: "boolean", type(None): "null"}
    return kinds.get(type(doc), "number")


def _object_at(doc: JsonObject | None, key: str) -> JsonObject | None:
    value = doc.get(key) if doc is not None else None
    return value if isinstance(value, dict) else None


def _readable_receipt(value: object) -> str | None:
    try:
        return read_receipt(value, "TransID")
    except FieldError:
        return None


def _readable_text(doc: JsonObject, name: str) -> str | None:
    try:
        return read_text(doc, name) or None
    except FieldError:
        return None
