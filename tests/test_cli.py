"""The zmodel command line: exit codes, --json, counterexamples, one-line errors."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from zmodel.cli import cli

LEAK = "store 1 A :: writeback | free 1"
# Swimlanes size themselves to the terminal; fix the width so the layout is known.
ENV = {"COLUMNS": "100"}


def run(*args: str) -> Result:
    return CliRunner().invoke(cli, list(args), env=ENV)


def assert_one_line_error(result: Result, code: int = 2) -> None:
    assert result.exit_code == code, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("zmodel: error: "), result.stderr
    assert "Traceback" not in result.output


@pytest.fixture(scope="module")
def leak(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, Any], Path]:
    out = tmp_path_factory.mktemp("cx")
    result = run("check", "--design", "zswap-3.11", "--scenario", LEAK, "--json", "--out", str(out))
    assert result.exit_code == 1, result.output
    data = json.loads(result.stdout)
    path = Path(data["scenarios"][0]["violations"][0]["counterexample"])
    return data, path


def test_check_finds_the_2013_leak(leak: tuple[dict[str, Any], Path]) -> None:
    data, path = leak
    assert set(data) == {"verdict", "design", "scenarios"}
    assert data["verdict"] == "violation" and data["design"] == "zswap-3.11"
    (scenario,) = data["scenarios"]
    assert set(scenario) == {"scenario", "verdict", "violations", "stats"}
    assert scenario["scenario"] == LEAK and scenario["verdict"] == "violation"
    assert [v["property"] for v in scenario["violations"]] == ["leak"]
    assert set(scenario["violations"][0]) == {"property", "message", "counterexample"}
    assert set(scenario["stats"]) == {
        "executions",
        "cut",
        "transitions",
        "distinct_states",
        "seconds",
    }
    assert scenario["stats"]["executions"] > 1
    assert path.is_file() and path.parent.name == "zswap-3.11" and path.name.startswith("leak-")


def _rows(output: str) -> list[tuple[int, str, str]]:
    """(step, lane header, label) per swimlane row, wrapped label lines joined."""
    lines = output.splitlines()
    start = next(i for i, line in enumerate(lines) if line.split("|")[0].strip() == "step")
    table = [[c.strip() for c in line.split("|")] for line in lines[start:] if "|" in line]
    header = table[0][1:]
    rows: list[tuple[int, str, str]] = []
    for cells in table[1:]:
        for name, cell in zip(header, cells[1:], strict=False):
            if not cell or re.match(r"(setup: .*folded|\d+-\d+: the .* above)", cell):
                continue
            index = cells[0].removeprefix(">>").strip()
            if index:
                rows.append((int(index), name, cell))
            else:  # a continuation line of a wrapped label
                step, lane, label = rows[-1]
                rows[-1] = (step, lane, f"{label} {cell}")
    return rows


def test_replay_shows_the_interleaving(leak: tuple[dict[str, Any], Path]) -> None:
    _, path = leak
    result = run("replay", str(path))
    assert result.exit_code == 1, result.output
    rows = _rows(result.stdout)
    assert {lane for _, lane, _ in rows} == {"T1: writeback", "T2: free 1"}

    def first(lane: str, label: str) -> int:
        return next(step for step, name, text in rows if name == lane and text == label)

    # The race, in order: writeback takes its reference, invalidate erases the entry and
    # drops the initial one, swapcache_prepare fails, the fail path puts the last one.
    get = first("T1: writeback", "zswap_writeback_entry: zswap_entry_get")
    put = first("T2: free 1", "zswap_frontswap_invalidate_page: rb_erase; zswap_entry_put")
    prepare = first("T1: writeback", "zswap_get_swap_cache_page: swapcache_prepare")
    fail_put = first("T1: writeback", "zswap_writeback_entry fail: zswap_entry_put")
    assert get < put < prepare < fail_put
    assert "end (all threads done): leak:" in result.stdout
    assert "VIOLATION RECURS: leak" in result.stdout
    # The setup lane on request.
    with_setup = _rows(run("replay", str(path), "--setup").stdout)
    assert any(lane == "setup: store 1 A" for _, lane, _ in with_setup)


def test_the_leak_fix_passes(tmp_path: Path) -> None:
    args = ["check", "--design", "zswap-3.11-leakfix", "--scenario", LEAK, "--out", str(tmp_path)]
    result = run(*args, "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["verdict"] == "pass" and data["scenarios"][0]["violations"] == []
    text = run(*args)
    assert text.exit_code == 0
    assert "PASS (exhaustive)" in text.stdout
    assert not any(tmp_path.iterdir())  # nothing to save


def test_replay_against_the_fix(leak: tuple[dict[str, Any], Path]) -> None:
    _, path = leak
    result = run("replay", str(path), "--design", "zswap-3.11-leakfix")
    assert result.exit_code == 0, result.output
    assert "FIXED: leak does not recur on zswap-3.11-leakfix" in result.stdout


def test_text_report(tmp_path: Path) -> None:
    result = run("check", "--scenario", "writeback-vs-free", "--out", str(tmp_path))
    assert result.exit_code == 1
    out = result.stdout
    assert "design zswap-3.11 (Linux 3.11), engine dpor" in out
    assert f"scenario writeback-vs-free: {LEAK}" in out
    assert "verdict: VIOLATION (as expected: leak)" in out
    (saved,) = (tmp_path / "zswap-3.11").iterdir()
    assert f"counterexample: {saved}" in out
    assert f"replay: zmodel replay {saved}" in out
    assert "executions" in out and "distinct states" in out and "transitions/s" in out
    assert "bounds: none hit (ran under max steps 400)" in out
    # Checking again reuses the same file.
    again = run("check", "--scenario", "writeback-vs-free", "--out", str(tmp_path))
    assert "(already saved)" in again.stdout
    assert len(list((tmp_path / "zswap-3.11").iterdir())) == 1


def test_all_saves_one_counterexample_per_property(tmp_path: Path) -> None:
    result = run("check", "-s", "writeback-vs-free", "--all", "--json", "--out", str(tmp_path))
    assert result.exit_code == 1
    (scenario,) = json.loads(result.stdout)["scenarios"]
    assert [v["property"] for v in scenario["violations"]] == ["leak"]


def test_step_bound_is_reported(tmp_path: Path) -> None:
    result = run("check", "-s", "store-load", "--max-steps", "10", "--json", "--out", str(tmp_path))
    assert result.exit_code == 4, result.output
    assert json.loads(result.stdout)["verdict"] == "bounded"


@pytest.mark.parametrize(
    ("engine", "code"),
    [(["--engine", "random", "-X", "runs=3"], 4), (["--engine", "dpor"], 0)],
    ids=["random", "exhaustive"],
)
def test_exit_codes_tell_a_proof_from_a_bounded_search(
    engine: list[str], code: int, tmp_path: Path
) -> None:
    args = ["check", "--design", "zswap-6.12", "--scenario", "store 1 A :: load 1", *engine]
    result = run(*args, "--out", str(tmp_path))
    assert result.exit_code == code, result.output
    if code == 4:
        assert "exit 4: no violation found, but the search was bounded" in result.stdout


def test_help_documents_every_exit_code() -> None:
    out = run("--help").stdout
    for code in ("0", "1", "2", "3", "4", "130"):
        assert re.search(rf"^ +{code} +\S", out, re.M), code


@pytest.mark.parametrize(
    "args",
    [
        ["check", "--scenario", "store 1 A :: bogus 3"],
        ["check", "--scenario", "store 1 :: writeback"],
        ["check", "--scenario", "no-such-scenario"],
        ["check", "--design", "zswap-9.99"],
        ["check", "--design", "missing.py:Design"],
        ["check", "--frobnicate"],
        ["check", "--engine", "warp"],
        ["check", "--max-steps", "0"],
        ["check", "--max-steps", str(10**23)],
        ["check", "--max-preemptions", "1001"],
        ["check", "--seed", "-1"],
        ["check", "--time-limit", "1e9"],
        ["check", "-s", "store-load", "--engine", "pct", "--depth", "999999999"],
        ["check", "-s", "store-load", "--engine", "pct", "-X", "depth=0"],
        ["check", "-s", "store-load", "--engine", "random", "-X", "runs=-5"],
        ["check", "-s", "store-load", "--engine", "random", "-X", "runs=0"],
        ["check", "-s", "store-load", "--engine", "random", "-X", "runs=many"],
        ["replay", "x.json", "--width", "5000"],
        ["check", "--progress=sometimes"],
        ["check", "-X", "runs"],
        ["check", "--time-limit", "0"],
        ["check", "--scenario", "store-load", "--engine", "random", "--max-preemptions", "2"],
        ["replay", "does-not-exist.json"],
        ["replay"],
        ["list", "--design", "nope"],
        ["list", "everything"],
        ["frobnicate"],
    ],
    ids=lambda args: " ".join(args),
)
def test_bad_input(args: Sequence[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)  # nothing may be saved under the repository
    assert_one_line_error(run(*args))


NOT_A_DESIGN = """
X = 3


