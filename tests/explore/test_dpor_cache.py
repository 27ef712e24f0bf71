"""The state cache of the DPOR engine: summaries, when a hit may prune, and what a
hit reverses.  That the whole is sound is the differential suite's job
(tests/explore/test_dpor.py); these pin down the pieces."""

from __future__ import annotations

from typing import Any

from tests.explore.programs import build
from tests.explore.test_races import fp
from zmodel.explore.dpor import explore_dpor
from zmodel.explore.dpor_cache import StateCache, Summary, reverse_below
from zmodel.explore.races import HappensBefore


def summary(*events: tuple[int, Any]) -> Summary:
    s = Summary()
    for tid, f in events:
        s.add(tid, f)
    return s


def test_a_summary_keeps_each_distinct_event_once_and_leaves_the_setup_out() -> None:
    read = fp({(1, "a")})
    s = summary(
        (0, fp(writes={(9, "x")})),
        (1, read),
        (1, fp({(1, "a")})),  # equal to the first
        (1, fp(writes={(1, "b")})),
        (2, fp(halts=True)),
    )
    frozen = StateCache().freeze(s)
    assert sorted(tid for tid, _, _ in frozen) == [1, 1, 2]
    assert any(f is read for _, f, _ in frozen)


def test_equal_summaries_are_shared() -> None:
    cache = StateCache()
    a = cache.freeze(summary((1, fp({(1, "a")}))))
    b = cache.freeze(summary((1, fp({(1, "a")}))))
    cache.store("s", frozenset(), 10, a)
    cache.store("t", frozenset(), 10, b)
    assert a is b and len(cache) == 2


def test_a_hit_needs_the_first_sleep_set_and_no_more_budget() -> None:
    cache = StateCache()
    cache.store("s", frozenset({2}), 10, cache.freeze(summary((1, fp({(1, "a")})))))
    assert cache.lookup("s", frozenset({2}), 10) is not None
    assert cache.lookup("s", frozenset({2, 3}), 5) is not None
    # Thread 2 slept at the first exploration: its branch was never run from here.
    assert cache.lookup("s", frozenset(), 10) is None
    # Met again with more budget left than it was explored with.
    assert cache.lookup("s", frozenset({2}), 11) is None
    assert cache.lookup("t", frozenset({2}), 1) is None


class _Node:
    def __init__(self, tid: int, enabled: list[int]) -> None:
        self.tid = tid
        self.enabled = enabled
        self.backtrack = {tid}
        self.sleep: dict[int, Any] = {}
        self.summary: Summary | None = Summary()


def test_a_hit_reverses_races_with_the_events_below_the_cached_state() -> None:
    # Run so far: thread 1 writes a, then thread 2 reads b.  Below the cached
    # state thread 3 reads a: it may race with thread 1's write.
    hb = HappensBefore(4)
    stack = [_Node(1, [1, 2, 3]), _Node(2, [2, 3])]
    hb.push(1, fp(writes={(1, "a")}))
    hb.push(2, fp({(1, "b")}))
    cached = StateCache().freeze(summary((3, fp({(1, "a")}))))
    reverse_below(hb, stack, cached)
    # Thread 2's read does not follow the write: it is an initial of the reversal.
    assert stack[0].backtrack == {1, 2}
    assert stack[1].backtrack == {2}
    last = stack[-1].summary
    assert last is not None and [e[0] for e in last.events.values()] == [3]


def test_a_reversal_wholly_below_the_cached_state_adds_every_thread_there() -> None:
    hb = HappensBefore(4)
    stack = [_Node(1, [1, 2, 3])]
    hb.push(1, fp(writes={(1, "a")}))
    cached = StateCache().freeze(summary((3, fp({(1, "a")})), (2, fp({(7, "z")}))))
    reverse_below(hb, stack, cached)
    assert stack[0].backtrack == {1, 2, 3}


def test_the_fallback_leaves_out_threads_that_already_follow_the_event() -> None:
    # Thread 2 read what thread 1 wrote: all it does later follows the write.
    hb = HappensBefore(4)
    stack = [_Node(1, [1, 2, 3]), _Node(2, [2, 3])]
    hb.push(1, fp(writes={(1, "a")}))
    hb.push(2, fp({(1, "a")}))
    cached = StateCache().freeze(summary((3, fp({(1, "a")})), (2, fp({(7, "z")}))))
    reverse_below(hb, stack, cached)
    assert stack[0].backtrack == {1, 3}


def test_events_that_already_precede_the_thread_do_not_race() -> None:
    hb = HappensBefore(3)
    stack = [_Node(1, [1, 2]), _Node(2, [2])]
    hb.push(1, fp(writes={(1, "a")}))
    hb.push(2, fp({(1, "a")}))  # thread 2 has seen the write
    cached = StateCache().freeze(summary((2, fp(writes={(1, "a")}))))
    reverse_below(hb, stack, cached)
    assert stack[0].backtrack == {1}


def test_the_cache_prunes_and_reports_states() -> None:
    # Two atomic increments in either order end in one state, where two other
    # threads have not run yet (a state with one thread to run is not cached).
    spec: Any = (
        ((), (("r", 0, "a"),), (("rmw", 0, "a"),), (("rmw", 0, "a"),), (("r", 0, "b"),)),
        None,
    )
    cached = explore_dpor(build(spec, logs=False))
    stateless = explore_dpor(build(spec, logs=False), cache=False)
    assert cached.engine == "dpor-cached" and stateless.engine == "dpor"
    assert cached.stats.cut > 0 and cached.stats.distinct_states
    assert cached.stats.transitions < stateless.stats.transitions


def test_bounded_search_has_no_cache() -> None:
    spec: Any = (((), (("rmw", 0, "a"),), (("rmw", 0, "a"),)), None)
    bounded = explore_dpor(build(spec), max_preemptions=1)
    assert bounded.stats.distinct_states is None and bounded.options["cache"] is False
