"""Daraja's asynchronous results (`{"Result": {...}}` posted to our ResultURL: Transaction Status, reversal),
read into a value. Tolerant like the callback parsers: ResultCode as number or string, ResultParameter as a
list or a lone object, Keys that repeat (`DebitPartyName` twice in the docs sample), Values missing."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from bot.mpesa.fields import FieldError, read_amount, read_nairobi_time, read_receipt

MAX_BODY = 64 * 1024


@dataclass(frozen=True, slots=True)
class AsyncResult:
    result_code: str  # "0" is success; others are Daraja's (numbers or codes such as R000002)
    result_desc: str
    conversation_id: str
    originator_conversation_id: str
    transaction_id: str
    parameters: Mapping[str, str] = field(default_factory=dict)  # first Value of each Key, as text

    @property
    def ok(self) -> bool:
        return self.result_code == "0"

    @property
    def receipt(self) -> str | None:
        return _receipt(self.parameters.get("ReceiptNo") or self.transaction_id)

    @property
    def amount(self) -> Decimal | None:
        try:
            return read_amount(self.parameters.get("Amount"), "Amount") if self.parameters.get("Amount") else None
        except FieldError:
            return None

    @property
    def status(self) -> str:
        """TransactionStatus: `Completed` in the docs; what a reversed receipt says is UNCONFIRMED."""
        return self.parameters.get("TransactionStatus", "")

    @property
    def finalised_at(self) -> datetime | None:
        stamp = self.parameters.get("FinalisedTime") or self.parameters.get("TransCompletedTime")
        try:
            return read_nairobi_time(stamp, "FinalisedTime") if stamp else None
        except FieldError:
            return None

    @property
    def payer(self) -> str:
        """The name part of `DebitPartyName` (`254708374149 - John Doe`): the number is never kept."""
        party = self.parameters.get("DebitPartyName", "")
        return party.split(" - ", 1)[1].strip()[:60] if " - " in party else ""


def _receipt(value: str | None) -> str | None:
    try:
        return read_receipt(value, "ReceiptNo") if value else None
    except FieldError:
        return None


def parse_async_result(body: bytes) -> AsyncResult | str:
    """The result, or why the body is not one (a short reason). Never raises."""
    if len(body) > MAX_BODY:
        return "body too large"
    try:
        doc = json.loads(body.decode("utf-8-sig"), parse_float=Decimal)
    except (UnicodeDecodeError, ValueError, RecursionError):
        return "not JSON"
    result = doc.get("Result") if isinstance(doc, dict) else None
    if not isinstance(result, dict):
        return "no Result object"
    code = _text(result.get("ResultCode"))
    if not code:
        return "Result without ResultCode"
    return AsyncResult(code, _text(result.get("ResultDesc"))[:200], _text(result.get("ConversationID")),
                       _text(result.get("OriginatorConversationID")), _text(result.get("TransactionID")),
                       _parameters(result.get("ResultParameters")))


def _parameters(raw: object) -> dict[str, str]:
    items = raw.get("ResultParameter") if isinstance(raw, dict) else None
    if isinstance(items, dict):
        items = [items]
    out: dict[str, str] = {}
    for item in items if isinstance(items, list) else []:
        if isinstance(item, dict) and isinstance(item.get("Key"), str) and "Value" in item:
            out.setdefault(item["Key"], _text(item["Value"]))
    return out


def _text(value: object) -> str:
    if isinstance(value, bool) or value is None:
        return ""
    if isinstance(value, int | Decimal | str):
        return str(value).strip()[:200]
    return ""
