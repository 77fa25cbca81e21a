"""Replay the matching benchmark's dev files through the pure engine and score the decisions.

Usage: python benchmarks/matching_dev_pure.py [FILE.json ...] [--out DIR] [--verbose]
Each file is replayed as the dataset README says: an empty book with the listed customers; events in
order; each payment decided, then the true settlement confirmed (undoing what the engine applied when it
differs) and learned from. Decisions are written as JSON Lines and scored with the shared scorer.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import sys
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from types import ModuleType
from typing import Any
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bot.ledger.allocation import Settlement, allocate_exact  # noqa: E402
from bot.ledger.book import Customer, OpenInvoice  # noqa: E402
from bot.ledger.matching import Decision, DecisionKind, MatchSettings, match_payment  # noqa: E402
from bot.ledger.memory_book import InMemoryBook  # noqa: E402
from bot.ledger.payments import IncomingPayment, PaymentSource  # noqa: E402
from bot.ledger.phones import normalise_phone, read_msisdn  # noqa: E402
from bot.ledger.replay import apply_changes, confirm  # noqa: E402

DATASETS = ROOT / "tests" / "datasets" / "matching"  # copies of the shared dev/ and dev_hard/ sets
SCORER = ROOT / "tests" / "score_matching.py"  # a copy of the shared scorer
METRICS = ("auto_precision", "auto_recall", "one_tap_or_better", "false_auto_unrelated")
# per file, for each set (the pooled targets are checked by tests/ledger/test_replay_dev.py)
TARGETS = {
    "dev": {"auto_precision": 0.985, "auto_recall": 0.90, "one_tap_or_better": 0.98, "false_auto_unrelated": 0},
    "dev_hard": {"auto_precision": 0.98, "auto_recall": 0.6, "one_tap_or_better": 0.9, "false_auto_unrelated": 0},
}


@dataclass(frozen=True)
class Replayed:
    name: str
    decisions: list[dict[str, Any]]
    details: list[tuple[dict[str, Any], Decision, list[dict[str, Any]]]]


def read_customer(raw: dict[str, Any]) -> Customer:
    phones = tuple(p for p in (normalise_phone(t) for t in raw.get("phones", [])) if p is not None)
    return Customer(raw["ref"], raw["name"], raw.get("account"), phones)


def read_invoice(raw: dict[str, Any]) -> OpenInvoice:
    amount = Decimal(raw["amount"])
    return OpenInvoice(raw["number"], raw["number"], raw["customer"], amount, amount,
                       date.fromisoformat(raw["issued"]), date.fromisoformat(raw["due"]))


def read_payment(raw: dict[str, Any], timezone: ZoneInfo) -> IncomingPayment:
    local = datetime.strptime(raw["TransTime"], "%Y%m%d%H%M%S").replace(tzinfo=timezone)
    names = (raw.get("FirstName", ""), raw.get("MiddleName", ""), raw.get("LastName", ""))
    return IncomingPayment(
        trans_id=raw["TransID"], amount=Decimal(raw["TransAmount"]), paid_at=local.astimezone(UTC),
        shortcode=raw["BusinessShortCode"], reference=(raw.get("BillRefNumber") or "").strip(),
        payer_name=" ".join(n for n in names if n), phone=read_msisdn(raw.get("MSISDN")), source=PaymentSource.C2B,
    )


def truth_settlement(book: InMemoryBook, payment: IncomingPayment, truth: list[dict[str, Any]]) -> Settlement:
    chosen = [(book.invoice(t["invoice"]), Decimal(t["amount"])) for t in truth]
    settled = allocate_exact(payment.amount, chosen)
    if settled is None:
        raise ValueError(f"{payment.trans_id}: the truth breaks an allocation invariant")
    return settled


def paid_customers(book: InMemoryBook, settled: Settlement) -> list[Customer]:
    ids = [settled.customer_id] if settled.customer_id else []
    ids += [book.invoice(a.invoice_id).customer_id for a in settled.allocations]
    return [c for c in (book.customer(i) for i in dict.fromkeys(ids)) if c is not None]


def decision_line(payment: IncomingPayment, decision: Decision) -> dict[str, Any]:
    def allocs(s: Settlement) -> list[dict[str, str]]:
        return [{"invoice": a.number, "amount": str(a.amount)} for a in s.allocations]

    return {"TransID": payment.trans_id, "decision": decision.kind.value,
            "allocations": allocs(decision.settlement) if decision.settlement else [],
            "suggestions": [allocs(s) for s in decision.suggestions],
            "confidence": decision.confidence, "reasons": list(decision.reasons)}


def replay(scenario: dict[str, Any], settings: MatchSettings | None = None) -> Replayed:
    settings = settings or MatchSettings()
    timezone = ZoneInfo(scenario["business"]["timezone"])
    book = InMemoryBook(read_customer(c) for c in scenario["customers"])
    lines: list[dict[str, Any]] = []
    details = []
    for event in scenario["events"]:
        if "invoice" in event:
            book.add_invoice(read_invoice(event["invoice"]))
            continue
        payment = read_payment(event["payment"], timezone)
        truth = scenario["truth"][payment.trans_id]
        settled = truth_settlement(book, payment, truth)  # read on the book before anything is applied
        decision = match_payment(payment, book, settings)
        if decision.settlement is not None:
            book.apply(apply_changes(decision.settlement))
        confirmation = confirm(payment, decision.settlement, settled, paid_customers(book, settled))
        book.apply(confirmation.changes)
        for alias in confirmation.aliases:
            book.add_alias(alias)
        lines.append(decision_line(payment, decision))
        details.append((event["payment"], decision, truth))
    return Replayed(scenario["name"], lines, details)


def load_scorer() -> ModuleType:
    spec = importlib.util.spec_from_file_location("score_matching", SCORER)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def score_file(path: Path, out_dir: Path | None = None) -> tuple[dict[str, Any], Replayed]:
    scenario = json.loads(path.read_text())
    replayed = replay(scenario)
    if out_dir is not None:
        out_dir.mkdir(parents=True, exist_ok=True)
        target = out_dir / f"{path.stem}.decisions.jsonl"
        target.write_text("".join(json.dumps(line) + "\n" for line in replayed.decisions))
    return load_scorer().score(scenario, replayed.decisions), replayed


def pooled(results: list[dict[str, Any]]) -> dict[str, Any]:
    total = {k: sum(r[k] for r in results) for k in ("related", "autos", "auto_correct", "suggest_hit3",
                                                       "false_auto_unrelated")}
    rel = max(total["related"], 1)
    return {"auto_precision": round(total["auto_correct"] / total["autos"], 4) if total["autos"] else 1.0,
            "auto_recall": round(total["auto_correct"] / rel, 4),
            "one_tap_or_better": round((total["auto_correct"] + total["suggest_hit3"]) / rel, 4),
            "false_auto_unrelated": total["false_auto_unrelated"]}


def meets_targets(result: dict[str, Any], kind: str = "dev") -> bool:
    wanted = TARGETS[kind]
    return (all(result[k] >= wanted[k] for k in ("auto_precision", "auto_recall", "one_tap_or_better"))
            and result["false_auto_unrelated"] <= wanted["false_auto_unrelated"])


def print_misses(replayed: Replayed) -> None:
    for raw, decision, truth in replayed.details:
        want = sorted((t["invoice"], t["amount"]) for t in truth)
        got = sorted((a.number, str(a.amount)) for a in decision.allocations)
        sugg = [sorted(a.number for a in s.allocations) for s in decision.suggestions[:3]]
        if decision.kind is DecisionKind.AUTO and got == want:
            continue
        if decision.kind is not DecisionKind.AUTO and not truth:
            continue
        if decision.kind is DecisionKind.SUGGEST and sorted(t["invoice"] for t in truth) in sugg:
            print(f"  ok-suggest {raw['TransAmount']:>9} ref={raw['BillRefNumber']!r} {raw['FirstName']} "
                  f"{raw['LastName']} want={want} {decision.reasons}")
            continue
        print(f"  MISS {decision.kind.value} {raw['TransAmount']:>9} ref={raw['BillRefNumber']!r} {raw['FirstName']} "
              f"{raw['LastName']} want={want} got={got} sugg={sugg} {decision.reasons}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("files", nargs="*", type=Path)
    parser.add_argument("--out", type=Path, default=Path("/tmp/hesabu-matching-dev"))
    parser.add_argument("--verbose", action="store_true")
    args = parser.parse_args()
    files = args.files or sorted(DATASETS.glob("dev*/*.json"))
    results: dict[str, list[dict[str, Any]]] = {}
    print(f"{'file':28} " + " ".join(f"{m:>20}" for m in METRICS))
    for path in files:
        result, replayed = score_file(path, args.out)
        results.setdefault(path.parent.name, []).append(result)
        print(f"{path.stem:28} " + " ".join(f"{result[m]:>20}" for m in METRICS))
        if args.verbose:
            print_misses(replayed)
    for kind, found in results.items():
        total = pooled(found)
        print(f"{'pooled ' + kind:28} " + " ".join(f"{total[m]:>20}" for m in METRICS))
    return 0 if all(meets_targets(r, k if k in TARGETS else "dev") for k, rs in results.items() for r in rs) else 1


if __name__ == "__main__":
    raise SystemExit(main())
