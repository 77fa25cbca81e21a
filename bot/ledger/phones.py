"""Payer phones: Kenyan numbers in every form owners type, and the forms Daraja sends.

Daraja C2B v1 sends sha256("2547XXXXXXXX") as hex, v2 a masked number ("2547 ***** 126",
"25470****149"); STK and old callbacks send the number itself. A customer's phone is kept in the
canonical 12-digit form so it can be hashed and compared to any of these.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from enum import StrEnum

_CANONICAL = re.compile(r"^254(7\d{8}|1\d{8})$")
_HEX64 = re.compile(r"^[0-9a-fA-F]{64}$")
_MASKED = re.compile(r"^(\d{3,6})[\s*xX]+(\d{2,4})$")


class MsisdnKind(StrEnum):
    PLAIN = "plain"
    SHA256 = "sha256"
    MASKED = "masked"
    MISSING = "missing"


def normalise_phone(text: str) -> str | None:
    """`0712 345 678`, `+254-712-345678`, `712345678`, `0110…` -> `254712345678`; None if not a Kenyan mobile."""
    digits = re.sub(r"[\s\-().]", "", text.strip())
    digits = digits.removeprefix("+")
    if not digits.isdigit():
        return None
    if digits.startswith("0") and len(digits) == 10:
        digits = "254" + digits[1:]
    elif len(digits) == 9 and digits[0] in "71":
        digits = "254" + digits
    return digits if _CANONICAL.match(digits) else None


def phone_sha256(canonical: str) -> str:
    """The hash Daraja C2B v1 sends in MSISDN (lowercase hex of the 12-digit form)."""
    return hashlib.sha256(canonical.encode("ascii")).hexdigest()


@dataclass(frozen=True, slots=True)
class PayerPhone:
    """What a callback tells about the payer's phone, in a form that can be compared."""

    kind: MsisdnKind
    sha256: str | None = None  # known for plain and sha256 kinds
    masked_prefix: str | None = None  # masked kind: the visible leading digits
    masked_suffix: str | None = None  # masked kind: the visible trailing digits
    last_digits: str | None = None  # plain kind: last three digits, for display only


def read_msisdn(raw: str | None) -> PayerPhone:
    """Classify the MSISDN field of a callback. Never keeps the full number itself."""
    text = (raw or "").strip()
    if not text:
        return PayerPhone(MsisdnKind.MISSING)
    if _HEX64.match(text):
        return PayerPhone(MsisdnKind.SHA256, sha256=text.lower())
    masked = _MASKED.match(text)
    if masked and ("*" in text or "x" in text.lower()):
        return PayerPhone(MsisdnKind.MASKED, masked_prefix=masked.group(1), masked_suffix=masked.group(2))
    canonical = normalise_phone(text)
    if canonical is not None:
        return PayerPhone(MsisdnKind.PLAIN, sha256=phone_sha256(canonical), last_digits=canonical[-3:])
    return PayerPhone(MsisdnKind.MISSING)


def masked_matches(phone: PayerPhone, canonical: str) -> bool:
    """Could this masked MSISDN be that canonical number? (A candidate, never proof.)"""
    if phone.kind is not MsisdnKind.MASKED or phone.masked_prefix is None or phone.masked_suffix is None:
        return False
    return canonical.startswith(phone.masked_prefix) and canonical.endswith(phone.masked_suffix)


def mask_phone(canonical: str) -> str:
    """`2547******678`: the only way a phone number may appear in a log or a message to staff."""
    return canonical[:4] + "*" * (len(canonical) - 7) + canonical[-3:]
