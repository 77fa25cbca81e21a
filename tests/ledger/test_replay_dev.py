"""The pure replay of every benchmark file (the copies in tests/datasets/matching: dev/ and dev_hard/) meets
its set's targets, file by file and pooled (held-out files of the same kinds are judged the same way)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
DATASETS = ROOT / "tests" / "datasets" / "matching"
FILES = sorted(DATASETS.glob("dev*/*.json"))
# pooled over each set; the per-file floors are the harness's TARGETS
POOLED = {
    "dev": {"auto_precision": 0.995, "auto_recall": 0.93, "one_tap_or_better": 0.99, "false_auto_unrelated": 0},
    "dev_hard": {"auto_precision": 0.99, "auto_recall": 0.75, "one_tap_or_better": 0.95, "false_auto_unrelated": 0},
}


def harness() -> ModuleType:
    spec = importlib.util.spec_from_file_location("matching_dev_pure", ROOT / "benchmarks" / "matching_dev_pure.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["matching_dev_pure"] = module
    spec.loader.exec_module(module)
    return module


def meets(result: dict[str, Any], wanted: dict[str, float]) -> bool:
    rates = all(result[k] >= wanted[k] for k in ("auto_precision", "auto_recall", "one_tap_or_better"))
    return rates and result["false_auto_unrelated"] <= wanted["false_auto_unrelated"]


def test_both_sets_are_in_the_repository() -> None:
    assert {p.parent.name for p in FILES} == {"dev", "dev_hard"}
    assert len(FILES) == 10


@pytest.mark.parametrize("path", FILES, ids=lambda p: f"{p.parent.name}-{p.stem}")
def test_each_file_meets_its_sets_floor(path: Path) -> None:
    module = harness()
    result, _ = module.score_file(path)
    assert module.meets_targets(result, path.parent.name), result


@pytest.mark.parametrize("kind", sorted(POOLED))
def test_each_set_pooled_meets_the_targets(kind: str) -> None:
    module = harness()
    results = [module.score_file(p)[0] for p in FILES if p.parent.name == kind]
    total = module.pooled(results)
    assert meets(total, POOLED[kind]), total
