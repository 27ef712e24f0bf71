"""--jobs and --cluster: the same verdicts, violated properties and files as one process."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

import zmodel.explore.dask_backend as dask_backend
import zmodel.explore.many as many
from tests.explore.programs import build
from tests.explore.test_parallel import SMALL, complete, run_dying
from zmodel.cli import cli
from zmodel.explore import EngineOptions, explore
from zmodel.explore.backends import Backend, LocalBackend
from zmodel.explore.dask_backend import DaskBackend
from zmodel.explore.parallel import explore_parallel
from zmodel.shipping import ScenarioSource

LEAK = "store 1 A :: writeback | free 1"
#: The issue's scenario: three threads, a leak (about 20 CPU-s serially).
THREE = "store 1 A; store 2 B :: writeback | load 2 | free 1"


def run(*args: str) -> Result:
    return CliRunner().invoke(cli, list(args), env={"COLUMNS": "100"})


def check(out: Path, *args: str) -> dict[str, Any]:
    result = run("check", "--design", "zswap-3.11", "--json", "--out", str(out), *args)
    assert result.exit_code in (0, 1, 4), result.output
    data: dict[str, Any] = json.loads(result.stdout)
    return data


def summary(data: dict[str, Any]) -> list[tuple[str, str, list[str]]]:
    return [
        (s["scenario"], s["verdict"], sorted(v["property"] for v in s["violations"]))
        for s in data["scenarios"]
    ]


def files(data: dict[str, Any]) -> list[str]:
    return sorted(
        Path(v["counterexample"]).name for s in data["scenarios"] for v in s["violations"]
    )


@pytest.mark.parametrize("engine", ["dpor", "odpor"])
def test_jobs_2_gives_the_verdicts_and_files_of_jobs_1(tmp_path: Path, engine: str) -> None:
    args = ("--scenario", LEAK, "--scenario", "store 1 A :: load 1 | free 1", "--all")
    one = check(tmp_path / "one", "--engine", engine, *args)
    two = check(tmp_path / "two", "--engine", engine, "--jobs", "2", *args)
    assert summary(two) == summary(one)
    assert files(two) == files(one)


def test_a_suite_and_verify_spread_over_the_workers(tmp_path: Path) -> None:
    one = run("verify", "zswap-3.11-leakfix", "--against", "zswap-3.11", "--scenario", LEAK,
              "--json", "--out", str(tmp_path / "one"))  # fmt: skip
    two = run("verify", "zswap-3.11-leakfix", "--against", "zswap-3.11", "--scenario", LEAK,
              "--json", "--out", str(tmp_path / "two"), "--jobs", "2")  # fmt: skip
    assert one.exit_code == two.exit_code, two.output
    a, b = (json.loads(r.stdout) for r in (one, two))
    for change in (*a["changes"], *b["changes"]):
        if change.get("counterexample"):
            change["counterexample"] = Path(change["counterexample"]).name
    assert a["changes"] == b["changes"]
    for side in ("new", "base"):
        assert summary(a[side]) == summary(b[side])
        assert files(a[side]) == files(b[side])


def suite_check(out: Path, design: str, *args: str) -> dict[str, Any]:
    result = run("check", "--design", design, "--all", "--json", "--out", str(out), *args)
    assert result.exit_code in (0, 1, 4), result.output
    data: dict[str, Any] = json.loads(result.stdout)
    return data


def test_a_whole_suite_on_two_jobs_gives_the_verdicts_and_files_of_one(tmp_path: Path) -> None:
    """The suite's searches in flight together: each scenario's verdict, violated
    properties and (minimised) files are one process's, in the suite's order."""
    one = suite_check(tmp_path / "one", "zswap-2013")
    two = suite_check(tmp_path / "two", "zswap-2013", "--jobs", "2")
    assert len(summary(one)) == 9 and any(s[1] == "violation" for s in summary(one))
    assert summary(two) == summary(one)
    assert files(two) == files(one)


def test_a_whole_verify_on_two_jobs_gives_the_changes_of_one(tmp_path: Path) -> None:
    def verify(out: Path, *args: str) -> dict[str, Any]:
        result = run("verify", "zswap-2013-norefcount", "--against", "zswap-2013", "--json",
                     "--out", str(out), *args)  # fmt: skip
        assert result.exit_code == 1, result.output
        data: dict[str, Any] = json.loads(result.stdout)
        for change in data["changes"]:
            for key, value in change.items():
                if key.endswith("counterexample") and value:
                    change[key] = Path(value).name
        return data

    one, two = verify(tmp_path / "one"), verify(tmp_path / "two", "--jobs", "2")
    assert two["changes"] == one["changes"] and len(one["changes"]) > 9
    for side in ("new", "base"):
        assert summary(two[side]) == summary(one[side])
        assert files(two[side]) == files(one[side])


def assert_one_line_error(result: Result, code: int = 2) -> None:
    assert result.exit_code == code, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("zmodel: error: "), result.stderr


def test_jobs_minus_one_is_a_usage_error() -> None:
    assert_one_line_error(run("check", "--scenario", LEAK, "--jobs", "-1"))


def test_an_unreachable_cluster_is_a_one_line_error_within_seconds(tmp_path: Path) -> None:
    started = time.perf_counter()
    result = run("check", "--scenario", LEAK, "--cluster", "tcp://127.0.0.1:9", "--out",
                 str(tmp_path))  # fmt: skip
    assert_one_line_error(result)
    assert "cannot reach the dask scheduler" in result.stderr
    assert time.perf_counter() - started < 30  # a 2 s connect timeout on a loaded machine


def test_a_design_file_ships_to_a_worker_without_it(tmp_path: Path) -> None:
    design = tmp_path / "variant.py"
    design.write_text(
        "from zmodel.zswap.designs.zswap_311 import Zswap311\n\n"
        "class Variant(Zswap311):\n    name = 'variant'\n"
    )
    source = ScenarioSource.of(f"{design}:Variant", LEAK)
    design.unlink()  # as on a worker that never saw the file
    cls = source.design_cls()
    assert cls.__name__ == "Variant" and Path(cls.__module__ and __file__).exists()
    assert source.program(set(), {})() is not None


@pytest.fixture(scope="module")
def cluster() -> Iterator[str]:
    distributed = pytest.importorskip("distributed")
    with (
        distributed.LocalCluster(
            n_workers=2,
            threads_per_worker=1,
            host="127.0.0.1",
            dashboard_address=None,
            processes=True,
        ) as local,  # fmt: skip
    ):
        # No client here: a default client in this process would hide a back-end
        # that needs one (the command line has none).
        yield local.scheduler_address
    # Both are closed here: the scheduler and its workers are gone.


def test_a_local_cluster_gives_the_result_of_one_process(tmp_path: Path, cluster: str) -> None:
    assert cluster.startswith("tcp://127.0.0.1:")
    args = ("--scenario", LEAK, "--all")
    one = check(tmp_path / "one", *args)
    dask = check(tmp_path / "dask", "--cluster", cluster, *args)
    assert summary(dask) == summary(one)
    assert files(dask) == files(one)


def test_a_design_file_runs_on_the_cluster(tmp_path: Path, cluster: str) -> None:
    design = tmp_path / "leaky.py"
    design.write_text(
        "from zmodel.zswap.designs.zswap_311 import Zswap311\n\n"
        "class Leaky(Zswap311):\n    name = 'leaky'\n"
    )
    args = ("--design", f"{design}:Leaky", "--scenario", LEAK, "--all")
    one = check(tmp_path / "one", *args)
    dask = check(tmp_path / "dask", "--cluster", cluster, *args)
    assert summary(dask) == summary(one) and summary(one)[0][1] == "violation"


@pytest.mark.parametrize("where", ["local", "cluster"])
def test_idle_workers_get_work_on_either_back_end(
    where: str, request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Asked at once (STEAL_AFTER 0) with 2 subtrees, the search gives work through the
    back-end's signal and way back, and the result is one process's."""
    monkeypatch.setattr(many, "STEAL_AFTER", 0.0)
    source = ScenarioSource.of("zswap-3.11", LEAK)
    opts = EngineOptions(all_violations=True)
    backend: Backend = (
        LocalBackend(2) if where == "local" else DaskBackend(request.getfixturevalue("cluster"))
    )
    try:
        par = explore_parallel(source, backend, "odpor", opts, target=2)
    finally:
        backend.close()
    one = explore(source.program(set(), {}), "odpor", all_violations=True)
    assert par.stats.gifts > 0
    assert par.verdict == one.verdict
    assert {v.prop for v in par.violations} == {v.prop for v in one.violations}


