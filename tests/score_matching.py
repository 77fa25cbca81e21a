# Copied from /work/shared/tools/score_matching.py (the shared matching benchmark scorer), unchanged below this line,
# so the repository scores replay decisions without the shared folder.
# ruff: noqa
"""Score matching decisions (JSON Lines) against a scenario's truth.

Usage: score_matching.py SCENARIO.json DECISIONS.jsonl [--json]
A decision line: {"TransID", "decision": auto|suggest|none, "allocations": [{invoice, amount}],
                  "suggestions": [[{invoice, amount}, ...], ...]}
"""
import json
import sys
from decimal import Decimal


def key(allocs, with_amount=True):
    if with_amount:
        return frozenset((a["invoice"], Decimal(str(a["amount"])).quantize(Decimal("0.01"))) for a in allocs)
    return frozenset(a["invoice"] for a in allocs)


def score(scenario, decisions):
    truth = scenario["truth"]
    got = {d["TransID"]: d for d in decisions}
    r = dict(payments=len(truth), related=0, unrelated=0, autos=0, auto_correct=0, auto_wrong=0,
             false_auto_unrelated=0, suggest_hit3=0, missing=0)
    for tid, t in truth.items():
        d = got.get(tid)
        if d is None:
            r["missing"] += 1
            d = {"decision": "none"}
        related = bool(t)
        r["related" if related else "unrelated"] += 1
        if d["decision"] == "auto":
            r["autos"] += 1
            if key(d.get("allocations", [])) == key(t):
                r["auto_correct"] += 1
                continue
            r["auto_wrong"] += 1
            if not related:
                r["false_auto_unrelated"] += 1
            continue
        if related:
            sugg = d.get("suggestions", [])[:3]
            if any(key(s, False) == key(t, False) for s in sugg):
                r["suggest_hit3"] += 1
    rel = max(r["related"], 1)
    r["auto_precision"] = round(r["auto_correct"] / r["autos"], 4) if r["autos"] else 1.0
    r["auto_recall"] = round(r["auto_correct"] / rel, 4)
    r["one_tap_or_better"] = round((r["auto_correct"] + r["suggest_hit3"]) / rel, 4)
    return r


def main():
    scenario = json.load(open(sys.argv[1]))
    decisions = [json.loads(line) for line in open(sys.argv[2]) if line.strip()]
    r = score(scenario, decisions)
    if "--json" in sys.argv:
        print(json.dumps(r))
    else:
        print(" ".join(f"{k}={v}" for k, v in r.items()))


if __name__ == "__main__":
    main()
