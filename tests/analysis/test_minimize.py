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


def test_a_counterexample_with_nothing_smaller_is_kept_as_found() -> None:
    # The 2013 series' store-flush-vs-free leak: every scenario candidate loses the
    # leak and z3 proves its one preemption minimal, so the file stays byte for byte.
    from zmodel.analysis.minimize import minimize

    report = replay_file(ROOT / "counterexamples" / "zswap-2013" / "leak-c0ee4bfe4a.json")
    result = minimize(report.cx, report.design_cls)
    assert result.cx is report.cx and not result.smaller
    assert result.before == result.after
    assert (result.after.steps, result.after.preemptions, result.after.ops) == (279, 1, 5)
    assert result.proved_minimal


def test_no_two_committed_files_are_the_same_run() -> None:
    from zmodel.counterexample.store import same_run

    by_dir: dict[Path, list[Path]] = {}
    for path in sorted((ROOT / "counterexamples").rglob("*.json")):
        by_dir.setdefault(path.parent, []).append(path)
    for paths in by_dir.values():
        files = [(p, load(p)) for p in paths]
        for i, (a, cx_a) in enumerate(files):
            for b, cx_b in files[i + 1 :]:
                assert not same_run(cx_a, cx_b), f"{b.name} is {a.name} again"
