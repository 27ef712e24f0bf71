"""The random and PCT engines: honest verdicts, the PCT bound, seeds, and finds that replay."""

from __future__ import annotations

import random
from collections.abc import Callable

import pytest

from zmodel.explore import BOUNDED, PASS, VIOLATION, EngineOptions, Program, Result, replay
from zmodel.explore.randomwalk import (
    PctScheduler,
    count_preemptions,
    explore_pct,
    explore_random,
    pct_bound,
    preemptions,
)
from zmodel.harness import build_program, run_engine
from zmodel.zswap.designs import REGISTRY
from zmodel.zswap.scenario import parse_scenario

Explore = Callable[..., Result]
LEAK = "store 1 A :: writeback | free 1"
CLEAN = "store 1 A :: load 1 | store 2 B"  # exhaustive DFS: PASS
SINGLE = "store 1 A :: load 1"  # one thread after the setup: one schedule


def program(text: str, design: str = "zswap-3.11") -> Program:
    return build_program(REGISTRY[design], parse_scenario(text))


@pytest.mark.parametrize(
    ("n", "k", "d", "expected"),
    [(2, 84, 1, 1 / 2), (2, 84, 2, 1 / 168), (3, 10, 3, 1 / 300), (1, 1, 5, 1.0)],
)
def test_pct_bound_formula(n: int, k: int, d: int, expected: float) -> None:
    assert pct_bound(n, k, d) == pytest.approx(expected)


def test_pct_scheduler_priorities_and_change_points() -> None:
    rng = random.Random(7)
    sched = PctScheduler(n=3, k=50, depth=3, rng=rng)
    # Initial priorities are d .. d+n-1, a permutation; d-1 distinct change points.
    assert sorted(sched.priority.values()) == [3, 4, 5]
    assert sorted(sched.change.values()) == [1, 2]
    assert all(1 <= step <= 50 for step in sched.change)


def test_pct_change_point_demotes_the_running_thread() -> None:
    sched = PctScheduler(n=2, k=10, depth=2, rng=random.Random(0))
    sched.priority = {1: 3, 2: 2}
    sched.change = {4: 1}
    ex = program(LEAK)()
    # Before the change point the highest-priority thread runs, at it the other.
    assert sched.pick(ex, [1, 2], 2) == 1
    assert sched.pick(ex, [1, 2], 3) == 2
    assert sched.priority[1] == 1  # d - j: below every initial priority
    assert sched.pick(ex, [1, 2], 4) == 2


@pytest.mark.parametrize("engine", ["random", "pct"])
def test_no_violation_is_bounded_never_pass(engine: str) -> None:
    opts = EngineOptions(seed=3, extra={"runs": 20})
    result = run_engine(REGISTRY["zswap-3.11"], parse_scenario(CLEAN), engine, opts)
    assert not result.violations
    assert result.verdict == BOUNDED
    assert result.verdict != PASS
    assert result.stats.executions == 20


@pytest.mark.parametrize("engine", ["random", "pct"])
def test_finds_the_2013_leak_and_it_replays(engine: str) -> None:
    prog = program(LEAK)
    opts = EngineOptions(seed=1, extra={"runs": 1000})
    result = run_engine(REGISTRY["zswap-3.11"], parse_scenario(LEAK), engine, opts)
    assert result.verdict == VIOLATION
    found = result.violations[0]
    assert found.prop == "leak"
    again = replay(prog, found.schedule)
    assert again.violation is not None
    assert (again.violation.prop, again.violation.message) == (found.prop, found.message)
    assert [s.label for s in again.trace] == [s.label for s in found.trace]


def test_pct_reports_its_bound_and_runs() -> None:
    result = explore_pct(program(LEAK), depth=2, runs=500, seed=4)
    opts = result.options
    n, k = opts["n"], opts["k"]
    assert n == 2 and isinstance(k, int) and k > 0
    assert opts["bound_per_run"] == pytest.approx(1 / (2 * k))
    assert opts["runs_done"] == result.stats.executions
    assert any("per-run bound" in b for b in result.bounds)


@pytest.mark.parametrize("explore", [explore_random, explore_pct])
def test_a_seed_makes_the_search_deterministic(explore: Explore) -> None:
    prog = program(LEAK)
    a = explore(prog, runs=200, seed=11, all_violations=True)
    b = explore(prog, runs=200, seed=11, all_violations=True)
    assert [f.schedule for f in a.violations] == [f.schedule for f in b.violations]
    assert a.stats.transitions == b.stats.transitions


def test_all_violations_keeps_one_per_distinct_violation() -> None:
    result = explore_random(
        program("store 1 A :: writeback | store 1 B"), runs=300, seed=2, all_violations=True
    )
    keys = [(f.prop, f.message) for f in result.violations]
    assert len(keys) == len(set(keys))
    assert result.verdict == VIOLATION


@pytest.mark.parametrize("explore", [explore_random, explore_pct])
def test_a_single_schedule_runs_once_and_is_still_bounded(explore: Explore) -> None:
    result = explore(program(SINGLE), runs=50, seed=0)
    assert result.stats.executions == 1
    assert result.verdict == BOUNDED


def test_unseeded_search_reports_the_seed_it_used() -> None:
    result = explore_random(program(CLEAN), runs=3)
    assert isinstance(result.options["seed"], int)


def test_preemption_count() -> None:
    # 1 runs, 2 preempts it (1 still enabled), 1 resumes after 2 finished: one preemption.
    schedule = [(1, 0), (2, 0), (2, 0), (1, 0)]
    enabled = [[1, 2], [1, 2], [1, 2], [1]]
    assert preemptions(schedule, enabled) == 1
    # Switching away from the setup, or from a blocked thread, is free.
    assert preemptions([(0, 0), (2, 0), (1, 0)], [[0], [1, 2], [1]]) == 0


def test_count_preemptions_of_a_found_leak_is_small() -> None:
    prog = program(LEAK)
    found = explore_pct(prog, depth=2, runs=1000, seed=0).violations[0]
    assert 1 <= count_preemptions(prog, found.schedule) <= 3


def test_engine_options_are_checked() -> None:
    from zmodel.explore import EngineError

    scenario = parse_scenario(CLEAN)
    with pytest.raises(EngineError):
        run_engine(REGISTRY["zswap-3.11"], scenario, "random", EngineOptions(extra={"depth": 3}))
    with pytest.raises(EngineError):
        run_engine(REGISTRY["zswap-3.11"], scenario, "pct", EngineOptions(max_preemptions=1))
