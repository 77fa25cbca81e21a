# Copied from /work/shared/tools/score_chat.py (the shared chat benchmark scorer), unchanged below this line,
# so the repository scores its own reader without the shared folder.
# ruff: noqa
#!/usr/bin/env python3
"""Score `hesabu chat parse` output against a chat-understanding set (standard library only).

Usage:
  score_chat.py EXPECTED.jsonl ACTUAL.jsonl [--json] [--errors]
      scores ACTUAL (the parser's lines) against EXPECTED (../datasets/chat/dev.jsonl or the held-out set)
  score_chat.py run EXPECTED.jsonl CMD [ARG ...]
      runs `CMD ARG ... --today DAY` once per distinct `today` in EXPECTED, feeding it that day's
      {"id", "text", "role"} lines on stdin, and prints what it printed: the ACTUAL file to score, e.g.
      score_chat.py run dev.jsonl hesabu chat parse > actual.jsonl

Printed per expected intent, per language (en, sw, mix), per form (slash, plain) and overall:
  intent   share of messages whose intent is the expected one (null included)
  exact    share whose intent and every canonical arg are equal after normalisation
  harmful  messages parsed as a book-changing intent (invoice, match, undo, record, request) when the
           expected intent is null or another intent
and overall also: wrong_booking (the expected book-changing intent with wrong args: the books would
change wrongly), missing (no line for the id) and reply_lang (the `lang` of non-null answers to en and
sw messages). The normalisation is the one in ../datasets/chat/README.md ("Scoring").
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import unicodedata
from collections import Counter, defaultdict
from datetime import date, timedelta
from decimal import Decimal, InvalidOperation

INTENT_ARGS = {
    "invoice": ("customer", "amount", "description", "due"),
    "invoices": ("filter",),
    "unmatched": (),
    "match": ("receipt", "invoice"),
    "undo": (),
    "summary": ("period",),
    "customer": ("query",),
    "export": ("month",),
    "settings": (),
    "help": (),
    "start": ("code",),
    "language": ("lang",),
    "request": ("invoice", "phone"),
    "verify": ("receipt", "amount"),
    "record": ("customer", "amount"),
}
BOOKING = frozenset({"invoice", "match", "undo", "record", "request"})
MISSING = "(missing)"
_LINK_WORDS = frozenset({"for", "of", "the", "a", "an", "ya", "wa", "za", "la", "cha", "vya", "kwa"})
_EDGE = " \t\n\"'`\u201c\u201d\u2018\u2019.,!?;:"
_CANONICAL_PHONE = re.compile(r"^254(7\d{8}|1\d{8})$")
_MONTH = re.compile(r"^(\d{4})-(\d{1,2})$")


class Invalid:
    """A value that could not be read: equal to nothing, not even another invalid value."""

    def __init__(self, raw):
        self.raw = raw

    def __eq__(self, other):
        return False

    def __hash__(self):
        return id(self)

    def __repr__(self):
        return f"invalid({self.raw!r})"


def text_key(value) -> str:
    """NFKC, case-folded, whitespace runs collapsed, quotes and . , ! ? ; : stripped from both ends."""
    text = " ".join(unicodedata.normalize("NFKC", str(value)).casefold().split())
    return text.strip(_EDGE)


def phone_key(value) -> str | None:
    """`0712 345 678`, `+254 712-345678`, `712345678`, `0110…` -> `254712345678`; None if not a Kenyan mobile."""
    digits = re.sub(r"[\s\-().]", "", str(value).strip()).removeprefix("+")
    if not digits.isdigit():
        return None
    if digits.startswith("0") and len(digits) == 10:
        digits = "254" + digits[1:]
    elif len(digits) == 9 and digits[0] in "71":
        digits = "254" + digits
    return digits if _CANONICAL_PHONE.match(digits) else None


def invoice_key(value) -> str:
    """`INV-0042`, `inv 42`, `invoice no. 0042`, `ankara namba 42`, `#42`, `42` -> `42`."""
    key = re.sub(r"[^0-9A-Z]", "", unicodedata.normalize("NFKC", str(value)).upper())
    for prefix in ("INVOICE", "ANKARA", "INV"):
        if key.startswith(prefix):
            key = key[len(prefix):]
            break
    for prefix in ("NUMBER", "NAMBA", "NO", "NR"):
        if key.startswith(prefix) and key[len(prefix):len(prefix) + 1].isdigit():
            key = key[len(prefix):]
            break
    return (key.lstrip("0") or "0") if key.isdigit() else key


def normalise(name: str, value, today: date):
    """The comparable form of one canonical arg. Absent, null and "" are the same; see README "Scoring"."""
    if isinstance(value, str) and not value.strip():
        value = None
    if value is None:
        return {"filter": "open", "period": "today", "month": f"{today:%Y-%m}"}.get(name)
    try:
        if name in ("customer", "query"):
            phone = phone_key(value)
            return f"tel:{phone}" if phone else text_key(value)
        if name == "description":
            words = text_key(value).split(" ")
            while words and words[0] in _LINK_WORDS:
                words = words[1:]
            return " ".join(words) or None
        if name == "amount":
            if isinstance(value, bool) or not isinstance(value, (str, int, float)):
                return Invalid(value)
            amount = Decimal(str(value).strip())
            return amount.quantize(Decimal("0.01")) if amount.is_finite() and amount > 0 else Invalid(value)
        if name == "due":
            return date.fromisoformat(str(value).strip()).isoformat()
        if name == "period":
            period = str(value).strip().lower()
            if re.match(r"^\d{4}-\d{2}-\d{2}$", period):
                day = date.fromisoformat(period)
                return {today: "today", today - timedelta(days=1): "yesterday"}.get(day, day.isoformat())
            return period
        if name == "month":
            found = _MONTH.match(str(value).strip())
            if not found or not 1 <= int(found.group(2)) <= 12:
                return Invalid(value)
            return f"{int(found.group(1)):04d}-{int(found.group(2)):02d}"
        if name == "receipt":
            return re.sub(r"\s", "", str(value)).upper()
        if name == "invoice":
            return invoice_key(value)
        if name == "phone":
            return phone_key(value) or Invalid(value)
        if name == "code":
            return str(value).strip().upper()
        return str(value).strip().lower()  # filter, lang
    except (ValueError, InvalidOperation, TypeError):
        return Invalid(value)


def read_jsonl(path: str) -> list[dict]:
    rows = []
    with open(path, encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as error:
                print(f"{path}:{number}: not JSON ({error})", file=sys.stderr)
                continue
            if isinstance(row, dict):
                rows.append(row)
    return rows


def judge(expected: dict, actual: dict | None) -> dict:
    """One message: intent_ok, exact, harmful, wrong_booking, got (the actual intent), lang_ok (or None)."""
    want = expected["expect"]
    intent = want.get("intent")
    today = date.fromisoformat(expected["today"])
    if actual is None:
        return {"intent_ok": False, "exact": False, "harmful": False, "wrong_booking": False, "got": MISSING,
                "lang_ok": None, "diff": []}
    got = actual.get("intent")
    got = got if got is None or got in INTENT_ARGS else f"?{got}"
    intent_ok = got == intent
    args = actual.get("args") if isinstance(actual.get("args"), dict) else {}
    diff = []
    if intent_ok and intent is not None:
        for name in INTENT_ARGS[intent]:
            a = normalise(name, want["args"].get(name), today)
            b = normalise(name, args.get(name), today)
            if a != b:
                diff.append(f"{name}: {a!s} != {b!s}")
    exact = intent_ok and not diff
    lang_ok = None
    if got is not None and got != MISSING and expected.get("lang") in ("en", "sw"):
        lang_ok = actual.get("lang") == expected["lang"]
    return {"intent_ok": intent_ok, "exact": exact, "harmful": got in BOOKING and got != intent,
            "wrong_booking": got in BOOKING and intent_ok and not exact, "got": got, "lang_ok": lang_ok,
            "diff": diff}


def tally(verdicts: list[dict]) -> dict:
    n = len(verdicts)
    share = (lambda k: round(sum(v[k] for v in verdicts) / n, 4)) if n else (lambda k: 0.0)
    langs = [v["lang_ok"] for v in verdicts if v["lang_ok"] is not None]
    return {"n": n, "intent": share("intent_ok"), "exact": share("exact"),
            "harmful": sum(v["harmful"] for v in verdicts), "harmful_rate": share("harmful"),
            "wrong_booking": sum(v["wrong_booking"] for v in verdicts),
            "missing": sum(v["got"] == MISSING for v in verdicts),
            "reply_lang": round(sum(langs) / len(langs), 4) if langs else None}


def score(expected_rows: list[dict], actual_rows: list[dict]) -> tuple[dict, list[tuple[dict, dict]]]:
    actual = {}
    for row in actual_rows:
        actual.setdefault(str(row.get("id")), row)
    judged = [(row, judge(row, actual.get(str(row["id"])))) for row in expected_rows]
    groups = {"by_intent": defaultdict(list), "by_lang": defaultdict(list), "by_form": defaultdict(list)}
    for row, verdict in judged:
        groups["by_intent"][row["expect"].get("intent") or "null"].append(verdict)
        groups["by_lang"][row.get("lang", "?")].append(verdict)
        groups["by_form"]["slash" if row["text"].lstrip().startswith("/") else "plain"].append(verdict)
    order = [*INTENT_ARGS, "null", "en", "sw", "mix", "slash", "plain"]
    report = {"overall": tally([v for _, v in judged])}
    for name, group in groups.items():
        keys = sorted(group, key=lambda k: order.index(k) if k in order else len(order))
        report[name] = {k: tally(group[k]) for k in keys}
    confusions = Counter((row["expect"].get("intent") or "null", str(v["got"]) if v["got"] else "null")
                         for row, v in judged if not v["intent_ok"])
    report["confusions"] = [{"expected": e, "got": g, "n": n} for (e, g), n in confusions.most_common(12)]
    return report, judged


def print_report(report: dict, title: str) -> None:
    o = report["overall"]
    print(title)
    print(f"overall  n={o['n']} intent={o['intent']:.3f} exact={o['exact']:.3f} harmful={o['harmful_rate']:.3f} "
          f"({o['harmful']}) wrong_booking={o['wrong_booking']} missing={o['missing']} reply_lang={o['reply_lang']}")
    for name, label in (("by_intent", "expected intent"), ("by_lang", "language"), ("by_form", "form")):
        print(f"\n{label:<16} {'n':>4} {'intent':>7} {'exact':>7} {'harmful':>8}")
        for key, t in report[name].items():
            print(f"{key:<16} {t['n']:>4} {t['intent']:>7.3f} {t['exact']:>7.3f} {t['harmful']:>8}")
    if report["confusions"]:
        print("\nmost frequent intent errors (expected -> got): "
              + ", ".join(f"{c['expected']}->{c['got']} {c['n']}" for c in report["confusions"]))


def run(expected_path: str, command: list[str]) -> int:
    """Feed each day's messages to `command --today DAY` and pass its output through."""
    days: dict[str, list[dict]] = defaultdict(list)
    for row in read_jsonl(expected_path):
        days[row["today"]].append({"id": row["id"], "text": row["text"], "role": row["role"]})
    status = 0
    for day, rows in days.items():
        lines = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows)
        try:
            done = subprocess.run([*command, "--today", day], input=lines, capture_output=True, text=True,
                                  encoding="utf-8", check=False)
        except OSError as error:
            print(f"score_chat: cannot run {' '.join(command)}: {error}", file=sys.stderr)
            return 1
        sys.stdout.write(done.stdout)
        if done.stderr:
            sys.stderr.write(done.stderr)
        if done.returncode != 0:
            print(f"score_chat: {' '.join(command)} --today {day} exited {done.returncode}", file=sys.stderr)
            status = 1
    return status


def main(argv: list[str]) -> int:
    if len(argv) >= 3 and argv[0] == "run":
        return run(argv[1], argv[2:])
    paths = [a for a in argv if not a.startswith("--")]
    if len(paths) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    expected_rows, actual_rows = read_jsonl(paths[0]), read_jsonl(paths[1])
    report, judged = score(expected_rows, actual_rows)
    if "--json" in argv:
        print(json.dumps(report))
    else:
        print_report(report, f"chat understanding: {paths[1]} against {paths[0]}")
    if "--errors" in argv:
        print("\nerrors (id lang: text | expected | got)")
        for row, v in judged:
            if not v["exact"] or v["lang_ok"] is False:
                want = row["expect"]
                got = v["got"] if v["got"] else "null"
                why = "; ".join(v["diff"]) or ("reply lang" if v["intent_ok"] else f"got {got}")
                flag = " HARMFUL" if v["harmful"] else (" WRONG-BOOKING" if v["wrong_booking"] else "")
                print(f"{row['id']} {row.get('lang')}: {row['text']!r} | {want.get('intent')} "
                      f"{json.dumps(want.get('args', {}), ensure_ascii=False)} | {why}{flag}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
