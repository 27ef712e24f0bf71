"""The default engine (``dpor``, ``-X cache=auto``) and the bounded state cache.

The default starts as cached source-DPOR and turns to optimal DPOR after ``probe``
runs with fewer than four cache hits (zmodel/explore/choose.py); ``-X cache_mb`` bounds the
cache, dropping the least recently used states.  Both are checked against plain
enumeration on generated programs, through the public entry point, on both sides of
the choice and with a cache small enough to evict at nearly every store; the
mutation test shows that an eviction that forgets what happened below a state but
keeps the state is caught.
"""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import find, given
from hypothesis import strategies as st

import zmodel.explore.dpor_cache as dpor_cache
from benchmarks.programs import indexer, lastzero
from tests.explore.differential import Outcome, describe, outcome
from tests.explore.programs import Spec, build, specs
from tests.explore.test_dpor import NEEDS, _settings
from zmodel.explore import EngineError, Program, Result, explore, explore_dfs
from zmodel.explore.dpor_cache import StateCache

PROGRAMS = 2000


def _default(program: Program, *, stop_on_first: bool, **options: Any) -> Result:
    return explore(program, all_violations=not stop_on_first, **options)


def _tiny_cache(monkeypatch: pytest.MonkeyPatch) -> None:
    """Price every cached state at 300 KiB: -X cache_mb=1 then keeps about three."""
    monkeypatch.setattr(dpor_cache, "_ENTRY_BYTES", 300 << 10)


def check_default(spec: Spec, logs: bool) -> None:
    """The default, optimal DPOR after its first run, and cached source-DPOR with a
    cache that evicts, all reach what plain enumeration reaches."""
    program = build(spec, logs)
    want: Outcome = outcome(explore_dfs, program, cache=False)[0]
    got, result = outcome(_default, program)
    assert got == want, "default: " + describe(want, got)
    assert result.exhaustive
    # probe=1: the first run is the probe, the same first run optimal DPOR takes.
    got, result = outcome(_default, program, probe=1)
    assert got == want, "switched: " + describe(want, got)
    got, result = outcome(_default, program, cache="on", cache_mb=1)
    assert got == want, "evicting: " + describe(want, got)


@_settings(PROGRAMS)
@given(spec=specs(), logs=st.booleans())
def test_the_default_engine_matches_plain_enumeration(
    spec: Spec, logs: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    _tiny_cache(monkeypatch)
    check_default(spec, logs)


def test_a_tiny_cache_evicts() -> None:
    """The differential suite's small cache does evict (else it would test nothing)."""
    with pytest.MonkeyPatch.context() as mp:
        _tiny_cache(mp)
        result = explore(build(NEEDS["summaries, overwritten"], logs=False), cache="on", cache_mb=1)
    evicted = result.options["evicted"]
    assert isinstance(evicted, int) and evicted > 0 and result.exhaustive


@pytest.mark.pure_python
def test_an_eviction_that_keeps_the_state_without_its_summary_is_caught(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Forgetting the events below a state but keeping the state (a hit then
    reverses nothing) misses executions: the differential check must notice."""

    def forget(self: StateCache) -> None:
        self._entries = type(self._entries)(
            (key, [(asleep, budget, ()) for asleep, budget, _ in entries])
            for key, entries in self._entries.items()
        )
        self._bytes = 0

    _tiny_cache(monkeypatch)
    monkeypatch.setattr(StateCache, "_evict", forget)

    def disagrees(spec: Spec) -> bool:
        program = build(spec, logs=False)
        want = outcome(explore_dfs, program, cache=False)[0]
        return outcome(_default, program, cache="on", cache_mb=1)[0] != want

    assert disagrees(EVICTION_WITNESS)
    find(specs(value_dependent=False), disagrees, settings=_settings(PROGRAMS, derandomize=True))


#: What the search above finds (shrunk): the broken eviction misses an end state.
EVICTION_WITNESS: Any = (
    (
        (),
        (("bug", 1, "a", 2),),
        (("rmw", 1, "a"),),
        (("r", 0, "a"),),
        (("r", 0, "a"), ("rmw", 1, "a")),
    ),
    None,
)


def test_the_eviction_witness_passes_with_the_real_eviction(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _tiny_cache(monkeypatch)
    check_default(EVICTION_WITNESS, logs=False)


def test_lastzero_turns_to_optimal_dpor_one_execution_per_trace() -> None:
    # lastzero(n) has (n + 3) * 2**(n - 2) Mazurkiewicz traces (the count GenMC's
    # tests/correct/synthetic/lastzero publishes; benchmarks/families.py): counting
    # them by plain enumeration at n = 6 takes far longer than the default run allows.
    result = explore(lastzero(6), all_violations=True)
    assert result.options["chosen"] == "odpor" and result.exhaustive
    assert result.stats.executions == (6 + 3) * 2 ** (6 - 2) and result.stats.cut == 0


def test_a_program_whose_states_meet_keeps_the_cache() -> None:
    result = explore(indexer(12), all_violations=True)
    assert result.options["chosen"] == "dpor-cached" and result.stats.cut > 0
    assert result.stats.distinct_states


def test_a_preemption_bound_runs_bounded_dpor() -> None:
    result = explore(lastzero(4), max_preemptions=1, all_violations=True)
    assert result.engine == "dpor" and result.options["max_preemptions"] == 1
    assert "chosen" not in result.options


def test_cache_options_are_checked() -> None:
    program = lastzero(2)
    with pytest.raises(EngineError, match="auto, on or off"):
        explore(program, cache="maybe")
    with pytest.raises(EngineError, match="not with -X cache=off"):
        explore(program, cache="off", cache_mb=10)
    with pytest.raises(EngineError, match="cache_mb takes an integer"):
        explore(program, cache_mb=0)
    with pytest.raises(EngineError, match="does not take: probe"):
        explore(program, cache="on", probe=3)


def test_the_cache_drops_the_least_recently_used_state() -> None:
    one = dpor_cache.deep_size("a") + dpor_cache._ENTRY_BYTES  # what a state costs
    cache = StateCache(max_bytes=3 * one + 10)
    frozen: dpor_cache.Frozen = ()
    for key in ("a", "b", "c"):
        cache.store(key, frozenset(), 10, frozen)
    assert cache.evicted == 0
    assert cache.lookup("a", frozenset(), 10) is not None  # "a" is now the most recent
    cache.store("d", frozenset(), 10, frozen)
    assert cache.evicted == 2 and len(cache) == 2  # b and c, down to 90% of the budget
    assert cache.lookup("b", frozenset(), 10) is None
    assert cache.lookup("a", frozenset(), 10) is not None
    assert cache.lookup("d", frozenset(), 10) is not None
