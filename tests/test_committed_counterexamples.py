"""Every committed counterexample still reproduces its violation on its design.

A file that no longer fits (the design's steps changed) fails here as stale: re-run
the ``zmodel check`` that produced it and commit the new file instead.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from zmodel.counterexample import RECURS, load, replay_file

ROOT = Path(__file__).resolve().parent.parent
COMMITTED = sorted((ROOT / "counterexamples").rglob("*.json"))


def test_the_2013_leak_is_committed() -> None:
    leaks = [load(path) for path in COMMITTED if path.parent.name == "zswap-3.11"]
    assert any(
        cx.prop == "leak" and cx.scenario == "store 1 A :: writeback | free 1" for cx in leaks
    )


@pytest.mark.parametrize("path", COMMITTED, ids=lambda p: str(p.relative_to(ROOT)))
def test_committed_counterexample_recurs(path: Path) -> None:
    report = replay_file(path)
    assert report.same_design
    found = report.run.violation
    assert report.status == RECURS and report.exit_code == 1, (
        f"{path.name}: expected {report.cx.prop}, got "
        f"{found.prop + ': ' + found.message if found else 'no violation'}"
    )
    # The violation is where the file says it is.
    assert found is not None and found.step_index == report.cx.step