def test_units_scattered_to_their_workers_give_one_process_result(
    cluster: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every unit scattered (as one carrying megabytes of cache entries is): the
    result is one process's, and the units did go that way."""
    monkeypatch.setattr(dask_backend, "SCATTER_BYTES", 0)
    source = ScenarioSource.of("zswap-3.11", LEAK)
    backend = DaskBackend(cluster)
    scattered: list[Any] = []
    scatter = backend.client.scatter

    def counted(data: Any, **kwargs: Any) -> Any:
        scattered.append(data)
        return scatter(data, **kwargs)

    backend.client.scatter = counted
    try:
        par = explore_parallel(source, backend, "odpor", EngineOptions(all_violations=True))
    finally:
        backend.close()
    one = explore(source.program(set(), {}), "odpor", all_violations=True)
    assert len(scattered) > 1
    # The runs that end asleep are the split's own cost (units.py); the others are odpor's.
    assert par.stats.executions - par.stats.pruned == one.stats.executions
    assert par.verdict == one.verdict and par.exhaustive
    assert {v.prop for v in par.violations} == {v.prop for v in one.violations}


@pytest.mark.parametrize("deaths", [1, 10**6])
def test_a_dead_dask_worker_is_reported_and_its_unit_run_again(tmp_path: Path, deaths: int) -> None:
    """A worker that dies leaves its unit pinned to an address that is gone (dask
    would wait for it for ever): the unit is run again on the worker its nanny
    started, and a unit that kills every worker is given up, never exhaustive."""
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, host="127.0.0.1",
                                  dashboard_address=":0", processes=True) as local:  # fmt: skip
        par = run_dying(tmp_path, deaths, DaskBackend(local.scheduler_address))
    if deaths == 1:
        serial = explore(build(SMALL), "odpor", all_violations=True)
        assert par.exhaustive and par.verdict == serial.verdict == "pass"
        assert complete(par) == complete(serial)
        assert any("died" in note and "run again" in note for note in par.notes)
    else:
        assert not par.exhaustive and par.verdict == "bounded"
        assert any("given up" in bound for bound in par.bounds)


def test_progress_shows_the_workers_figures(tmp_path: Path) -> None:
    result = run("check", "--scenario", LEAK, "--jobs", "2", "--progress=json", "--out",
                 str(tmp_path))  # fmt: skip
    assert result.exit_code == 1, result.output
    last = json.loads(result.stderr.strip().splitlines()[-1])
    assert last["executions"] > 0 and last["transitions"] > 0


def test_the_issues_scenario_on_two_jobs_and_on_a_cluster(tmp_path: Path, cluster: str) -> None:
    args = ("--scenario", THREE, "--all")
    one = check(tmp_path / "one", *args)
    two = check(tmp_path / "two", "--jobs", "2", *args)
    dask = check(tmp_path / "dask", "--cluster", cluster, *args)
    assert summary(two) == summary(one) == summary(dask)
    assert summary(one)[0][1] == "violation"
