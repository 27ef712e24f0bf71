"""Counterexample files: round trip, never overwriting, validation, replay determinism."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from zmodel import counterexample as cxm
from zmodel.counterexample import Counterexample, CounterexampleError
from zmodel.explore import EngineOptions
from zmodel.harness import run_engine
from zmodel.zswap.designs import resolve_design
from zmodel.zswap.scenario import parse_scenario

LEAK = "store 1 A :: writeback | free 1"


@pytest.fixture(scope="module")
def leak_cx() -> Counterexample:
    design = resolve_design("zswap-3.11")
    scenario = parse_scenario(LEAK)
    options = EngineOptions()
    result = run_engine(design, scenario, "dfs", options)
    assert result.violations, "zswap-3.11 must leak on this scenario"
    return cxm.from_found(
        result.violations[0],
        design_cls=design,
        design_source="zswap-3.11",
        scenario=scenario,
        engine="dfs",
        options=cxm.engine_options(options, result.options),
    )


def test_round_trip(leak_cx: Counterexample, tmp_path: Path) -> None:
    saved = cxm.save(leak_cx, tmp_path)
    assert not saved.reused
    assert (
        saved.path == tmp_path / "zswap-3.11" / f"leak-{cxm.schedule_hash(leak_cx.schedule)}.json"
    )
    loaded = cxm.load(saved.path)
    assert loaded == leak_cx
    assert loaded.dumps() == saved.path.read_text()
    data = json.loads(saved.path.read_text())
    assert data["format"] == 1
    assert data["design"] == {
        "name": "zswap-3.11",
        "fingerprint": leak_cx.design_fingerprint,
        "source": "zswap-3.11",
    }
    assert data["scenario"] == LEAK
    assert data["engine"]["name"] == "dfs"
    assert data["violation"]["property"] == "leak"
    assert data["violation"]["step"] == len(data["trace"])  # found at quiescence
    assert len(data["schedule"]) == len(data["trace"])
    assert set(data["trace"][0]) == {"thread", "name", "label", "outcome"}
    assert {s["name"] for s in data["trace"]} == {"setup", "T1", "T2"}


def test_save_is_idempotent(leak_cx: Counterexample, tmp_path: Path) -> None:
    first = cxm.save(leak_cx, tmp_path)
    again = cxm.save(leak_cx, tmp_path)
    assert again.path == first.path and again.reused
    assert len(list(first.path.parent.iterdir())) == 1


def test_never_overwrites_a_different_file(leak_cx: Counterexample, tmp_path: Path) -> None:
    path = cxm.default_path(leak_cx, tmp_path)
    path.parent.mkdir(parents=True)
    path.write_text("somebody else's file\n")
    saved = cxm.save(leak_cx, tmp_path)
    assert saved.path != path and saved.path.name.endswith("-2.json")
    assert path.read_text() == "somebody else's file\n"
    # Different content under the same schedule hash: a third name, nothing lost.
    other = Counterexample(**{**leak_cx.__dict__, "message": "another message"})
    third = cxm.save(other, tmp_path)
    assert third.path.name.endswith("-3.json")
    assert cxm.load(saved.path) == leak_cx and cxm.load(third.path) == other
    # And saving either again reuses its own file.
    assert cxm.save(other, tmp_path).path == third.path


def test_design_names_are_sanitised(leak_cx: Counterexample, tmp_path: Path) -> None:
    assert cxm.safe_name("dir/my_design.py:Fixed") == "dir_my_design.py_Fixed"
    odd = Counterexample(**{**leak_cx.__dict__, "design_name": "../x/y.py:Z"})
    saved = cxm.save(odd, tmp_path)
    assert saved.path.parent.parent == tmp_path


def _mutate(text: str, edit: Any) -> str:
    data = json.loads(text)
    edit(data)
    return json.dumps(data)


def _set(path: str, value: Any) -> Any:
    def edit(data: Any) -> None:
        *parents, last = path.split(".")
        for key in parents:
            data = data[int(key)] if isinstance(data, list) else data[key]
        if value is KeyError:
            del data[last]
        elif isinstance(data, list):
            data[int(last)] = value
        else:
            data[last] = value

    return edit


BAD_EDITS = {
    "missing scenario": _set("scenario", KeyError),
    "missing design": _set("design", KeyError),
    "fingerprint not a string": _set("design.fingerprint", 7),
    "unknown format": _set("format", 2),
    "format is a bool": _set("format", True),
    "schedule not a list": _set("schedule", "0,0"),
    "bad choice": _set("schedule.0", [0]),
    "negative choice": _set("schedule.0", [-1, 0]),
    "schedule disagrees with trace": _set("schedule.0", [1, 0]),
    "step outside trace": _set("violation.step", 10_000),
    "trace step not an object": _set("trace.0", "setup"),
    "empty label": _set("trace.0.label", ""),
    "non-scalar option": _set("engine.options.max_steps", [1]),
    "not an object": lambda data: data.clear(),
}


@pytest.mark.parametrize("name", sorted(BAD_EDITS))
def test_load_rejects_malformed_files(leak_cx: Counterexample, tmp_path: Path, name: str) -> None:
    path = tmp_path / "bad.json"
    text = _mutate(leak_cx.dumps(), BAD_EDITS[name])
    if name == "not an object":
        text = "[]"
    path.write_text(text)
    with pytest.raises(CounterexampleError) as info:
        cxm.load(path)
    message = str(info.value)
    assert "\n" not in message and str(path) in message


@pytest.mark.parametrize(
    "content",
    [b"", b"   \n", b"\xff\xfe\x00garbage", b'{"format": 1, "zmodel": "0.1'],
    ids=["empty", "blank", "binary", "truncated"],
)
def test_load_rejects_unreadable_files(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "bad.json"
    path.write_bytes(content)
    with pytest.raises(CounterexampleError):
        cxm.load(path)


def test_truncated_real_file(leak_cx: Counterexample, tmp_path: Path) -> None:
    path = tmp_path / "cut.json"
    path.write_text(leak_cx.dumps()[: len(leak_cx.dumps()) // 2])
    with pytest.raises(CounterexampleError, match="not valid JSON"):
        cxm.load(path)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(CounterexampleError, match="cannot read"):
        cxm.load(tmp_path / "nope.json")


def test_replay_is_deterministic(leak_cx: Counterexample, tmp_path: Path) -> None:
    path = cxm.save(leak_cx, tmp_path).path
    runs = [cxm.replay_file(path) for _ in range(3)]
    for report in runs:
        assert report.status == cxm.RECURS and report.exit_code == 1
        assert report.same_design and not report.fingerprint_changed
        assert [(s.tid, s.label) for s in report.run.trace] == [
            (s.thread, s.label) for s in leak_cx.trace
        ]
    assert runs[0].run.trace == runs[1].run.trace == runs[2].run.trace


def test_replay_against_the_fix(leak_cx: Counterexample, tmp_path: Path) -> None:
    path = cxm.save(leak_cx, tmp_path).path
    report = cxm.replay_file(path, "zswap-3.11-leakfix")
    assert not report.same_design
    assert report.status == cxm.FIXED and report.exit_code == 0
    assert report.run.finished and report.run.violation is None


def test_stale_labels_are_detected(leak_cx: Counterexample, tmp_path: Path) -> None:
    path = tmp_path / "stale.json"
    path.write_text(_mutate(leak_cx.dumps(), _set("trace.30.label", "a step that changed")))
    with pytest.raises(cxm.StaleCounterexampleError, match="stale counterexample: step 30"):
        cxm.replay_file(path)


def test_schedule_that_does_not_fit(leak_cx: Counterexample, tmp_path: Path) -> None:
    def edit(data: Any) -> None:
        # T2 cannot run while the setup is still running.
        data["schedule"][0] = [2, 0]
        data["trace"][0]["thread"] = 2

    path = tmp_path / "diverged.json"
    path.write_text(_mutate(leak_cx.dumps(), edit))
    with pytest.raises(cxm.StaleCounterexampleError, match="not enabled"):
        cxm.replay_file(path)


def test_unknown_saved_design(leak_cx: Counterexample, tmp_path: Path) -> None:
    odd = Counterexample(**{**leak_cx.__dict__, "design_name": "gone", "design_source": "gone"})
    path = cxm.save(odd, tmp_path).path
    with pytest.raises(CounterexampleError, match="unknown design 'gone'"):
        cxm.replay_file(path)


def test_save_where_it_cannot(leak_cx: Counterexample, tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory\n")
    with pytest.raises(CounterexampleError, match="cannot save a counterexample under"):
        cxm.save(leak_cx, blocker)
