"""Reading what people type, the first half: the words of a message and the things in them.

`tokenize` splits a message into words (emoji dropped, a quoted name kept whole, punctuation remembered as
where a name or a description ends); the `find_*` functions mark phones, M-Pesa receipts, invoice references,
dates and amounts in English, Swahili and Sheng. `understanding.read_message` turns them into a `Reading`
(an intent and its canonical args, `../shared/datasets/chat/README.md`), the one reader of the live
conversation and of `hesabu chat parse`.

Pure and bounded: no database, no clock (`today` is an argument), no settings. A message is read from its
first `MAX_WORDS` words; each finder walks them once, looking a few words ahead, so the time is linear.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Literal

from bot.assistant import lexicon as lx
from bot.ledger.chat_input import InputError, read_amount
from bot.ledger.phones import normalise_phone
from bot.ledger.spoken import Found, read_date_at, read_number_words

Lang = Literal["en", "sw"]
BOOKING = frozenset({"invoice", "match", "undo", "record", "request"})
MAX_WORDS = 400  # a chat message longer than this is read from its first words only


@dataclass(frozen=True, slots=True)
class Reading:
    """What a message asks for. `intent` None: nothing to do yet; `ask` names the question to ask back
    (`invoice.amount`, `debt_or_payment`, `chat`…), and `partial`/`args` keep what was read, so the answer
    to the question can complete it."""

    intent: str | None
    args: dict[str, str] = field(default_factory=dict)
    lang: Lang = "en"
    ask: str | None = None
    partial: str | None = None  # the intent a question belongs to (`invoice` while asking for its amount)
    day: date | None = None  # the `today` it was read against
    sure: bool = False  # the words clearly say which language the message is in (not only names and numbers)

    @property
    def why(self) -> str | None:
        if self.intent is not None:
            return None
        return "chat" if self.ask in (None, "chat", "help") else "ask"


# --- words ---------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Tok:
    raw: str  # as typed, edge punctuation removed
    low: str  # case-folded
    stop: bool  # a comma, full stop, colon or line break follows: a name or a description ends here
    quoted: bool = False


_QUOTED = re.compile(r"[\"\u201c\u201d]([^\"\u201c\u201d]{1,60})[\"\u201c\u201d]")
_EDGE_OPEN = "\"'`\u201c\u2018([{<*_"
_EDGE_CLOSE = "\"'`\u201d\u2019)]}>*_"
_STOPS = ",;:.!?"


def tokenize(text: str) -> list[Tok]:
    """Words with their edge punctuation removed; emoji and symbols dropped; quotes keep a name whole."""
    clean = "".join(ch if _kept(ch) else " " for ch in unicodedata.normalize("NFKC", text))
    out: list[Tok] = []
    position = 0
    for quoted in _QUOTED.finditer(clean):
        out += _plain_tokens(clean[position:quoted.start()])
        name = " ".join(quoted.group(1).split())
        if name:
            out.append(Tok(name, name.casefold(), False, quoted=True))
        position = quoted.end()
        if len(out) >= MAX_WORDS:
            break
    out += _plain_tokens(clean[position:])
    return out[:MAX_WORDS]


def _kept(ch: str) -> bool:
    if ch in "\n\r":
        return True
    category = unicodedata.category(ch)
    return category[0] in "LNPZ" or ch in "/=-+#&@'"


_POSSESSIVE = re.compile(r"^(.{2,})['\u2019]s$", re.IGNORECASE)


def _plain_tokens(chunk: str) -> list[Tok]:
    out: list[Tok] = []
    for line in chunk.splitlines():
        words = line.split()
        for index, word in enumerate(words):
            raw = word.lstrip(_EDGE_OPEN)
            stop = index == len(words) - 1
            while raw and (raw[-1] in _STOPS or raw[-1] in _EDGE_CLOSE):
                if raw[-1] in _STOPS and not _keeps_dot(raw):
                    stop = True
                elif raw[-1] == "." and _keeps_dot(raw):
                    break
                raw = raw[:-1]
            possessive = _POSSESSIVE.match(raw)
            if possessive and raw.casefold() not in lx.ENGLISH:
                raw = possessive.group(1)
            if raw:
                out.append(Tok(raw, raw.casefold(), stop))
            elif out and stop:
                out[-1] = Tok(out[-1].raw, out[-1].low, True, out[-1].quoted)
    return out


def _keeps_dot(raw: str) -> bool:
    return raw.casefold() in ("sh.", "ksh.", "no.", "kshs.")


# --- things in a message -------------------------------------------------------------------------

_RECEIPT = re.compile(r"^[A-Z][A-Z0-9]{9}$")
_LINK_CODE = re.compile(r"^[A-Z0-9]{6,8}$")

_DIGITISH = re.compile(r"^\+?[0-9()\-]+$")
_REF_WORDS = frozenset({"invoice", "inv", "ankara", "invoce", "bill"})
_NUMBER_WORDS = frozenset({"namba", "number", "no", "no.", "nambari", "nr", "#"})
_CURRENCY = frozenset({"ksh", "kes", "kshs", "sh", "shs", "sh.", "ksh.", "kshs."})
_AFTER_AMOUNT = frozenset({"bob", "/=", "/-", "shillings", "shilingi", "ksh", "kes", "bob."})


@dataclass
class Facts:
    """What was found in a message, with the positions it used (so names and descriptions skip them)."""

    toks: list[Tok]
    today: date
    used: set[int] = field(default_factory=set)
    phones: list[tuple[int, int, str]] = field(default_factory=list)
    receipts: list[tuple[int, str]] = field(default_factory=list)
    amounts: list[tuple[int, int, Decimal | InputError]] = field(default_factory=list)
    dates: list[Found] = field(default_factory=list)
    command_at: int = -1  # the position of the command word that opens the message, if any
    question: bool = False  # the message has a question mark

    @property
    def lows(self) -> list[str]:
        return [t.low for t in self.toks]

    def has(self, *words: str) -> bool:
        present = self.words
        return any(w in present for w in words)

    @property
    def words(self) -> frozenset[str]:
        return frozenset(t.low for t in self.toks)

    def phrase(self, *phrase: str) -> bool:
        lows = self.lows
        n = len(phrase)
        return any(tuple(lows[i:i + n]) == phrase for i in range(len(lows) - n + 1))

    def prefixed(self, pattern: re.Pattern[str]) -> bool:
        return any(pattern.match(t.low) for t in self.toks)


def find_phones(facts: Facts) -> None:
    """`0712 345 678` typed with spaces is one phone; a phone is never an amount."""
    toks, i = facts.toks, 0
    while i < len(toks):
        run = 0
        while i + run < len(toks) and run < 5 and _DIGITISH.match(toks[i + run].raw):
            run += 1
        for n in range(run, 0, -1):
            phone = normalise_phone("".join(t.raw for t in toks[i:i + n]))
            if phone:
                facts.phones.append((i, i + n, phone))
                facts.used.update(range(i, i + n))
                i += n
                break
        else:
            i += 1


def find_receipts(facts: Facts) -> None:
    """M-Pesa receipts: ten letters and digits, a letter first, at least two digits (`UL4BQ7T2ZN`)."""
    for i, tok in enumerate(facts.toks):
        up = tok.raw.upper()
        if (i not in facts.used and _RECEIPT.match(up) and not up.startswith("INV")
                and sum(ch.isdigit() for ch in up) >= 2 and sum(ch.isalpha() for ch in up) >= 3):
            facts.receipts.append((i, up))
            facts.used.add(i)


def find_refs(facts: Facts) -> list[str]:
    """Invoice references: `INV-0042`, `inv 42`, `invoice 51`, `invoice namba 64`, `ankara INV-0029`, `#42`."""
    toks, refs = facts.toks, []
    i = 0
    while i < len(toks):
        up = toks[i].raw.upper()
        if i in facts.used:
            i += 1
            continue
        if up.startswith("INV") and re.match(r"^INV[-#/.]?[0-9]", up) and len(up) <= 24:
            refs.append(_ref_form(up))
            facts.used.add(i)
        elif re.fullmatch(r"#[0-9]{1,8}", up):
            refs.append(_invoice_number(up[1:]))
            facts.used.add(i)
        elif toks[i].low in _REF_WORDS or toks[i].low in _NUMBER_WORDS:
            j = i + 1
            while j < len(toks) and j < i + 3 and toks[j].low in _NUMBER_WORDS:
                j += 1
            if j < len(toks) and j not in facts.used and re.match(r"^[0-9]{1,8}$", toks[j].raw):
                refs.append(_invoice_number(toks[j].raw))
                facts.used.update(range(i, j + 1))
                i = j
        i += 1
    return refs


def _ref_form(up: str) -> str:
    digits = re.sub(r"^INV[-#/.]?", "", up)
    return _invoice_number(digits) if re.fullmatch(r"[0-9]{1,8}", digits) else up


def _invoice_number(digits: str) -> str:
    return f"INV-{int(digits):04d}"


def find_dates(facts: Facts, *, past: bool = False) -> None:
    lows, i = facts.lows, 0
    while i < len(lows):
        if i in facts.used:
            i += 1
            continue
        found = read_date_at(lows, i, facts.today, past=past)
        if found is not None and not any(j in facts.used for j in range(found.start, found.end)):
            facts.dates.append(found)
            facts.used.update(range(found.start, found.end))
            i = found.end
        else:
            i += 1


def find_amounts(facts: Facts) -> None:
    """Money in every form: `2,500`, `2.5k`, `Ksh 2,500`, `2500/=`, `650 bob`, `elfu mbili mia tano`, `2 thao`."""
    toks, lows, i = facts.toks, facts.lows, 0
    while i < len(toks):
        if i in facts.used:
            i += 1
            continue
        spoken = read_number_words(lows, i)
        if spoken is not None and not any(j in facts.used for j in range(i, spoken[1])):
            facts.amounts.append((i, spoken[1], read_amount(str(spoken[0]))))
            facts.used.update(range(i, spoken[1]))
            i = spoken[1]
            continue
        start, end, text = i, i + 1, toks[i].raw
        if lows[i] in _CURRENCY and i + 1 < len(toks) and i + 1 not in facts.used:
            end, text = i + 2, f"{toks[i].raw} {toks[i + 1].raw}"
        value = read_amount(text)
        if isinstance(value, InputError) and not _money_shaped(text):
            i += 1
            continue
        if isinstance(value, Decimal) and value < 10 and end == i + 1 and not _marked(toks[i].raw):
            i += 1  # "2 crates", "siku 5": a bare small number is not money
            continue
        if end < len(toks) and lows[end] in _AFTER_AMOUNT:
            end += 1
        facts.amounts.append((start, end, value))
        facts.used.update(range(start, end))
        i = end


_SHAPED = re.compile(r"^(?:kshs?\.?|kes|shs?\.?)?\s*-?\d[\d,.]*[km]?(?:/=|/-)?$", re.IGNORECASE)


def _money_shaped(text: str) -> bool:
    """`0`, `-500`, `ksh 0`: meant as money but refused; a phone-like `0712` is not."""
    return bool(_SHAPED.match(text.replace(" ", ""))) and not re.match(r"^0\d", text)


def _marked(raw: str) -> bool:
    low = raw.casefold()
    return low.endswith(("k", "m", "/=", "/-")) or any(low.startswith(c) for c in ("ksh", "kes", "sh"))


# --- the reply language --------------------------------------------------------------------------


def detect_lang(toks: list[Tok]) -> Lang:
    """`sw` when Swahili (or Sheng) words outnumber English ones; names and shared nouns count for neither."""
    sw, en = language_evidence(toks)
    return "sw" if sw > en else "en"


def language_evidence(toks: list[Tok]) -> tuple[int, int]:
    """How many Swahili (or Sheng) and how many English words the message has."""
    sw = en = 0
    for tok in toks:
        low = tok.low
        if low in lx.TITLES:
            continue
        if low in lx.SWAHILI or (lx.SWAHILI_VERB.match(low) and not tok.raw[:1].isupper()) or low in lx.SWAHILI_SHENG:
            sw += 1
        elif low in lx.ENGLISH:
            en += 1
    return sw, en
