"""Daraja request bodies and their synchronous answers, as exact values (shapes from reference §1-§4).

Builders take plain values (and `now` for the STK timestamp) and return the JSON body; readers take the
decoded answer and return a value or a `DarajaError` (Failure.MALFORMED) - never raise. Amounts are
Decimal, times aware UTC, and every field Daraja sends as either a string or a number is read as both.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal

from bot.mpesa.daraja_errors import DarajaError, Failure
from bot.mpesa.fields import NAIROBI, FieldError, read_amount, read_receipt, read_result_code

STK_PENDING = 4999  # "The transaction is still under processing" (query only, §3.5)
MAX_ACCOUNT_REFERENCE = 12  # printed on the customer's SMS; longer breaks the 182-character prompt
MAX_TRANSACTION_DESC = 13

Json = Mapping[str, object]


@dataclass(frozen=True, slots=True)
class StkAccepted:
    """Daraja took the push: the outcome comes later in the callback (or from a query)."""

    merchant_request_id: str
    checkout_request_id: str
    customer_message: str


@dataclass(frozen=True, slots=True)
class StkAnswer:
    """What an STK query said. `pending` (4999) means ask again later; anything else is terminal."""

    result_code: int
    result_desc: str

    @property
    def pending(self) -> bool:
        return self.result_code == STK_PENDING


@dataclass(frozen=True, slots=True)
class Registered:
    """Register URL / Pull register accepted."""

    response_code: str
    description: str


@dataclass(frozen=True, slots=True)
class PullRow:
    """One row of a Pull Transactions page. `msisdn_raw` as sent (masked or hashed or plain: UNCONFIRMED)."""

    trans_id: str
    paid_at: datetime
    amount: Decimal
    reference: str
    msisdn_raw: str
    transaction_type: str
    organization: str


@dataclass(frozen=True, slots=True)
class PullPage:
    rows: tuple[PullRow, ...]
    unreadable: int  # rows that were not transactions we could read (kept out, counted)


@dataclass(frozen=True, slots=True)
class AsyncAccepted:
    """An asynchronous request (Transaction Status) accepted; the result comes to our ResultURL."""

    conversation_id: str
    originator_conversation_id: str
    description: str


def stk_password(shortcode: str, passkey: str, timestamp: str) -> str:
    """base64(BusinessShortCode + Passkey + Timestamp), verified on Safaricom's own sample (§3.1)."""
    return base64.b64encode(f"{shortcode}{passkey}{timestamp}".encode()).decode()


def stk_timestamp(now: datetime) -> str:
    return now.astimezone(NAIROBI).strftime("%Y%m%d%H%M%S")


@dataclass(frozen=True, slots=True)
class StkPush:
    """One push. `shortcode` is BusinessShortCode (for a till: the store/HO number), `party_b` the till or
    paybill the money goes to. `amount` whole shillings (Daraja's handling of decimals is UNCONFIRMED)."""

    shortcode: str
    party_b: str
    till: bool
    amount: int
    phone: str  # 2547XXXXXXXX / 2541XXXXXXXX
    callback_url: str
    account_reference: str
    description: str = "Payment"


def stk_push_body(push: StkPush, passkey: str, now: datetime) -> dict[str, str]:
    timestamp = stk_timestamp(now)
    return {
        "BusinessShortCode": push.shortcode, "Password": stk_password(push.shortcode, passkey, timestamp),
        "Timestamp": timestamp,
        "TransactionType": "CustomerBuyGoodsOnline" if push.till else "CustomerPayBillOnline",
        "Amount": str(push.amount), "PartyA": push.phone, "PartyB": push.party_b, "PhoneNumber": push.phone,
        "CallBackURL": push.callback_url, "AccountReference": push.account_reference[:MAX_ACCOUNT_REFERENCE],
        "TransactionDesc": push.description[:MAX_TRANSACTION_DESC],
    }


def stk_query_body(shortcode: str, passkey: str, checkout_request_id: str, now: datetime) -> dict[str, str]:
    timestamp = stk_timestamp(now)
    return {"BusinessShortCode": shortcode, "Password": stk_password(shortcode, passkey, timestamp),
            "Timestamp": timestamp, "CheckoutRequestID": checkout_request_id}


def register_url_body(shortcode: str, confirmation_url: str, validation_url: str) -> dict[str, str]:
    # `Completed`, exactly: a validation outage must never cancel a sale (§2.1, §2.5)
    return {"ShortCode": shortcode, "ResponseType": "Completed", "ConfirmationURL": confirmation_url,
            "ValidationURL": validation_url}


def pull_register_body(shortcode: str, nominated_number: str, callback_url: str) -> dict[str, str]:
    return {"ShortCode": shortcode, "RequestType": "Pull", "NominatedNumber": nominated_number,
            "CallBackURL": callback_url}


