"""The M-PESA SMS reader: a confirmation message as the owner's phone received it, read into a value.

Shapes read (see tests/payloads/sms_samples.txt and the reference notes):
- till (Buy Goods): `CODE Confirmed.on D/M/YY at H:MM PMKsh40.00 received from PHONE NAME. New Account balance ...`
- paybill (IPN era): `CODE Confirmed.on D/M/YY at ... Ksh8,723.00 from NAME PHONE.Account Number ACC ...`
- personal / Pochi la Biashara: `CODE Confirmed.You have received Ksh7,500.00 from NAME [PHONE] on D/M/YY ...`
- reversals: `CODE Confirmed. Transaction ORIG [of Ksh..] has been [successfully] reversed ...` (shape UNCONFIRMED)
- money out (`sent to`, `paid to`, withdrawals): recognised and refused, never a payment.

Case, spaces and line breaks are optional where real messages drop them ("Confirmed.on", "PMKsh"); `Ksh`,
`KSH`, `Kshs` and a doubled `Ksh Ksh` are all currency; phones may be plain or masked (`2547******635`,
`0720***167`, `07XX XXX 123`). Anything else is returned as `SmsUnread` with a reason: never guessed.
`read_sms` never raises, and its work is linear in the (capped) length of the text.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from enum import StrEnum

from bot.ledger.money import parse_amount
from bot.ledger.payments import IncomingPayment, PaymentSource
from bot.ledger.phones import MsisdnKind, PayerPhone, normalise_phone, phone_sha256
from bot.mpesa.fields import NAIROBI

MAX_SMS = 2000  # a three-part SMS is 459 characters; with promotions far less than this
MAX_NAME = 100
MPESA_SENDERS = frozenset({"mpesa", "m-pesa"})


class SmsKind(StrEnum):
    TILL = "till"
    PAYBILL = "paybill"
    PERSONAL = "personal"
    POCHI = "pochi"


@dataclass(frozen=True, slots=True)
class SmsPayment:
    """Money in: one M-PESA receipt as the receiving phone was told about it."""

    kind: SmsKind
    receipt: str
    amount: Decimal
    paid_at: datetime  # aware UTC (the message says Nairobi local time)
    payer_name: str
    phone: PayerPhone
    account: str = ""  # paybill "Account Number"; "" otherwise
    balance: Decimal | None = None
    notes: tuple[str, ...] = ()  # what a person may want to know (e.g. a time without AM/PM)

    def incoming(self, shortcode: str = "") -> IncomingPayment:
        return IncomingPayment(trans_id=self.receipt, amount=self.amount, paid_at=self.paid_at, shortcode=shortcode,
                               reference=self.account, payer_name=self.payer_name, phone=self.phone,
                               source=PaymentSource.SMS)


@dataclass(frozen=True, slots=True)
class SmsReversal:
    """`original` was reversed; `receipt` is the reversal's own code."""

    receipt: str
    original: str
    amount: Decimal | None = None
    reversed_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class SmsOutgoing:
    """An M-PESA message about money going out (sent, paid, withdrawn): never a payment received."""

    receipt: str
    amount: Decimal | None


@dataclass(frozen=True, slots=True)
class SmsUnread:
    """Not read: kept raw and flagged by the caller. `looks_like_mpesa` separates "hello" from a shape we miss."""

    reason: str
    looks_like_mpesa: bool = False
    receipt: str | None = None


SmsReading = SmsPayment | SmsReversal | SmsOutgoing | SmsUnread

_F = re.IGNORECASE
# receipt codes are upper case in every real message: case-sensitive, so "Confirmed" is never a code
_CODE = r"(?P<code>(?!CONFIRMED)(?-i:[A-Z0-9]{8,12}))"
_AMT = r"(?:k\s?shs?\.?\s*)+(?P<{name}>\d{{1,3}}(?:,\d{{3}})+(?:\.\d{{1,2}})?|\d{{1,12}}(?:\.\d{{1,2}})?)(?![\d,])"
_DATE = r"(?P<day>\d{1,2})/(?P<month>\d{1,2})/(?P<year>\d{4}|\d{2})"
_TIME = r"(?P<hour>\d{1,2}):(?P<minute>\d{2})(?::(?P<second>\d{2}))?(?:\s*(?P<ampm>[ap]\.?m\.?))?"
_WHEN = rf"{_DATE}\s*(?:at\s*)?{_TIME}"
# plain or masked Kenyan mobile: 2547.., +2547.., 07.., 01.., with * or X standing for hidden digits
_PHONE = r"(?P<phone>(?:\+?254|0)[17*x][\d*x]{2,}(?:\s[\d*x]{2,}(?![\w*])){0,2})(?![\w*])"
_HEAD = rf"^{_CODE}\s*(?:confirmed\s*\.?\s*)?"

_RECEIVED_BUSINESS = re.compile(
    rf"{_HEAD}(?:on\s*{_WHEN}\s*)?{_AMT.format(name='amt')}\s*received\s*from\s+(?P<rest>.*)$", _F)
