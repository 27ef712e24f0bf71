"""Optimal DPOR (wakeup trees) against plain enumeration and source-DPOR.

The differential check of test_dpor.py, on thousands of generated programs:
the same end states and the same violations as plain DFS.  On the classic
benchmarks it runs exactly one execution per Mazurkiewicz trace (as counted by
brute force) and never more executions than source-DPOR.
"""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from benchmarks.programs import classic, lastzero
from benchmarks.traces import count_traces
from tests.explore.differential import describe, outcome
from tests.explore.programs import Spec, build, flat_specs, specs
from tests.explore.test_dpor import NEEDS
from zmodel.explore import BOUNDED, PASS, VIOLATION, replay
from zmodel.explore.dfs import explore_dfs
from zmodel.explore.dpor import explore_dpor
from zmodel.explore.optimal_dpor import explore_optimal_dpor

DEFAULT_PROGRAMS = 2000
FLAT_PROGRAMS = 150
SLOW_PROGRAMS = 20_000


def _settings(n: int) -> settings:
    return settings(
        max_examples=n, deadline=None, suppress_health_check=list(HealthCheck), print_blob=True
    )


def check(spec: Spec, logs: bool = True) -> None:
    program = build(spec, logs)
    want, dfs = outcome(explore_dfs, program, cache=False)
    got, odpor = outcome(explore_optimal_dpor, program)
    assert got == want, describe(want, got)
    assert odpor.exhaustive and odpor.engine == "odpor"
    assert odpor.stats.executions <= dfs.stats.executions


@_settings(DEFAULT_PROGRAMS)
@given(specs(), st.booleans())
def test_optimal_dpor_matches_plain_enumeration(spec: Spec, logs: bool) -> None:
    check(spec, logs)


@_settings(FLAT_PROGRAMS)
@given(flat_specs())
def test_optimal_dpor_matches_plain_enumeration_one_step_threads(spec: Spec) -> None:
    check(spec)


#: Found by the strengthened generator (missed before issue 9's changes too): the
#: reversed step (t2's pick) conflicts with t1's step, which came after it in the
#: run and commuted with it there; the reversal must put t1 before it.
AFTER_THE_REVERSED_STEP: Spec = (
    (
        (("rmw", 1, "a"), ("choose",)),
        (("cw", 1, "a", "a", 1),),
        (("rmw", 1, "a"), ("pick", 1, "b")),
        (("cw", 0, "a", "b", 2), ("rmw", 1, "a"), ("casacc", 1, "b")),
    ),
    ("eq", 0, "a", 1),
)


def test_a_reversal_keeps_the_events_after_its_last_step() -> None:
    check(AFTER_THE_REVERSED_STEP)


@pytest.mark.slow
@_settings(SLOW_PROGRAMS)
@given(specs(), st.booleans())
def test_optimal_dpor_matches_plain_enumeration_slow(spec: Spec, logs: bool) -> None:
    check(spec, logs)


@pytest.mark.parametrize("name", sorted(NEEDS))
@pytest.mark.parametrize("logs", [True, False], ids=["logged", "unlogged"])
def test_regressions(name: str, logs: bool) -> None:
    check(NEEDS[name], logs)


def test_lastzero_4_runs_one_execution_per_trace() -> None:
    traces = count_traces(lastzero(4))
    result = explore_optimal_dpor(lastzero(4), stop_on_first=False)
    assert traces == 28
    assert result.stats.executions == traces and result.stats.pruned == 0
    # Source-DPOR needs more here: runs that end with every enabled thread asleep.
    source = explore_dpor(lastzero(4), stop_on_first=False).stats
    assert source.executions + source.cut > traces


@pytest.mark.parametrize("bench", classic(), ids=lambda b: b.name)
def test_never_more_executions_than_source_dpor(bench: Any) -> None:
    optimal = explore_optimal_dpor(bench.program, stop_on_first=False)
    source = explore_dpor(bench.program, stop_on_first=False)
    # Every run of source-DPOR: those that reach an end and those cut at a cached state.
    assert optimal.stats.executions <= source.stats.executions + source.stats.cut
    assert optimal.exhaustive
    traces = bench.traces if bench.traces is not None else count_traces(bench.program)
    assert optimal.stats.executions == traces and optimal.stats.pruned == 0


def test_independent_threads_take_one_execution() -> None:
    spec: Spec = (
        ((), (("w", 0, "a", 1), ("w", 0, "b", 1)), (("w", 1, "a", 1), ("w", 1, "b", 1))),
        None,
    )
    result = explore_optimal_dpor(build(spec))
    assert (result.stats.executions, result.stats.transitions) == (1, 4)
    assert result.verdict == PASS and result.stats.seconds > 0


def test_step_bound_and_time_limit_are_reported() -> None:
    spec: Spec = (((), (("w", 0, "a", 1), ("w", 0, "b", 1)), (("w", 0, "a", 2),)), None)
    result = explore_optimal_dpor(build(spec), max_steps=2)
    assert result.verdict == BOUNDED and result.bounds[0].startswith("step bound 2")
    timed = explore_optimal_dpor(build(spec), time_limit=0.0)
    assert timed.verdict == BOUNDED and timed.bounds == ["time limit 0s"]


def test_counterexamples_replay() -> None:
    spec: Spec = (
        ((), (("deref", 0), ("free", 1)), (("freec", 0),), (("freec", 1),)),
        ("eq", 0, "a", 0),
    )
    program = build(spec)
    assert explore_optimal_dpor(program).verdict == VIOLATION
    every = explore_optimal_dpor(program, stop_on_first=False)
    assert {v.prop for v in every.violations} == {"double-free", "use-after-free", "end-state"}
    for v in every.violations:
        again = replay(program, v.schedule)
        assert again.violation is not None and again.violation.prop == v.prop