class Plain:
    pass
"""


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("mine.py", "names a file but no class: write mine.py:ClassName"),
        ("sub", "'sub' is a directory"),
        ("sub:Design", "'sub' is a directory"),
        ("notes.txt:Design", "'notes.txt' is not a Python (.py) file"),
        ("mine.py:Plain", "mine.py:Plain is a class but not a Design"),
        ("mine.py:X", "mine.py:X is 3, not a class"),
        ("mine.py:Nope", "'mine.py' has no 'Nope'"),
    ],
)
def test_design_paths_get_precise_errors(
    spec: str, message: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "mine.py").write_text(NOT_A_DESIGN)
    (tmp_path / "notes.txt").write_text("not python")
    (tmp_path / "sub").mkdir()
    for args in (["check", "--design", spec], ["list", "--design", spec]):
        result = run(*args)
        assert_one_line_error(result)
        assert message in result.stderr, result.stderr
        assert "unknown design" not in result.stderr


def _edit(path: Path, tmp_path: Path, edit: str) -> Path:
    text = path.read_text()
    bad = tmp_path / "bad.json"
    if edit == "corrupt":
        bad.write_text(text.replace('"schedule": [', '"schedule": [[[', 1))
    elif edit == "truncated":
        bad.write_text(text[: len(text) * 2 // 3])
    elif edit == "schedule only":
        data = json.loads(text)
        data["schedule"][30] = [2, 0]
        bad.write_text(json.dumps(data))
    elif edit == "schedule and trace":
        data = json.loads(text)
        data["schedule"][0] = [1, 0]  # T1 cannot run during the setup
        data["trace"][0]["thread"] = 1
        bad.write_text(json.dumps(data))
    elif edit == "label":
        data = json.loads(text)
        data["trace"][40]["label"] = "a label the design no longer has"
        bad.write_text(json.dumps(data))
    return bad


@pytest.mark.parametrize(
    "edit", ["corrupt", "truncated", "schedule only", "schedule and trace", "label"]
)
def test_bad_counterexample_files(
    leak: tuple[dict[str, Any], Path], tmp_path: Path, edit: str
) -> None:
    _, path = leak
    bad = _edit(path, tmp_path, edit)
    result = run("replay", str(bad))
    assert_one_line_error(result)
    if edit in ("schedule and trace", "label"):
        assert "stale counterexample" in result.stderr


BROKEN = """
from zmodel.runtime import Call
from zmodel.zswap.designs.zswap_311 import Zswap311