def pull_query_body(shortcode: str, start: datetime, end: datetime, offset: int) -> dict[str, str]:
    """StartDate/EndDate as "YYYY-MM-DD HH:MM:SS" in Nairobi time (Daraja's times carry no zone)."""
    fmt = "%Y-%m-%d %H:%M:%S"
    return {"ShortCode": shortcode, "StartDate": start.astimezone(NAIROBI).strftime(fmt),
            "EndDate": end.astimezone(NAIROBI).strftime(fmt), "OffSetValue": str(offset)}


def transaction_status_body(initiator: str, credential: str, shortcode: str, receipt: str, result_url: str,
                            timeout_url: str) -> dict[str, str]:
    # the docs page shows "Command ID" / "Transaction ID" with spaces: a docs typo (payloads/README.md)
    return {"Initiator": initiator, "SecurityCredential": credential, "CommandID": "TransactionStatusQuery",
            "TransactionID": receipt, "PartyA": shortcode, "IdentifierType": "4", "ResultURL": result_url,
            "QueueTimeOutURL": timeout_url, "Remarks": "Hesabu check", "Occasion": "verify"}


# --- reading answers --------------------------------------------------------------------------------


def _text(doc: Json, *names: str) -> str:
    for name in names:
        value = doc.get(name)
        if isinstance(value, str):
            return value.strip()
        if isinstance(value, int | Decimal) and not isinstance(value, bool):
            return str(value)
    return ""


def _malformed(why: str) -> DarajaError:
    return DarajaError(Failure.MALFORMED, "", why)


def _refused(doc: Json, code: str) -> DarajaError:
    return DarajaError(Failure.REJECTED, code, _text(doc, "ResponseDescription", "ResponseMessage"))


def read_stk_accepted(doc: Json) -> StkAccepted | DarajaError:
    code = _text(doc, "ResponseCode")
    checkout = _text(doc, "CheckoutRequestID")
    if code != "0":
        return _refused(doc, code)
    if not checkout:
        return _malformed("accepted without a CheckoutRequestID")
    return StkAccepted(_text(doc, "MerchantRequestID"), checkout, _text(doc, "CustomerMessage"))


def read_stk_answer(doc: Json) -> StkAnswer | DarajaError:
    try:
        code = read_result_code(doc.get("ResultCode"))  # a string here, a number in the callback (§13.6)
    except FieldError as error:
        return _malformed(str(error))
    return StkAnswer(code, _text(doc, "ResultDesc"))


def read_registered(doc: Json) -> Registered | DarajaError:
    code = _text(doc, "ResponseCode")
    if code not in ("0", "00000000"):
        return _refused(doc, code)
    return Registered(code, _text(doc, "ResponseDescription"))


def read_pull_registered(doc: Json) -> Registered | DarajaError:
    status = _text(doc, "ResponseStatus", "ResponseCode")
    # 1000 registered; 1001 already registered (for us that is the same: Pull works for this shortcode)
    if status not in ("1000", "1001"):
        return _refused(doc, status)
    return Registered(status, _text(doc, "ResponseDescription"))


def read_async_accepted(doc: Json) -> AsyncAccepted | DarajaError:
    code = _text(doc, "ResponseCode")
    if code != "0":
        return _refused(doc, code)
    return AsyncAccepted(_text(doc, "ConversationID"), _text(doc, "OriginatorConversationID"),
                         _text(doc, "ResponseDescription"))


def read_pull_page(doc: Json) -> PullPage | DarajaError:
    """Rows wherever the answer holds them: `Response` as a list of rows or a list of lists (UNCONFIRMED)."""
    code = _text(doc, "ResponseCode")
    if code not in ("", "0", "1000"):
        return _refused(doc, code)
    raw = doc.get("Response", [])
    flat: list[object] = []
    for item in raw if isinstance(raw, list) else []:
        flat.extend(item if isinstance(item, list) else [item])
    rows: list[PullRow] = []
    for item in flat:
        row = _pull_row(item) if isinstance(item, dict) else None
        if row is not None:
            rows.append(row)
    return PullPage(tuple(rows), len(flat) - len(rows))


def _pull_row(item: Json) -> PullRow | None:
    lowered = {k.casefold(): v for k, v in item.items() if isinstance(k, str)}
    try:
        trans_id = read_receipt(lowered.get("transactionid"), "transactionId")
        amount = read_amount(lowered.get("amount"), "amount")
    except FieldError:
        return None
    paid_at = _iso_time(lowered.get("trxdate"))
    if paid_at is None:
        return None
    return PullRow(trans_id, paid_at, amount, _text(lowered, "billreference"), _text(lowered, "msisdn"),
                   _text(lowered, "transactiontype"), _text(lowered, "organizationname"))


def _iso_time(value: object) -> datetime | None:
    """`2020-08-05T10:13:00Z` (docs) or without a zone, then read as Nairobi time like every Daraja time."""
    if not isinstance(value, str) or not value.strip():
        return None
    try:
        parsed = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=NAIROBI)
    return parsed.astimezone(UTC)
