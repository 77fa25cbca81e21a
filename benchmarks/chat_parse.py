"""Parse time of the chat benchmark's dev set: the reader in-process, and `hesabu chat parse` end to end.

Prints the reader's time for every dev message beside a same-run baseline (the old slash grammar,
`bot.assistant.grammar.parse_command`, on the same texts), the per-message p50/p99, a linearity check
(one message repeated 1x, 10x, 100x) and the wall time of the scorer's `run` (six `--today` invocations,
start-up included). Assertion-free: figures, not tests.
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

from bot.assistant.grammar import parse_command
from bot.assistant.understanding import read_message

ROOT = Path(__file__).resolve().parents[1]
DEV = Path("/work/shared/datasets/chat/dev.jsonl")
SCORER = Path("/work/shared/tools/score_chat.py")


def timed(fn, rows, repeat: int = 5) -> tuple[float, list[float]]:  # type: ignore[no-untyped-def]
    best, per = float("inf"), []
    for _ in range(repeat):
        per = []
        start = time.perf_counter()
        for row in rows:
            t0 = time.perf_counter()
            fn(row)
            per.append(time.perf_counter() - t0)
        best = min(best, time.perf_counter() - start)
    return best, per


def main() -> None:
    rows = [json.loads(line) for line in DEV.read_text(encoding="utf-8").splitlines() if line.strip()]
    read_message("warm up", date(2026, 12, 1))
    ours, per = timed(lambda r: read_message(r["text"], date.fromisoformat(r["today"])), rows)
    base, _ = timed(lambda r: parse_command(r["text"]), rows)
    per_ms = sorted(p * 1000 for p in per)
    print(f"dev set: {len(rows)} messages")
    print(f"reader (read_message)      {ours * 1000:8.2f} ms total  p50 {statistics.median(per_ms):.3f} ms  "
          f"p99 {per_ms[int(len(per_ms) * 0.99) - 1]:.3f} ms")
    print(f"baseline (parse_command)   {base * 1000:8.2f} ms total  ratio {ours / base:.1f}x")
    sentence = "Tuma invoice ya elfu mbili mia tano kwa Mary Wanjiku, sare za shule, due mwisho wa mwezi "
    for times in (1, 10, 100):
        text = sentence * times
        t0 = time.perf_counter()
        for _ in range(20):
            read_message(text, date(2026, 12, 1))
        print(f"linearity: {len(text):6d} chars  {(time.perf_counter() - t0) / 20 * 1000:8.3f} ms per message")
    if SCORER.exists():
        t0 = time.perf_counter()
        done = subprocess.run([sys.executable, str(SCORER), "run", str(DEV), str(ROOT / ".venv/bin/hesabu"), "chat",
                               "parse"], capture_output=True, text=True, check=False)
        lines = len(done.stdout.splitlines())
        print(f"hesabu chat parse, scorer run (6 invocations, start-up included): "
              f"{time.perf_counter() - t0:.2f} s, {lines} lines, exit {done.returncode}")


if __name__ == "__main__":
    main()