_RECEIVED_PERSONAL = re.compile(
    rf"{_HEAD}you\s*have\s*received\s*{_AMT.format(name='amt')}\s*from\s*(?P<who>.*?)\s*on\s*{_WHEN}(?P<tail>.*)$", _F)
_REVERSAL = re.compile(
    rf"{_HEAD}(?:reversal\s*of\s*)?transaction\s*(?:no\.?\s*)?(?P<orig>(?-i:[A-Z0-9]{{8,12}}))\s*"
    rf"(?:of\s*{_AMT.format(name='amt')}\s*)?(?:to\s.*?)?(?:has\s*been|was|is)\s*(?:successfully\s*)?reversed(?P<tail>.*)$",
    _F)
_OUTGOING = re.compile(r"\b(?:sent\s*to|paid\s*to|give\s*k\s?sh|withdraw|airtime|bought|transferred\s*to)", _F)
_TILL_REST = re.compile(rf"^{_PHONE}\s*(?P<name>.*?)\s*\.?\s*(?:new\s*account\s*balance\s*is.*)?$", _F)
_PAYBILL_REST = re.compile(
    rf"^(?P<name>.*?)\s*{_PHONE}\s*\.?\s*(?:account\s*(?:number|no\.?)\s*(?P<acc>.*?)\s*)?"
    rf"(?:new\s*utility\s*balance\s*is.*)?$", _F)
_WHO_PHONE = re.compile(rf"^(?P<name>.*?)\s*{_PHONE}$", _F)
_BALANCE = re.compile(rf"balance\s*(?:is\s*)?(?:now\s*)?{_AMT.format(name='bal')}", _F)
_ANY_AMOUNT = re.compile(_AMT.format(name="amt"), _F)
_ANY_WHEN = re.compile(rf"on\s*{_WHEN}", _F)
_LOOKS = re.compile(r"confirmed|m-?pesa|k\s?sh", _F)
_SPACES = re.compile(r"\s+")
# "via Pochi la Biashara" / "New business balance"; promotions mention Pochi too, so not the bare name
_POCHI = re.compile(r"via\s*pochi\s*la\s*biashara|new\s*business\s*balance", _F)
_CODE_ONLY = re.compile(rf"^{_CODE}(?![A-Z0-9])", _F)

# Empirical receipt-code letters (reference §E): a soft check, never a reason to refuse.
_YEAR_LETTER = {chr(ord("J") + i): 2015 + i for i in range(12)}  # J=2015 ... U=2026


def is_mpesa_sender(sender: str) -> bool:
    """The forwarded message came from Safaricom's M-PESA sender id (`MPESA`, `M-PESA`, any case)."""
    return sender.strip().casefold() in MPESA_SENDERS


def read_sms(text: object) -> SmsReading:
    """Read one M-PESA message. Never raises: whatever it is given, it answers with a value."""
    if not isinstance(text, str):
        return SmsUnread("not text")
    if len(text) > MAX_SMS:
        return SmsUnread(f"too long for an M-PESA message ({len(text)} characters)")
    flat = _SPACES.sub(" ", text).strip()
    try:
        return _read(flat)
    except (ValueError, OverflowError, ArithmeticError):  # a date like 31/2/24, a year out of range
        return SmsUnread("the date or an amount in the message is not valid", True, _readable_code(flat))


def _read(flat: str) -> SmsReading:
    if not flat:
        return SmsUnread("empty message")
    reversal = _REVERSAL.match(flat)
    if reversal:
        return _reversal(reversal)
    business = _RECEIVED_BUSINESS.match(flat)
    if business:
        return _business(business)
    personal = _RECEIVED_PERSONAL.match(flat)
    if personal:
        return _personal(personal)
    code = _readable_code(flat)
    looks = bool(_LOOKS.search(flat)) and code is not None
    if looks and _OUTGOING.search(flat):
        found = _ANY_AMOUNT.search(flat)
        return SmsOutgoing(code or "", _amount(found.group("amt")) if found else None)
    if looks and re.search(r"received", flat, _F):
        return SmsUnread("an M-PESA message without a date and time Hesabu can read", True, code)
    return SmsUnread("not an M-PESA payment message Hesabu can read", looks, code)


def _business(m: re.Match[str]) -> SmsReading:
    code = m.group("code").upper()
    if m.group("day") is None:
        return SmsUnread("an M-PESA message without a date and time", True, code)
    amount = _amount(m.group("amt"))
    if amount is None:
        return SmsUnread("the amount is not valid", True, code)
    paid_at, notes = _when(m)
    rest = m.group("rest")
    till = _TILL_REST.match(rest)
    if till and read_payer_phone(till.group("phone")) is not None:
        return _payment(SmsKind.TILL, code, amount, paid_at, till.group("name"), till.group("phone"), "",
                        rest, notes)
    paybill = _PAYBILL_REST.match(rest)
    if paybill and read_payer_phone(paybill.group("phone")) is not None:
        return _payment(SmsKind.PAYBILL, code, amount, paid_at, paybill.group("name"), paybill.group("phone"),
                        paybill.group("acc") or "", rest, notes)
    return SmsUnread("cannot tell the payer in this M-PESA message", True, code)


