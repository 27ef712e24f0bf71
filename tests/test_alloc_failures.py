"""Fault injection: with alloc_failures=on, failures are schedule choices that replay."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from zmodel.cli import cli

SCENARIO = "alloc_failures=on :: store 1 A"  # zswap-2013's entry-alloc-failure


def test_a_failure_outcome_is_recorded_and_replays(tmp_path: Path) -> None:
    runner = CliRunner()
    checked = runner.invoke(
        cli,
        [
            "check",
            "--design",
            "zswap-2013",
            "--scenario",
            SCENARIO,
            "--json",
            "--out",
            str(tmp_path),
        ],
    )
    assert checked.exit_code == 1, checked.output
    path = json.loads(checked.stdout)["scenarios"][0]["violations"][0]["counterexample"]
    saved = json.loads(Path(path).read_text())
    failed = [step for step in saved["trace"] if step["outcome"]]
    assert [step["label"] for step in failed] == ["zswap_entry_cache_alloc (v4)"]
    assert any(outcome for _tid, outcome in saved["schedule"])
    replayed = runner.invoke(cli, ["replay", path])
    assert replayed.exit_code == 1, replayed.output
    assert "VIOLATION RECURS" in replayed.stdout


def test_without_fault_injection_the_allocation_never_fails(tmp_path: Path) -> None:
    checked = CliRunner().invoke(
        cli, ["check", "--design", "zswap-2013", "--scenario", "store 1 A", "--out", str(tmp_path)]
    )
    assert checked.exit_code == 0, checked.output
