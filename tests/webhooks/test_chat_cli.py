"""`hesabu chat parse` as the scorer runs it: the installed console script, JSON Lines in and out."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

HESABU = Path(sys.executable).with_name("hesabu")


def run(lines: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(HESABU), "chat", "parse", *args], input=lines, capture_output=True, text=True,
                          encoding="utf-8", check=False, timeout=60)


def test_one_answer_per_line_in_order_with_bad_lines_answered_as_errors() -> None:
    lines = "\n".join([
        json.dumps({"id": "a", "text": "Tuma invoice kwa Mary Wanjiku ya 2500, due kesho", "role": "owner"}),
        "{broken",
        json.dumps({"id": "b", "text": None}),
        json.dumps({"id": "c", "text": "nani hajalipa? 🙏", "role": "staff"}),
    ]) + "\n"
    done = run(lines, "--today", "2026-12-01")
    assert done.returncode == 0, done.stderr
    out = [json.loads(line) for line in done.stdout.splitlines()]
    assert out[0] == {"id": "a", "intent": "invoice", "lang": "sw", "args": {
        "customer": "Mary Wanjiku", "amount": "2500.00", "due": "2026-12-02"}}
    assert out[1]["id"] is None and out[1]["error"]
    assert out[2]["id"] == "b" and out[2]["error"]
    assert out[3]["intent"] == "invoices" and out[3]["args"] == {"filter": "open"}


def test_a_bad_today_is_refused() -> None:
    done = run("", "--today", "1/12/2026")
    assert done.returncode == 2 and "--today" in done.stderr