def _personal(m: re.Match[str]) -> SmsReading:
    code = m.group("code").upper()
    amount = _amount(m.group("amt"))
    if amount is None:
        return SmsUnread("the amount is not valid", True, code)
    paid_at, notes = _when(m)
    who = m.group("who")
    found = _WHO_PHONE.match(who)
    has_phone = found is not None and read_payer_phone(found.group("phone")) is not None
    name, phone_text = (found.group("name"), found.group("phone")) if found and has_phone else (who, "")
    tail = m.group("tail") or ""
    kind = SmsKind.POCHI if _POCHI.search(tail) else SmsKind.PERSONAL
    return _payment(kind, code, amount, paid_at, name, phone_text, "", tail, notes)


def _payment(kind: SmsKind, code: str, amount: Decimal, paid_at: datetime, name: str, phone_text: str,
             account: str, tail: str, notes: tuple[str, ...]) -> SmsReading:
    name = _clean(name)
    if len(name) > MAX_NAME:
        return SmsUnread("the payer's name is too long", True, code)
    balance = _BALANCE.search(tail)
    phone = read_payer_phone(phone_text) if phone_text else PayerPhone(MsisdnKind.MISSING)
    notes = notes + _code_note(code, paid_at)
    return SmsPayment(kind, code, amount, paid_at, name, phone or PayerPhone(MsisdnKind.MISSING),
                      _clean(account)[:MAX_NAME], _amount(balance.group("bal")) if balance else None, notes)


def _reversal(m: re.Match[str]) -> SmsReading:
    tail = m.group("tail") or ""
    amount = _amount(m.group("amt")) if m.group("amt") else None
    if amount is None:
        found = _ANY_AMOUNT.search(_BALANCE.sub("", tail))  # the amount, never the balance after it
        amount = _amount(found.group("amt")) if found else None
    when = _ANY_WHEN.search(tail)
    reversed_at = _when(when)[0] if when else None
    return SmsReversal(m.group("code").upper(), m.group("orig").upper(), amount, reversed_at)


def _when(m: re.Match[str]) -> tuple[datetime, tuple[str, ...]]:
    """D/M/YY and a 12-hour time in Nairobi, as UTC. A time without AM/PM is read as a 24-hour clock."""
    year = int(m.group("year"))
    year = 2000 + year if year < 100 else year
    if not 2000 <= year <= 2099:
        raise ValueError("year out of range")
    hour, minute = int(m.group("hour")), int(m.group("minute"))
    second = int(m.group("second") or 0)
    ampm = (m.group("ampm") or "").replace(".", "").lower()
    notes: tuple[str, ...] = ()
    if ampm:
        if not 1 <= hour <= 12:
            raise ValueError("not a 12-hour time")
        hour = hour % 12 + (12 if ampm == "pm" else 0)
    else:
        notes = ("the time has no AM/PM: read as a 24-hour clock",)
    local = datetime(year, int(m.group("month")), int(m.group("day")), hour, minute, second, tzinfo=NAIROBI)
    return local.astimezone(UTC), notes


def _amount(text: str | None) -> Decimal | None:
    if not text:
        return None
    value = parse_amount(text)
    return value if isinstance(value, Decimal) and value > 0 else None


def read_payer_phone(text: str | None) -> PayerPhone | None:
    """A plain number as its hash and last digits (never kept whole); a masked one as its visible ends."""
    if not text:
        return None
    compact = text.replace(" ", "").removeprefix("+")
    if compact.isdigit():
        canonical = normalise_phone(compact)
        if canonical is None:
            return None
        return PayerPhone(MsisdnKind.PLAIN, sha256=phone_sha256(canonical), last_digits=canonical[-3:])
    found = re.fullmatch(r"(\d{2,6})[*xX]+(\d{2,4})", compact)
    if found is None:
        return None
    prefix = found.group(1)
    prefix = "254" + prefix[1:] if prefix.startswith("0") else prefix  # 0720***167 compares as 254720...
    return PayerPhone(MsisdnKind.MASKED, masked_prefix=prefix, masked_suffix=found.group(2))


def _clean(text: str) -> str:
    return " ".join(text.split()).strip(" .,;:-")


def _readable_code(flat: str) -> str | None:
    found = _CODE_ONLY.match(flat)
    if found is None:
        return None
    code = found.group("code").upper()
    return code if any(c.isdigit() for c in code) and any(c.isalpha() for c in code) else None


def _code_note(code: str, paid_at: datetime) -> tuple[str, ...]:
    """Ten-character codes since 2015 start with a year and a month letter; a mismatch is worth a look."""
    local = paid_at.astimezone(NAIROBI)
    year = _YEAR_LETTER.get(code[0])
    if len(code) != 10 or year is None or local.year < 2015:
        return ()
    month = ord(code[1]) - ord("A") + 1
    if year != local.year or month != local.month:
        return ("the receipt code does not fit the message's date",)
    return ()
