"""zmodel minimize: the 2013 leak gets smaller and still leaks; nothing is overwritten."""

from __future__ import annotations

import shutil
from pathlib import Path

from zmodel.analysis.minimize import minimize_file
from zmodel.counterexample import RECURS, load, replay_file

ROOT = Path(__file__).resolve().parents[2]
LEAK = ROOT / "counterexamples" / "zswap-3.11" / "leak-b7bbdb09db.json"


def test_the_2013_leak_is_minimised_and_still_leaks(tmp_path: Path) -> None:
    original = tmp_path / LEAK.name
    shutil.copy(LEAK, original)
    before = original.read_bytes()
    result, saved = minimize_file(original)
    assert original.read_bytes() == before  # never overwritten
    assert saved.path.parent == tmp_path and saved.path != original
    assert result.before.steps == 111 and result.after.steps < result.before.steps
    assert result.after.preemptions <= result.before.preemptions
    assert result.after.ops <= result.before.ops
    assert result.proved_minimal
    report = replay_file(saved.path)
    assert report.status == RECURS and report.cx.prop == "leak"
    # Minimising again is idempotent: the same file, reused.
    _, again = minimize_file(original)
    assert again.path == saved.path and again.reused
    assert "reclaim_retries=" in load(saved.path).scenario


def test_every_committed_counterexample_minimises_fast() -> None:
    import time

    for path in sorted((ROOT / "counterexamples").rglob("*.json"))[:8]:
        report = replay_file(path)
        from zmodel.analysis.minimize import minimize

        start = time.perf_counter()
        result = minimize(report.cx, report.design_cls)
        assert time.perf_counter() - start < 5
        assert result.after.steps <= result.before.steps
        assert result.after.preemptions <= result.before.preemptions
        assert result.cx.prop == report.cx.prop
