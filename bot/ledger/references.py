"""Keys that make what payers type comparable: invoice references, digits, names.

Both sides use these functions: the engine to build lookup keys from a payment, and the storage layer
to fill the indexed columns (`invoice.reference_key`, `invoice.digits_key`, `customer.account_key`,
`customer.name_key`, `customer_name_token.token`). Change one and both sides change together.
"""

from __future__ import annotations

import re
import unicodedata

_NOT_ALNUM = re.compile(r"[^0-9A-Z]")
_O_IN_DIGITS = re.compile(r"(?<=\d)O|O(?=\d)")
_NAME_TOKEN = re.compile(r"[a-z]+")
_DIGIT_RUN = re.compile(r"\d+")

# Words payers type when the paybill insists on an account field; they identify nothing.
FILLER_WORDS = frozenset(
    {"PAY", "PAYMENT", "PAYMENTS", "RENT", "FEE", "FEES", "GOODS", "CASH", "SALE", "SALES", "OK", "X",
     "INVOICE", "INV", "ACCOUNT", "ACC", "BILL", "SCHOOL", "SHOP", "MPESA", "TEST", "NA", "NONE", "BALANCE"}
)


def _fold(text: str) -> str:
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")


def reference_key(text: str) -> str:
    """`#inv-0042 ` -> `INV0042`: upper case, only letters and digits, letter O read as 0 next to digits.

    Index: `invoice.reference_key` (unique per business) and `customer.account_key`."""
    upper = _NOT_ALNUM.sub("", _fold(text).upper())
    previous = None
    while previous != upper:  # `1OO2` needs two passes: each O turns into 0 once a neighbour is a digit
        previous, upper = upper, _O_IN_DIGITS.sub("0", upper)
    return upper


def digits_key(text: str) -> str:
    """The digits of a reference without leading zeros: `INV-0042` -> `42`, `FEE/2026/014` -> `2026014`.

    Index: `invoice.digits_key` (not unique: `RENT-042` and `INV-0042` share `42`)."""
    return "".join(_DIGIT_RUN.findall(reference_key(text))).lstrip("0")


def digit_count(text: str) -> int:
    """How many digits the payer typed (leading zeros count: `0023` is four, a deliberate number)."""
    return sum(1 for ch in reference_key(text) if ch.isdigit())


def name_tokens(text: str) -> tuple[str, ...]:
    """`MARY  wanjiku-Kamau` -> (`kamau`, `mary`, `wanjiku`): lower-case letter runs of 2+, sorted, unique.

    Index: one `customer_name_token(token, customer_id)` row per token."""
    return tuple(sorted({t for t in _NAME_TOKEN.findall(_fold(text).lower()) if len(t) >= 2}))


def name_key(text: str) -> str:
    """The whole name, order-free: `Wanjiku Mary` and `MARY WANJIKU` -> `mary wanjiku`.

    Index: `customer.name_key`; also the key of a learned payer-name alias."""
    return " ".join(name_tokens(text))


def is_filler(text: str) -> bool:
    """True when a reference carries nothing that could identify an invoice or a customer."""
    key = reference_key(text)
    return not key or key in FILLER_WORDS or (key.isdigit() and len(key) <= 2)


def one_slip_variants(key: str) -> set[str]:
    """Keys one typing slip away (a dropped, doubled, swapped or wrong character), for a second lookup.

    Bounded (about 12 per character), so each variant is an ordinary indexed lookup."""
    alphabet = "0123456789"
    out: set[str] = set()
    for i in range(len(key)):
        out.add(key[:i] + key[i + 1 :])
        if i + 1 < len(key):
            out.add(key[:i] + key[i + 1] + key[i] + key[i + 2 :])
        if key[i].isdigit():
            out.update(key[:i] + d + key[i + 1 :] for d in alphabet)
    for i in range(len(key) + 1):
        out.update(key[:i] + d + key[i:] for d in alphabet)
    out.discard(key)
    return out
