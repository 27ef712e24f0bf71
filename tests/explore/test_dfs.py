"""Cached DFS against plain DFS, and plain DFS's preemption bound."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.explore.differential import describe, outcome
from tests.explore.programs import Spec, build, specs
from zmodel.explore.dfs import explore_dfs
from zmodel.runtime import Call, Executor, Heap, MemObject, ThreadProgram


def _settings(n: int) -> settings:
    return settings(max_examples=n, deadline=None, suppress_health_check=list(HealthCheck))


def check_cache(spec: Spec, k: int | None) -> None:
    program = build(spec)
    want, plain = outcome(explore_dfs, program, cache=False, max_preemptions=k)
    got, cached = outcome(explore_dfs, program, cache=True, max_preemptions=k)
    assert got == want, describe(want, got)
    assert cached.stats.executions <= plain.stats.executions
    assert cached.stats.distinct_states is not None and plain.stats.distinct_states is None


@_settings(2000)
@given(specs(), st.none() | st.integers(0, 2))
def test_cached_dfs_matches_plain_dfs(spec: Spec, k: int | None) -> None:
    check_cache(spec, k)


@pytest.mark.slow
@_settings(20_000)
@given(specs(), st.none() | st.integers(0, 3))
def test_cached_dfs_matches_plain_dfs_slow(spec: Spec, k: int | None) -> None:
    check_cache(spec, k)


def count_preemptions(schedule: list[tuple[int, int]], enabled_at: list[list[int]]) -> int:
    count = 0
    for i in range(1, len(schedule)):
        last = schedule[i - 1][0]
        if last != 0 and schedule[i][0] != last and last in enabled_at[i]:
            count += 1
    return count


def test_preemption_bound_counts_only_switches_away_from_enabled_threads() -> None:
    # Two threads of two steps each: 6 schedules; with no preemption only the two
    # where each thread runs to completion; one preemption adds 2 more (switch
    # in the middle of the first thread, then the second runs to its end, for
    # free once... no: switching back also preempts unless the other finished).
    spec: Spec = (
        ((), (("w", 0, "a", 1), ("w", 0, "b", 1)), (("w", 0, "a", 2), ("w", 0, "b", 2))),
        None,
    )
    counts = [
        explore_dfs(build(spec), cache=False, max_preemptions=k).stats.executions for k in range(4)
    ]
    assert counts == [2, 4, 6, 6]
    assert (
        explore_dfs(build(spec), cache=False, max_preemptions=0)
        .bounds[0]
        .startswith("max preemptions 0")
    )
    assert explore_dfs(build(spec), cache=False, max_preemptions=2).exhaustive


def test_blocking_is_not_a_preemption() -> None:
    # Thread 1 waits for thread 2: the switch when it blocks is free.
    spec: Spec = (((), (("await", 0, "a", 1), ("w", 0, "b", 1)), (("rmw", 0, "a"),)), None)
    result = explore_dfs(build(spec), cache=False, max_preemptions=0)
    assert result.exhaustive and result.stats.executions == 1


def _reader(heap: Heap, obj: MemObject) -> ThreadProgram:
    for _ in (0, 0):  # the loop position is on the frame value stack only
        yield Call("read", heap.get, obj, "a")


def _nothing() -> ThreadProgram:
    yield from ()


def _for_loop_program() -> Executor:
    heap = Heap()
    obj = heap.alloc("obj", {"a": 0}, root=True)
    return Executor(
        heap, [("setup", _nothing()), ("t1", _reader(heap, obj)), ("t2", _reader(heap, obj))]
    )


def test_cached_dfs_sees_for_loop_positions() -> None:
    want, _ = outcome(explore_dfs, _for_loop_program, cache=False)
    got, _ = outcome(explore_dfs, _for_loop_program, cache=True)
    assert got == want, describe(want, got)
