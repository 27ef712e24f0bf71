"""``zmodel verify NEW --against BASE``: the comparison table, exit codes, --json."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from zmodel.cli import cli
from zmodel.verify import (
    ALL_PROPERTIES,
    FIXED,
    HOLDS,
    OTHER_PROPERTIES,
    REGRESSED,
    SAME,
    VIOLATED,
    resolve_verify_scenarios,
)
from zmodel.zswap.designs import REGISTRY, resolve_design
from zmodel.zswap.scenario import parse_scenario

LEAK = "store 1 A :: writeback | free 1"
UNSERIALIZED = "serialize=off :: store 1 A :: load 1 | free 1"


def run(*args: str) -> Result:
    return CliRunner().invoke(cli, list(args), env={"COLUMNS": "100"})


def verify_json(tmp_path: Path, *args: str) -> tuple[int, dict[str, Any]]:
    result = run("verify", *args, "--json", "--out", str(tmp_path))
    return result.exit_code, json.loads(result.stdout)


def rows(data: dict[str, Any]) -> dict[tuple[str, str], dict[str, Any]]:
    return {(c["scenario"], c["property"]): c for c in data["changes"]}


@pytest.mark.parametrize("new", ["zswap-3.13", "zswap-3.11-leakfix"])
def test_the_2013_leak_is_reported_fixed(new: str, tmp_path: Path) -> None:
    if new not in REGISTRY:
        pytest.skip(f"{new} is not registered yet")
    result = run(
        "verify", new, "--against", "zswap-3.11", "--scenario", LEAK, "--out", str(tmp_path)
    )
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    leak_row = next(line for line in lines if line.strip().startswith("leak "))
    assert leak_row.split() == ["leak", "VIOLATED", "holds", "fixed"]
    # The base's counterexample is shown, with the command that replays it against NEW.
    replay = next(line for line in lines if "replay on" in line)
    assert f"--design {new}" in replay
    cx = Path(replay.split("zmodel replay ")[1].split()[0])
    assert cx.is_file() and cx.parent.name == "zswap-3.11"
    assert f"{new}: PASS (exhaustive)" in result.output


def test_json_holds_one_check_object_per_design(tmp_path: Path) -> None:
    code, data = verify_json(tmp_path, "zswap-3.11-leakfix", "--against", "zswap-3.11", "-s", LEAK)
    assert code == 0
    assert set(data) == {"verdict", "design", "against", "new", "base", "changes"}
    assert (data["verdict"], data["design"], data["against"]) == (
        "pass",
        "zswap-3.11-leakfix",
        "zswap-3.11",
    )
    for side, design, verdict in (
        ("new", "zswap-3.11-leakfix", "pass"),
        ("base", "zswap-3.11", "violation"),
    ):
        check = data[side]
        assert set(check) == {"verdict", "design", "scenarios"}
        assert (check["design"], check["verdict"]) == (design, verdict)
        assert [s["scenario"] for s in check["scenarios"]] == [LEAK]
    by_key = rows(data)
    leak = by_key[(LEAK, "leak")]
    assert (leak["base"], leak["new"], leak["change"]) == (VIOLATED, HOLDS, FIXED)
    assert Path(leak["counterexample"]).is_file()
    other = by_key[(LEAK, OTHER_PROPERTIES)]
    assert (other["base"], other["new"], other["change"]) == (HOLDS, HOLDS, SAME)


def test_a_regression_exits_1_and_names_the_new_counterexample(tmp_path: Path) -> None:
    result = run(
        "verify",
        "q3-free-zpage-first",
        "--against",
        "zswap-3.11",
        "--scenario",
        "load-vs-free-unserialized",
        "--out",
        str(tmp_path),
    )
    assert result.exit_code == 1, result.output
    row = next(line for line in result.output.splitlines() if "use-after-free  " in line)
    assert row.split() == ["use-after-free", "holds", "VIOLATED", "regressed"]
    saved = sorted((tmp_path / "q3-free-zpage-first").glob("use-after-free-*.json"))
    assert len(saved) == 1 and str(saved[0]) in result.output
    assert "new in q3-free-zpage-first: use-after-free" in result.output


def test_both_sides_are_searched_for_every_property(tmp_path: Path) -> None:
    # q1-unlocked-int violates two properties here; stop-at-first would report one.
    code, data = verify_json(
        tmp_path, "q1-unlocked-int", "--against", "zswap-3.11", "-s", UNSERIALIZED
    )
    assert code == 1
    changes = {c["property"]: c["change"] for c in data["changes"]}
    assert changes == {"use-after-free": REGRESSED, "leak": REGRESSED, OTHER_PROPERTIES: SAME}


def test_a_clean_scenario_is_one_row_and_exit_0(tmp_path: Path) -> None:
    code, data = verify_json(
        tmp_path, "q1-atomic-unlocked", "--against", "zswap-3.11", "-s", "store 1 A :: load 1"
    )
    assert code == 0
    assert [(c["property"], c["change"]) for c in data["changes"]] == [(ALL_PROPERTIES, SAME)]


def test_scenario_names_resolve_against_either_suite() -> None:
    new, base = resolve_design("q2-lockless-walk"), resolve_design("zswap-3.11")
    (own,) = resolve_verify_scenarios(new, base, ["walk-vs-erase-free"])
    assert (own.new_name, own.base_name) == ("walk-vs-erase-free", None)
    (theirs,) = resolve_verify_scenarios(new, base, ["writeback-vs-free"])
    assert (theirs.new_name, theirs.base_name) == (None, "writeback-vs-free")
    assert theirs.scenario.text == LEAK
    # A text equal to a suite scenario gets its name on the side that has it.
    (text,) = resolve_verify_scenarios(new, base, [LEAK])
    assert text.base_name == "writeback-vs-free" and text.new_name is None


def test_default_scenarios_are_the_union_of_both_suites() -> None:
    new, base = resolve_design("q1-unlocked-int"), resolve_design("zswap-3.11")
    union = resolve_verify_scenarios(new, base, [])
    texts = [vs.scenario.text for vs in union]
    assert len(texts) == len(set(texts))
    suites = {parse_scenario(t).text for _, t in (*new.suite, *base.suite)}
    assert set(texts) == suites
    # NEW's suite first; a scenario in both suites carries each side's name.
    assert union[0].new_name == new.suite[0][0]
    shared = next(vs for vs in union if vs.new_name == "load-vs-writeback")
    assert shared.base_name == "load-vs-writeback"
    only_base = next(vs for vs in union if vs.base_name == "writeback-vs-free")
    assert only_base.new_name is None


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["no-such-design", "--against", "zswap-3.11"], "unknown design"),
        (["zswap-3.11", "--against", "zswap-3.11", "-s", "nosuchname"], "neither a scenario"),
        (["zswap-3.11"], "--against"),
    ],
)
def test_input_errors_exit_2_with_one_line(args: list[str], needle: str) -> None:
    result = run("verify", *args)
    assert result.exit_code == 2, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("zmodel: error: ") and needle in lines[0]


def test_exit_follows_new_sides_bounded_verdict(tmp_path: Path) -> None:
    result = run(
        "verify", "zswap-3.11-leakfix", "--against", "zswap-3.11", "--scenario", LEAK,
        "--engine", "random", "-X", "runs=3", "--out", str(tmp_path),
    )  # fmt: skip
    # NEW has no violation, but a randomised search is no proof: exit 4, not 0.
    assert result.exit_code == 4, result.output


def test_saved_counterexamples_are_minimised_and_replay_on_new(tmp_path: Path) -> None:
    args = ["verify", "zswap-3.11-leakfix", "--against", "zswap-3.11", "-s", LEAK]
    result = run(*args, "--out", str(tmp_path / "min"))
    assert result.exit_code == 0, result.output
    assert "    minimised: 111 -> " in result.output  # the raw find is 111 steps
    replay = next(line for line in result.output.splitlines() if "replay on" in line)
    cx = Path(replay.split("zmodel replay ")[1].split()[0])
    saved = json.loads(cx.read_text())
    assert saved["engine"]["options"]["minimized"] is True
    assert len(saved["trace"]) < 111
    # The minimised file still answers the row: the leak recurs on BASE, not on NEW.
    assert run("replay", str(cx)).exit_code == 1
    fixed = run("replay", str(cx), "--design", "zswap-3.11-leakfix")
    assert fixed.exit_code == 0, fixed.output
    assert "FIXED: leak does not recur on zswap-3.11-leakfix" in fixed.stdout
    # --no-minimize saves the schedule as found, and says nothing of minimising.
    raw = run(*args, "--out", str(tmp_path / "raw"), "--no-minimize")
    assert raw.exit_code == 0 and "minimised:" not in raw.output
    (raw_file,) = (tmp_path / "raw" / "zswap-3.11").iterdir()
    assert len(json.loads(raw_file.read_text())["trace"]) == 111


def test_other_engine_options_reuse_the_saved_file(tmp_path: Path) -> None:
    files = set()
    for extra in (
        ["--engine", "dpor"],
        ["--engine", "dfs"],
        ["--engine", "dpor", "-X", "cache=off"],
    ):
        code, data = verify_json(
            tmp_path, "zswap-3.11-leakfix", "--against", "zswap-3.11", "-s", LEAK, *extra
        )
        assert code == 0
        files.add(rows(data)[(LEAK, "leak")]["counterexample"])
    (path,) = files  # one file, not -2 and -3 copies
    assert [p.name for p in (tmp_path / "zswap-3.11").iterdir()] == [Path(path).name]
