"""Live progress (--progress) and Ctrl-C: figures while a search runs, and after it stops."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from zmodel.check import EXIT_INTERRUPTED, Progress, ScenarioSpec, run_check
from zmodel.cli import cli
from zmodel.explore import BOUNDED, VIOLATION, EngineOptions
from zmodel.explore.progress import explored_fraction
from zmodel.zswap.designs import REGISTRY
from zmodel.zswap.scenario import parse_scenario

#: About half a minute of stateless DPOR on a quiet machine: long enough to interrupt.
LONG = ["--design", "zswap-6.12", "-s", "two-slots-writeback", "-X", "cache=off"]


def test_explored_fraction_of_a_uniform_tree() -> None:
    assert explored_fraction([]) == 0.0
    # Second of two branches at the root, third of four below it: 1/2 + 2/8.
    assert explored_fraction([(1, 2), (2, 4)]) == pytest.approx(0.75)
    assert explored_fraction([(5, 2)]) == 1.0  # never more than everything


def test_progress_lines_on_a_pipe(tmp_path: Path) -> None:
    args = ["check", "-s", "writeback-vs-free", "--out", str(tmp_path), "--progress"]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 1, result.output
    lines = result.stderr.splitlines()  # one a second, then the scenario's last figures
    assert lines and all(line.startswith("[1/1 writeback-vs-free] ") for line in lines)
    for figure in ("executions", "transitions", "/s)", "states", "stack depth", "(done)", "suite"):
        assert figure in lines[-1], figure
    # Nothing on stdout changes: the report is as without --progress.
    assert "verdict: VIOLATION" in result.stdout


def test_progress_json_lines(tmp_path: Path) -> None:
    args = ["check", "-s", "writeback-vs-free", "--out", str(tmp_path), "--progress=json"]
    result = CliRunner().invoke(cli, [*args, "--json"])
    events = [json.loads(line) for line in result.stderr.splitlines()]
    event = events[-1]
    assert all(e["status"] == "running" for e in events[:-1])
    assert event["name"] == "writeback-vs-free" and event["status"] == "done"
    assert event["executions"] > 0 and event["violations"] == 1
    assert json.loads(result.stdout)["verdict"] == "violation"


def test_progress_off_by_default_on_a_pipe(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["check", "-s", "writeback-vs-free", "--out", str(tmp_path)])
    assert result.stderr == ""


def test_an_interrupt_keeps_the_violations_found(tmp_path: Path) -> None:
    design = REGISTRY["zswap-3.11"]
    spec = ScenarioSpec(parse_scenario("store 1 A :: writeback | free 1"), None)

    def interrupt_once_found(event: Progress) -> None:
        if event.snapshot.violations and not event.done:
            raise KeyboardInterrupt

    report = run_check(
        design,
        design.name,
        [spec, spec],
        engine="dpor",
        options=EngineOptions(all_violations=True),
        out=tmp_path,
        on_progress=interrupt_once_found,
        interval=0.0,
    )
    assert report.interrupted and report.exit_code == EXIT_INTERRUPTED
    (check,) = report.scenarios  # the second scenario never started
    assert check.verdict == VIOLATION and check.saved and check.saved[0].path.is_file()
    assert any(bound.startswith("interrupted") for bound in check.result.bounds)


def test_sigint_prints_the_figures_so_far_and_exits_130(tmp_path: Path) -> None:
    command = [sys.executable, "-m", "zmodel", "check", *LONG, "--progress", "--json"]
    child = subprocess.Popen(
        [*command, "--out", str(tmp_path)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        # A background job may inherit SIGINT ignored; a user's Ctrl-C is not.
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    assert child.stderr is not None
    # Wait for the first progress line: the search is running.
    first = child.stderr.readline()
    assert first.startswith("[1/1 two-slots-writeback] "), first
    time.sleep(0.5)
    child.send_signal(signal.SIGINT)
    stdout, stderr = child.communicate(timeout=60)
    assert child.returncode == 130, stderr
    assert "Traceback" not in stderr
    assert "(interrupted)" in stderr.splitlines()[-1]
    data = json.loads(stdout)
    assert data["interrupted"] is True and data["verdict"] == BOUNDED
    (scenario,) = data["scenarios"]
    assert scenario["stats"]["executions"] > 0


def test_the_hypothesis_engine_reports_its_runs(tmp_path: Path) -> None:
    args = ["check", "-s", "writeback-vs-free", "--engine", "hypothesis", "--progress=json"]
    result = CliRunner().invoke(cli, [*args, "--out", str(tmp_path)])
    assert result.exit_code == 1, result.output
    event = json.loads(result.stderr.splitlines()[-1])
    assert event["status"] == "done" and event["executions"] > 0 and event["violations"] == 1


def test_an_interrupted_verify_exits_130(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import functools

    import zmodel.verify as verify
    from zmodel.report.verify import verify_json

    monkeypatch.setattr(verify, "run_check", functools.partial(run_check, interval=0.0))

    def interrupt(event: Progress) -> None:
        if not event.done:
            raise KeyboardInterrupt

    new, base = REGISTRY["zswap-3.11-leakfix"], REGISTRY["zswap-3.11"]
    scenarios = verify.resolve_verify_scenarios(new, base, ["writeback-vs-free"])
    report = verify.run_verify(
        new, new.name, base, base.name, scenarios,
        engine="dpor", options=EngineOptions(), out=tmp_path, on_progress=interrupt,
    )  # fmt: skip
    assert report.interrupted and report.exit_code == EXIT_INTERRUPTED
    assert verify_json(report)["interrupted"] is True
