"""Keys that make what payers type comparable: invoice references, digits, names.

Both sides use these functions: the engine to build lookup keys from a payment, and the storage layer
to fill the indexed columns (`invoice.reference_key`, `invoice.digits_key`, `customer.account_key`,
`customer.name_key`, `customer_name_token.token`). Change one and both sides change together.
"""

from __future__ import annotations

import re
import unicodedata

_NOT_ALNUM = re.compile(r"[^0-9A-Z]")
_NAME_TOKEN = re.compile(r"[a-z]+")
_DIGIT_RUN = re.compile(r"\d+")
_O_RUN = re.compile(r"O+")

# Bounds on what a stranger's text can cost before a key reaches SQL. A Daraja account reference is at most
# 20 characters and a payer's name a few words, so real input is far inside them: a 4,000-character reference
# or a 70-word name is cut here, not turned into tens of thousands of lookups or a 70-way self-join.
MAX_KEY_TEXT = 100  # characters of a reference or name that are read
MAX_SLIP_KEY = 24  # longer keys get no one-slip variants (about 12 lookups per character)
MAX_NAME_TOKENS = 8  # words of a name that are looked up (and indexed)

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
    upper = _NOT_ALNUM.sub("", _fold(text[:MAX_KEY_TEXT]).upper())
    # a run of O's touching a digit is all zeros (`1OO2` -> `1002`): one linear pass over the runs
    return _O_RUN.sub(lambda m: "0" * len(m.group()) if _touches_digit(upper, m.start(), m.end())
                      else m.group(), upper)


def _touches_digit(text: str, start: int, end: int) -> bool:
    return (start > 0 and text[start - 1].isdigit()) or (end < len(text) and text[end].isdigit())


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
    seen: dict[str, None] = {}
    for token in _NAME_TOKEN.findall(_fold(text[: MAX_KEY_TEXT * 2]).lower()):
        if len(token) >= 2:
            seen.setdefault(token)
            if len(seen) == MAX_NAME_TOKENS:
                break
    return tuple(sorted(seen))


def name_key(text: str) -> str:
    """The whole name, order-free: `Wanjiku Mary` and `MARY WANJIKU` -> `mary wanjiku`.

    Index: `customer.name_key`; also the key of a learned payer-name alias."""
    return " ".join(name_tokens(text))


MAX_NUMBERS = 6  # `inv 15&31&43`: a reference naming more invoices than this is not read number by number
_GROUP = re.compile(r"[A-Z]*\d+")


_CONNECTORS = frozenset({"AND", "NA", "FOR", "YA", "OF", "PLUS", "N"})  # `for INV-0023 and 24`, `adm 9454 na 2822`


def number_groups(text: str) -> list[tuple[str, str]]:
    """The separate numbers a reference names, each with the letters typed before it, as (letters,
    digits): `inv 23 24` -> [("INV", "23"), ("INV", "24")], `adm 9454 and 2822` -> [("ADM", "9454"),
    ("ADM", "2822")], `B10 oct` -> [("B", "10")]. A later number without letters of its own takes the
    first one's when it is as long; when shorter than a first of three digits or more it completes it,
    as people write `INV-0023/24` and `INV-0134/46/66`: `24` -> `0024`. Linear in the text; empty when
    it names more than MAX_NUMBERS numbers."""
    groups: list[tuple[str, str]] = []
    letters = ""
    for word in (reference_key(w) for w in re.split(r"[^0-9A-Za-z]+", _fold(text)) if w):
        found = _GROUP.findall(word)
        if not found:
            letters = "" if word in _CONNECTORS else word
            continue
        for part in found:
            own = part.rstrip("0123456789")
            groups.append((own or letters, part[len(own):]))
            letters = ""
    if len(groups) > MAX_NUMBERS:
        return []
    if len(groups) > 1:
        groups = [groups[0]] + [_like_the_first(groups[0], later) for later in groups[1:]]
    return groups


def _like_the_first(first: tuple[str, str], later: tuple[str, str]) -> tuple[str, str]:
    letters, digits = later
    if len(digits) < len(first[1]) and len(first[1]) >= 3:
        digits = first[1][: len(first[1]) - len(digits)] + digits
    return (letters or (first[0] if len(digits) == len(first[1]) else ""), digits)


# What parents, tenants and shops pay for that no invoice is raised for (books, uniforms, a deposit): a
# reference naming one is asked about unless the amount pins an invoice exactly.
NOT_INVOICED_WORDS = frozenset(
    {"BOOK", "BOOKS", "UNIFORM", "UNIFORMS", "SWEATER", "SWEATERS", "SHOES", "TIE", "BAG", "KIT", "TRACKSUIT",
     "STATIONERY", "DEPOSIT", "DEPO", "VITABU", "SARE"}
)


def not_invoiced(text: str) -> bool:
    """True when a reference names something businesses sell without an invoice (`books`, `sweater`)."""
    return any(reference_key(w) in NOT_INVOICED_WORDS for w in re.split(r"[^0-9A-Za-z]+", _fold(text)) if w)


def is_filler(text: str) -> bool:
    """True when a reference carries nothing that could identify an invoice or a customer."""
    key = reference_key(text)
    return not key or key in FILLER_WORDS or (key.isdigit() and len(key) <= 2)


def one_slip_variants(key: str) -> set[str]:
    """Keys one typing slip away (a dropped, doubled, swapped or wrong character), for a second lookup.

    Bounded (about 12 per character, none past MAX_SLIP_KEY), so each variant is an ordinary indexed lookup."""
    if len(key) > MAX_SLIP_KEY:
        return set()
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
