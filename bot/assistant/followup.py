"""A question asked back, and the answer that completes it.

When a message is half a request ("Tengeneza invoice ya 2500": for whom?), the conversation keeps
`pending_question(reading)` in the chat's state and asks. The next message is read as the answer to that one
question (`answer`): a name, an amount, a date, an M-Pesa code, an invoice number, "invoice" or "paid". The
request is then checked again (`complete`), so a second missing piece gets the next question. Pure: the
conversation stores the pending dict and does the booking.
"""

from __future__ import annotations

import re
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from bot.assistant import lexicon as lx
from bot.assistant.reading import (
    Facts,
    Lang,
    Reading,
    find_amounts,
    find_dates,
    find_phones,
    find_receipts,
    find_refs,
    tokenize,
)
from bot.ledger.spoken import DateProblem

# the question -> the piece of the request its answer fills
PIECES = {
    "invoice.customer": "customer", "invoice.two_customers": "customer", "record.customer": "customer",
    "invoice.amount": "amount", "record.amount": "amount", "amount.bad": "amount", "invoice.due": "due",
    "match.invoice": "invoice", "request.invoice": "invoice", "match.receipt": "receipt",
    "verify.receipt": "receipt", "customer.query": "query", "language.which": "lang", "summary.day": "period",
    "debt_or_payment": "kind",
}
REQUIRED = {
    "invoice": ("customer", "amount"), "record": ("customer", "amount"), "match": ("receipt", "invoice"),
    "request": ("invoice",), "verify": ("receipt",), "customer": ("query",), "language": ("lang",),
    "summary": ("period",),
}
_ASK_FOR = {
    ("invoice", "customer"): "invoice.customer", ("invoice", "amount"): "invoice.amount",
    ("record", "customer"): "record.customer", ("record", "amount"): "record.amount",
    ("match", "receipt"): "match.receipt", ("match", "invoice"): "match.invoice",
    ("request", "invoice"): "request.invoice", ("verify", "receipt"): "verify.receipt",
    ("customer", "query"): "customer.query", ("language", "lang"): "language.which",
    ("summary", "period"): "summary.day",
}
_KIND_INVOICE = frozenset({"invoice", "invoce", "deni", "debt", "bill", "ankara", "owes", "anadaiwa", "credit",
                           "mkopo", "1"})
_KIND_PAID = frozenset({"paid", "payment", "amelipa", "malipo", "amepay", "record", "received", "nimepokea", "2",
                        "cash"})


def pending_question(reading: Reading) -> dict[str, Any] | None:
    """What to keep while asking: None when the question has no request behind it (chat, help)."""
    if reading.intent is not None or reading.ask not in PIECES or reading.partial is None:
        return None
    return {"intent": reading.partial, "args": dict(reading.args), "ask": reading.ask, "lang": reading.lang}


def answer(pending: dict[str, Any], text: str, today: date) -> Reading | None:
    """The pending request completed by `text`, or None when `text` is not an answer to its question."""
    piece = PIECES.get(str(pending.get("ask")))
    intent = str(pending.get("intent"))
    args = {str(k): str(v) for k, v in dict(pending.get("args") or {}).items()}
    lang: Lang = "sw" if pending.get("lang") == "sw" else "en"
    if piece is None:
        return None
    facts = Facts(tokenize(text), today, question="?" in text)
    if not facts.toks:
        return None
    if piece == "kind":
        words = facts.words
        if words & _KIND_INVOICE and not words & _KIND_PAID:
            return complete("invoice", args, lang)
        if words & _KIND_PAID and not words & _KIND_INVOICE:
            return complete("record", args, lang)
        return None
    value = _read_piece(piece, facts, today)
    if value is None:
        return None
    args[piece] = value
    if piece == "due" and intent == "invoice":
        pass
    return complete(intent, args, lang)


def complete(intent: str, args: dict[str, str], lang: Lang) -> Reading:
    """The request if every piece is there, else the question for the first missing one."""
    for piece in REQUIRED.get(intent, ()):
        if not args.get(piece):
            return Reading(None, args, lang, ask=_ASK_FOR[(intent, piece)], partial=intent)
    return Reading(intent, args, lang)


def _read_piece(piece: str, facts: Facts, today: date) -> str | None:
    if piece in ("customer", "query"):
        return _name(facts)
    if piece == "amount":
        find_phones(facts)
        find_dates(facts)
        find_amounts(facts)
        good = [a[2] for a in facts.amounts if isinstance(a[2], Decimal)]
        return str(good[0]) if good else None
    if piece == "due":
        find_dates(facts)
        if facts.dates and isinstance(facts.dates[0].value, date):
            return facts.dates[0].value.isoformat()
        bare = [t.raw for t in facts.toks if re.fullmatch(r"[0-9]{1,2}", t.raw) and 1 <= int(t.raw) <= 31]
        if bare and not facts.dates:
            from bot.ledger.spoken import read_date_at

            found = read_date_at(["tarehe", bare[0]], 0, today)
            return found.value.isoformat() if found and isinstance(found.value, date) else None
        return None
    if piece == "invoice":
        refs = find_refs(facts)
        if not refs:
            digits = [t.raw for t in facts.toks if re.fullmatch(r"[0-9]{1,8}", t.raw)]
            return f"INV-{int(digits[0]):04d}" if digits else None
        return refs[0]
    if piece == "receipt":
        find_receipts(facts)
        return facts.receipts[0][1] if facts.receipts else None
    if piece == "lang":
        for tok in facts.toks:
            found_lang = {"kiswahili": "sw", "swahili": "sw", "sw": "sw", "english": "en", "kiingereza": "en",
                          "en": "en"}.get(tok.low)
            if found_lang:
                return found_lang
        return None
    if piece == "period":
        find_dates(facts, past=True)
        if facts.dates and isinstance(facts.dates[0].value, date) and not isinstance(facts.dates[0].value,
                                                                                      DateProblem):
            day = facts.dates[0].value
            return {today: "today", today - timedelta(days=1): "yesterday"}.get(day, day.isoformat())
        return None
    return None


def _name(facts: Facts) -> str | None:
    """A name given as the answer: a phone in its 12-digit form, else the words without filler ("ni ya Mary
    Wanjiku" -> "Mary Wanjiku")."""
    find_phones(facts)
    if facts.phones:
        return facts.phones[0][2]
    from bot.assistant.understanding import name_runs

    if any(t.low in lx.KNOWN and t.low not in lx.TITLES and t.low not in lx.FILLER for t in facts.toks):
        runs = name_runs(facts)  # "ni ya Mary Wanjiku": the name inside the sentence
        return " ".join(t.raw for t in facts.toks[runs[0][0]:runs[0][1]]) if runs else None
    words = [t.raw for t in facts.toks if t.low not in lx.FILLER]
    while words and words[0].casefold() in ("ni", "ya", "kwa", "for", "to", "it's", "its", "is", "wa", "la",
                                              "jina", "name", "customer", "mteja"):
        words = words[1:]
    if not words or len(words) > 6 or not any(ch.isalpha() for ch in "".join(words)):
        return None
    return " ".join(words)
