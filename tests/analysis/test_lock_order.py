"""lock-order: lockdep's graph over every explored run; an inversion is reported
where no run deadlocks, and the graph is the same under every exhaustive engine."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, ClassVar

import pytest
from hypothesis import HealthCheck, find, given, settings

from tests.explore.programs import Spec, build, specs
from zmodel.analysis.lock_order import lock_cycles
from zmodel.check import ScenarioSpec, run_check
from zmodel.explore import Program, Result
from zmodel.explore.dfs import explore_dfs
from zmodel.explore.dpor import explore_dpor
from zmodel.explore.engines import EngineOptions
from zmodel.explore.optimal_dpor import explore_optimal_dpor as explore_odpor
from zmodel.properties.lock_order import LOCK_ORDER, LockOrder
from zmodel.runtime import Acquire, Executor, MemObject, Release, Steps
from zmodel.zswap.designs.zswap_311 import Zswap311
from zmodel.zswap.scenario import parse_scenario

TREE_THEN_DEVICE = "variant: spin_lock(&p->lock) under tree->lock (swap count check)"


class LoadTakesDeviceLock(Zswap311):
    """3.11 whose load, holding tree->lock, takes the device's p->lock: the reverse
    of free_swap_and_cache, which holds p->lock around zswap's invalidate."""

    name = "lock-order-inversion"
    expected: ClassVar[dict[str, frozenset[str]]] = {}

    def load(self, offset: int, page: MemObject) -> Steps:
        yield Acquire(self.tree, "lock", "variant: spin_lock(&tree->lock)")
        yield Acquire(self.swap.si, "lock", TREE_THEN_DEVICE)
        yield Release(self.swap.si, "lock", "variant: spin_unlock(&p->lock)")
        yield Release(self.tree, "lock", "variant: spin_unlock(&tree->lock)")
        return (yield from super().load(offset, page))


def _check(design: type[Zswap311], text: str, tmp_path: Path, engine: str = "dpor") -> Any:
    spec = ScenarioSpec(parse_scenario(text))
    report = run_check(
        design, design.name, [spec], engine=engine, options=EngineOptions(), out=tmp_path
    )
    (check,) = report.scenarios
    return check


@pytest.mark.parametrize("engine", ["dpor", "dfs", "odpor"])
def test_an_inversion_no_run_deadlocks_on_is_reported(tmp_path: Path, engine: str) -> None:
    # The swap layer serialises load and free of one slot (serialize=on): the two
    # orders never overlap, so no run deadlocks; lockdep would still warn.
    check = _check(LoadTakesDeviceLock, "store 1 A :: load 1 | free 1", tmp_path, engine)
    assert check.result.exhaustive
    assert not check.result.violations  # no deadlock, nothing else either
    (cycle,) = check.lock_cycles
    assert set(cycle.locks) == {"swap_info->lock", "zswap_tree->lock"}
    by_thread = {dep.taken.thread: dep for dep in cycle.chains}
    assert by_thread["T1"].held.lock == "zswap_tree->lock"
    assert by_thread["T1"].taken.label == TREE_THEN_DEVICE
    assert by_thread["T2"].held.label.startswith("free_swap_and_cache: swap_info_get")
    assert by_thread["T2"].taken.label.startswith("zswap_frontswap_invalidate_page")
    assert check.verdict == "violation"
    message = cycle.message()
    assert "potential deadlock" in message and TREE_THEN_DEVICE in message


def test_the_same_inversion_unserialised_can_deadlock(tmp_path: Path) -> None:
    check = _check(
        LoadTakesDeviceLock, "serialize=off :: store 1 A :: load 1 | free 1", tmp_path, "dfs"
    )
    assert "deadlock" in {v.prop for v in check.result.violations}
    assert check.lock_cycles


def test_shipped_311_has_no_inversion_on_the_same_scenario(tmp_path: Path) -> None:
    check = _check(Zswap311, "store 1 A :: load 1 | free 1", tmp_path)
    assert check.lock_cycles == [] and check.verdict == "pass"


def test_check_reports_it_in_text_and_json(tmp_path: Path) -> None:
    from zmodel.report import json_report, text

    check = _check(LoadTakesDeviceLock, "store 1 A :: load 1 | free 1", tmp_path)
    rendered = text.render_scenario(check)
    assert f"{LOCK_ORDER}: potential deadlock, lock order" in rendered
    (violation,) = json_report.scenario_json(check)["violations"]
    assert violation["property"] == LOCK_ORDER and violation["counterexample"] is None


# -- the graph is the same under every exhaustive engine -------------------------
def _edges(engine: Callable[..., Result], program: Program, **options: Any) -> frozenset[Any]:
    order = LockOrder(by_instance=True)

    def watched() -> Executor:
        ex = program()
        ex.observer = order.watch(ex)
        ex.observe_locks_only = True
        return ex

    engine(watched, stop_on_first=False, **options)
    return frozenset(order.edges)


def _differs(spec: Spec, mutant: dict[str, Any] | None = None) -> bool:
    program = build(spec)
    want = _edges(explore_dfs, program, cache=False)
    if mutant is not None:
        return _edges(explore_dfs, program, cache=False, **mutant) != want
    for engine, options in (
        (explore_dpor, {}),
        (explore_dpor, {"cache": False}),
        (explore_dfs, {}),
    ):
        if _edges(engine, program, **options) != want:
            return True
    return _edges(explore_odpor, program) != want


_SETTINGS = settings(max_examples=200, deadline=None, suppress_health_check=list(HealthCheck))


@_SETTINGS
@given(specs())
def test_the_lock_order_graph_matches_plain_enumeration(spec: Spec) -> None:
    assert not _differs(spec)


def test_a_search_that_misses_acquisitions_is_caught() -> None:
    # In these programs no lock is taken on a path that depends on a value read, so
    # every complete run shows every edge; what a reduction could lose is a run that
    # gets that far.  Runs cut at three steps lose the nested acquisitions: the
    # comparison must notice.
    find(
        specs(),
        lambda spec: _differs(spec, {"max_steps": 3}),
        settings=settings(_SETTINGS, max_examples=2000, derandomize=True),
    )


def test_lock_cycles_of_an_empty_graph() -> None:
    assert lock_cycles(LockOrder()) == []


def test_verify_compares_it(tmp_path: Path) -> None:
    from zmodel.verify import compare

    bad = _check(LoadTakesDeviceLock, "store 1 A :: load 1 | free 1", tmp_path)
    good = _check(Zswap311, "store 1 A :: load 1 | free 1", tmp_path)
    rows = {row.prop: row.change for row in compare(base=bad, new=good)}
    assert rows[LOCK_ORDER] == "fixed"
    rows = {row.prop: row.change for row in compare(base=good, new=bad)}
    assert rows[LOCK_ORDER] == "regressed"