class Broken(Zswap311):
    name = "broken"

    def writeback(self):
        yield Call("broken_writeback: divide", lambda: 1 // 0)
"""


def test_model_exception_exits_3(tmp_path: Path) -> None:
    design = tmp_path / "broken.py"
    design.write_text(BROKEN)
    out = tmp_path / "out"
    result = run("check", "--design", f"{design}:Broken", "--scenario", LEAK, "--out", str(out))
    assert_one_line_error(result, 3)
    assert "ZeroDivisionError" in result.stderr
    (saved,) = (out / "broken").iterdir()
    assert saved.name.startswith("model-error-") and f"zmodel replay {saved}" in result.stderr
    replayed = run("replay", str(saved))
    assert_one_line_error(replayed, 3)
    assert "ZeroDivisionError" in replayed.stderr
    # Against a design that does not raise there, nothing is left of it.
    fixed = run("replay", str(saved), "--design", "zswap-3.11")
    assert fixed.exit_code == 0, fixed.output


def test_list() -> None:
    result = run("list")
    assert result.exit_code == 0
    out = result.stdout
    # Columns widen with the longest design name: match the row, not its padding.
    assert re.search(r"^  zswap-3\.11 \(default\) +Linux 3\.11 ", out, re.M)
    assert "writeback-vs-free" in out and LEAK in out
    for prop in ("use-after-free", "leak", "stale-data", "deadlock", "bug-on"):
        assert prop in out
    only = run("list", "scenarios", "--design", "zswap-3.11-leakfix").stdout
    assert "scenarios of zswap-3.11-leakfix" in only and "designs" not in only


def test_list_options_names_every_operation_and_option() -> None:
    from zmodel.zswap.scenario import OPTIONS, OpKind

    result = run("list", "options")
    assert result.exit_code == 0
    out = result.stdout
    for kind in OpKind:
        assert re.search(rf"^  {kind.value}\b", out, re.M), kind
    for name in OPTIONS:
        assert re.search(rf"^  {name} ", out, re.M), name
    # Only the options listing (no "designs" section), but each optional op and
    # option names the designs that have it.
    assert "one swap device" in out and not re.search(r"^designs$", out, re.M)
    assert re.search(r"^  shrink N .*; designs: zswap-6.12, zswap-6.13, zswap-6.8\b", out, re.M)
    assert re.search(r"^  slot_cache .*; designs: zswap-6.12, zswap-6.13, zswap-6.8\b", out, re.M)


def test_python_dash_m() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "zmodel", "check", "--design", "nope"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 2
    assert done.stderr.startswith("zmodel: error: unknown design 'nope'")
    assert "Traceback" not in done.stderr


@pytest.mark.parametrize(
    ("engine", "bound", "verdict"),
    [
        ("dpor", None, "violation"),
        ("dpor -X cache=off", None, "violation"),
        ("dpor", "1", "violation"),
        ("odpor", None, "violation"),
        ("icb", "2", "violation"),
    ],
)
def test_reduced_and_bounded_engines_find_the_2013_leak(
    engine: str, bound: str | None, verdict: str, tmp_path: Path
) -> None:
    args = ["check", "--engine", *engine.split(), "--scenario", "store 1 A :: writeback | free 1"]
    args += ["--json", "--out", str(tmp_path)]
    if bound is not None:
        args += ["--max-preemptions", bound]
    result = run(*args)
    assert result.exit_code == 1, result.output
    report = json.loads(result.stdout)
    assert report["verdict"] == verdict
    assert [v["property"] for v in report["scenarios"][0]["violations"]] == ["leak"]


def test_a_bounded_search_that_prunes_never_says_pass(tmp_path: Path) -> None:
    result = run(
        "check", "--design", "zswap-3.11-leakfix", "--engine", "dpor", "--max-preemptions", "0",
        "--scenario", "store 1 A :: writeback | free 1", "--out", str(tmp_path),
    )  # fmt: skip
    assert result.exit_code == 4, result.output
    assert "NO VIOLATION WITHIN BOUNDS" in result.stdout
    assert "max preemptions 0" in result.stdout


def test_the_default_engine_is_cached_dpor(tmp_path: Path) -> None:
    result = run("check", "-s", "writeback-vs-free", "--json", "--out", str(tmp_path))
    (scenario,) = json.loads(result.stdout)["scenarios"]
    assert scenario["stats"]["distinct_states"] > 0  # the cache is on
    saved = json.loads(Path(scenario["violations"][0]["counterexample"]).read_text())
    assert saved["engine"]["name"] == "dpor"


def test_a_bad_cache_option_is_one_line(tmp_path: Path) -> None:
    result = run("check", "-s", "store-load", "-X", "cache=maybe", "--out", str(tmp_path))
    assert result.exit_code == 2
    assert "-X cache takes auto, on or off, not 'maybe'" in result.output


def test_minimize_writes_a_smaller_file_beside_the_original(tmp_path: Path) -> None:
    out = tmp_path / "raw"
    made = run("check", "--scenario", LEAK, "--out", str(out), "--no-minimize", "--json")
    path = Path(json.loads(made.stdout)["scenarios"][0]["violations"][0]["counterexample"])
    before = path.read_bytes()
    result = run("minimize", str(path), "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert set(data) == {"file", "before", "after", "proved_minimal"}
    assert data["after"]["steps"] < data["before"]["steps"]
    assert data["proved_minimal"] is True
    assert Path(data["file"]).parent == path.parent and path.read_bytes() == before
    assert run("replay", data["file"]).exit_code == 1
    text = run("minimize", str(path))
    assert "proved minimal" in text.stdout and "before: " in text.stdout
    # check --minimize saves the same file: already there.
    again = run("check", "--scenario", LEAK, "--out", str(out), "--json", "--minimize")
    minimised = json.loads(again.stdout)["scenarios"][0]["violations"][0]["counterexample"]
    assert minimised == data["file"]


def test_minimize_of_a_bad_file_is_one_line(tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text("{")
    assert_one_line_error(run("minimize", str(bad)))


@pytest.mark.parametrize(
    "args",
    [["--engine", "random", "-X", "runs=-5"], ["--engine", "pct", "-X", "depth=0"]],
    ids=["runs", "depth"],
)
def test_an_engine_option_error_is_the_only_output(args: list[str], tmp_path: Path) -> None:
    result = run("check", "-s", "store-load", *args, "--out", str(tmp_path))
    assert_one_line_error(result)
    assert result.stdout == ""  # not even the report's header


def test_check_saves_minimised_and_other_engine_options_reuse_the_file(tmp_path: Path) -> None:
    out = tmp_path / "cx"
    files = set()
    for extra in (["--engine", "dpor"], ["--engine", "dfs"], ["--engine", "dfs", "--all"]):
        result = run("check", "--scenario", LEAK, "--out", str(out), "--json", *extra)
        assert result.exit_code == 1
        (violation,) = json.loads(result.stdout)["scenarios"][0]["violations"]
        files.add(violation["counterexample"])
    (path,) = files  # one file, not -2 and -3 copies
    assert sorted(p.name for p in (out / "zswap-3.11").iterdir()) == [Path(path).name]
    saved = json.loads(Path(path).read_text())
    assert saved["engine"]["options"]["minimized"] is True
    assert len(saved["trace"]) < 111  # the raw find is 111 steps
    raw = run("check", "--scenario", LEAK, "--out", str(out), "--json", "--no-minimize")
    (kept,) = json.loads(raw.stdout)["scenarios"][0]["violations"]
    assert kept["counterexample"] != path
    assert len(json.loads(Path(kept["counterexample"]).read_text())["trace"]) == 111


def test_the_command_line_imports_the_heavy_libraries_only_when_used() -> None:
    # networkx, z3 and jsonschema took 0.4 of the 1.0 s every zmodel command spent
    # importing before it did anything; the modules that use them import them inside
    # the functions that do.
    import subprocess
    import sys

    code = (
        "import sys, zmodel.cli\n"
        "heavy = ('networkx', 'z3', 'jsonschema', 'hypothesis')\n"
        "print(sorted(m for m in heavy if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
