"""The parallel search against the serial engines and plain enumeration.

The in-process back-end runs the units one after another on two slots with
their own state caches (the entries one stores shipped to the other), so the
split and the cache sharing are what is tested.  Compared: every end state and
violation (against plain enumeration), the verdict (against the serial engine),
and for odpor (where no run halts at a violation) and plain the runs that end
(one per trace: executions less the sleep-blocked ones).  A split that drops a
branch, and an odpor whose foreign sleepers cover what they only weakly start,
must make the comparison fail.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.explore.differential import Outcome, describe, outcome
from tests.explore.programs import Spec, build, flat_specs, specs
from zmodel.explore import EngineOptions, Program, Result, explore
from zmodel.explore import split as split_mod
from zmodel.explore.backends import Backend, LocalBackend
from zmodel.explore.dfs import explore_dfs
from zmodel.explore.inline_backend import InlineBackend
from zmodel.explore.parallel import explore_parallel
from zmodel.runtime import Executor


@dataclass(frozen=True)
class Built:
    spec: Spec

    def program(self, coverage: set[str], edges: dict[Any, Any]) -> Program:
        return build(self.spec)


def parallel_outcome(
    spec: Spec, engine: str, target: int, backend: Any = None, **extra: Any
) -> tuple[Outcome, Result]:
    ends: set[Any] = set()

    def on_end(ex: Executor) -> None:
        ends.add(ex.fingerprint())

    opts = EngineOptions(all_violations=True, on_end=on_end, extra=extra)
    backend = InlineBackend(2) if backend is None else backend
    try:
        result = explore_parallel(Built(spec), backend, engine, opts, target=target)
    finally:
        backend.close()
    found = frozenset((v.prop, v.message) for v in result.violations)
    return (frozenset(ends), found), result


def complete(result: Result) -> int:
    return result.stats.executions - result.stats.pruned


KINDS = {
    "default": ("dpor", {}),
    "dpor-cached": ("dpor", {"cache": "on"}),
    "dpor": ("dpor", {"cache": "off"}),
    "odpor": ("odpor", {}),
    "dfs": ("dfs", {}),
    "plain": ("plain", {}),
}


def check(spec: Spec, kind: str, target: int, share: bool = False) -> None:
    """``share``: every run of a unit ships its new cache entries (sharing.py)."""
    engine, extra = KINDS[kind]
    want, _ = outcome(explore_dfs, build(spec), cache=False)
    serial = explore(build(spec), engine, all_violations=True, **extra)
    backend = InlineBackend(2, share=share)
    got, par = parallel_outcome(spec, engine, target, backend, **extra)
    assert got == want, describe(want, got)
    assert par.exhaustive == serial.exhaustive
    # One run per trace: for odpor only where no run halts.  A halted run is one of
    # the whole-run forms of its trace (the violation's causal past), and which form
    # a unit runs depends on its sleepers (a split's foreign ones cover only what
    # they start), so the counts of halted runs may differ, not the traces.
    if kind == "plain" or (kind == "odpor" and not serial.violations):
        assert complete(par) == complete(serial), (complete(par), complete(serial))


def _settings(n: int) -> settings:
    return settings(max_examples=n, deadline=None, suppress_health_check=list(HealthCheck))


KIND = st.sampled_from(sorted(KINDS))
TARGETS = st.sampled_from([1, 2, 8, 64])


@_settings(2000)
@given(specs(), KIND, TARGETS, st.booleans())
def test_parallel_matches_plain_enumeration(
    spec: Spec, kind: str, target: int, share: bool
) -> None:
    check(spec, kind, target, share)


@_settings(150)
@given(specs(), KIND, TARGETS, st.booleans())
def test_parallel_matches_plain_enumeration_quick(
    spec: Spec, kind: str, target: int, share: bool
) -> None:
    check(spec, kind, target, share)


@_settings(60)
@given(flat_specs(), KIND, TARGETS, st.booleans())
def test_parallel_matches_plain_enumeration_one_step_threads(
    spec: Spec, kind: str, target: int, share: bool
) -> None:
    check(spec, kind, target, share)


#: Programs where a lost branch shows: three threads reading and bumping one field.
MUTATION_PROGRAMS: list[Spec] = [
    (((), (("r", 0, "a"),), (("r", 0, "a"), ("rmw", 0, "a")), (("r", 0, "a"),)), None),
    (((), (("r", 0, "a"),), (("r", 0, "a"),), (("rmw", 0, "a"),)), None),
    (((), (("rmw", 0, "a"), ("r", 0, "b")), (("rmw", 0, "b"), ("r", 0, "a"))), None),
]


def _mismatches(kind: str, targets: tuple[int, ...] = (2, 8, 64)) -> int:
    engine, extra = KINDS[kind]
    bad = 0
    for spec in MUTATION_PROGRAMS:
        want, _ = outcome(explore_dfs, build(spec), cache=False)
        for target in targets:
            got, _ = parallel_outcome(spec, engine, target, **extra)
            bad += got != want
    return bad


@pytest.mark.parametrize("kind", ["dpor-cached", "dpor", "odpor", "plain"])
def test_a_split_that_drops_a_branch_is_caught(kind: str, monkeypatch: pytest.MonkeyPatch) -> None:
    assert _mismatches(kind) == 0
    real = split_mod.choices_at

    def fewer(*args: Any) -> Any:
        return real(*args)[:-1] or real(*args)

    monkeypatch.setattr(split_mod, "choices_at", fewer)
    assert _mismatches(kind) > 0


@pytest.mark.pure_python
def test_a_foreign_sleeper_covering_by_weak_initial_is_caught(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """odpor: a thread another subtree explores must not cover a wakeup sequence it
    is only a weak initial of (its insertions are in that subtree's search)."""
    from zmodel.explore import optimal_dpor, wakeup_tree

    assert _mismatches("odpor", (2, 8, 64, 1000)) == 0

    def as_own(self: Any, node: Any, seq: Any, racing: Any, strict: bool) -> None:
        if not node.fixed:
            wakeup_tree.insert(node.wut, node.sleep, seq, racing, strict)

    monkeypatch.setattr(optimal_dpor._Search, "insert_now", as_own)
    assert _mismatches("odpor", (2, 8, 64, 1000)) > 0


def test_shipped_cache_entries_are_used(monkeypatch: pytest.MonkeyPatch) -> None:
    """The entries one slot stored are hit by the other's units: fewer transitions
    than with each slot's cache its own, the same verdict as one process."""
    from zmodel.explore.dpor_cache import StateCache
    from zmodel.shipping import ScenarioSource

    source = ScenarioSource.of("zswap-3.11", "store 1 A :: load 1 | writeback")
    opts = EngineOptions(all_violations=True, extra={"cache": "on"})
    serial = explore(source.program(set(), {}), "dpor", all_violations=True, cache="on")

    def run() -> Result:
        backend = InlineBackend(2)
        try:
            return explore_parallel(source, backend, "dpor", opts, target=16)
        finally:
            backend.close()

    shared = run()
    monkeypatch.setattr(StateCache, "adopt", lambda self, stored: None)
    alone = run()
    for par in (shared, alone):
        assert par.verdict == serial.verdict
        assert {v.prop for v in par.violations} == {v.prop for v in serial.violations}
    assert shared.stats.transitions < alone.stats.transitions


def test_entries_shipped_while_a_unit_runs_are_used(monkeypatch: pytest.MonkeyPatch) -> None:
    """A running unit's parts (sharing.py) reach the coordinator and the other slot's
    units hit them: fewer transitions than with the entries shipped at a unit's end
    only, the same verdict as one process."""
    from zmodel.explore.sharing import Shared
    from zmodel.shipping import ScenarioSource

    source = ScenarioSource.of("zswap-3.11", "store 1 A :: load 1 | writeback")
    opts = EngineOptions(all_violations=True, extra={"cache": "on"})
    serial = explore(source.program(set(), {}), "dpor", all_violations=True, cache="on")
    parts: list[Shared] = []
    gifts = InlineBackend.gifts

    def counted(self: InlineBackend) -> Any:
        got = gifts(self)
        parts.extend(given for _, _, _, given in got if isinstance(given, Shared))
        return got

    monkeypatch.setattr(InlineBackend, "gifts", counted)

    def run(share: bool) -> Result:
        backend = InlineBackend(2, share=share)
        try:
            return explore_parallel(source, backend, "dpor", opts, target=16)
        finally:
            backend.close()

    at_end, in_parts = run(False), run(True)
    assert parts and all(part.stored for part in parts)
    for par in (at_end, in_parts):
        assert par.verdict == serial.verdict
        assert {v.prop for v in par.violations} == {v.prop for v in serial.violations}
    assert in_parts.stats.transitions <= at_end.stats.transitions


SMALL = MUTATION_PROGRAMS[0]


def test_local_workers_match_the_serial_engine() -> None:
    backend = LocalBackend(2)
    try:
        for engine in ("dpor", "odpor", "plain", "random"):
            opts = EngineOptions(all_violations=True, seed=1)
            par = explore_parallel(Built(SMALL), backend, engine, opts)
            serial = explore(build(SMALL), engine, all_violations=True, seed=1)
            assert par.verdict == serial.verdict
            assert {v.prop for v in par.violations} == {v.prop for v in serial.violations}
            if engine in ("odpor", "plain"):
                assert complete(par) == complete(serial)
    finally:
        backend.close()


def test_an_engine_option_reaches_the_units() -> None:
    opts = EngineOptions(all_violations=True, extra={"cache": "off"})
    backend = InlineBackend(2)
    try:
        par = explore_parallel(Built(SMALL), backend, "dpor", replace(opts))
    finally:
        backend.close()
    assert par.engine == "dpor" and par.stats.cut == 0


@dataclass(frozen=True)
class Dying:
    """A program whose worker dies the first ``deaths`` times it is built in a worker."""

    spec: Spec
    marker: str
    deaths: int

    def program(self, coverage: set[str], edges: dict[Any, Any]) -> Program:
        path = Path(self.marker)
        words = path.read_text().split()
        # In a worker (not the coordinator), while it has died fewer times than asked.
        if os.getpid() != int(words[0]) and len(words) - 1 < self.deaths:
            with path.open("a") as f:
                f.write(" x")
            os._exit(9)
        return build(self.spec)


def run_dying(tmp_path: Path, deaths: int, backend: Backend | None = None) -> Result:
    """odpor on a :class:`Dying` program, on ``backend`` (closed after; default 2
    local workers)."""
    marker = tmp_path / "marker"
    marker.write_text(str(os.getpid()))
    backend = LocalBackend(2) if backend is None else backend
    try:
        source = Dying(SMALL, str(marker), deaths)
        return explore_parallel(source, backend, "odpor", EngineOptions(all_violations=True))
    finally:
        backend.close()


def test_a_dead_worker_is_reported_and_its_unit_run_again(tmp_path: Path) -> None:
    par = run_dying(tmp_path, 1)
    serial = explore(build(SMALL), "odpor", all_violations=True)
    assert par.verdict == serial.verdict == "pass"
    assert par.exhaustive and complete(par) == complete(serial)
    assert any("a worker died" in note and "run again" in note for note in par.notes)


def test_a_unit_that_kills_every_worker_is_never_exhaustive(tmp_path: Path) -> None:
    par = run_dying(tmp_path, 10**6)
    assert not par.exhaustive and par.verdict == "bounded"
    assert any("given up" in note for note in par.notes)
    assert any("given up after their workers died" in bound for bound in par.bounds)


def test_a_time_limit_stops_the_units_under_way() -> None:
    """The units stop at the search's time limit (a cancelled future's work would go
    on), and the verdict says the search was cut."""
    import time

    from zmodel.shipping import ScenarioSource

    source = ScenarioSource.of("zswap-3.11", "store 1 A; store 2 B :: writeback | load 2 | free 1")
    backend = LocalBackend(2)
    try:
        started = time.perf_counter()
        opts = EngineOptions(all_violations=True, time_limit=2.0)
        par = explore_parallel(source, backend, None, opts)
        assert time.perf_counter() - started < 15
        # The search's limit, once: not each unit's share of it.
        assert not par.exhaustive and par.bounds == ["time limit 2s"], par.bounds
        # The workers are free again: a small search right after is quick.
        started = time.perf_counter()
        explore_parallel(Built(SMALL), backend, "odpor", EngineOptions(all_violations=True))
        assert time.perf_counter() - started < 10
    finally:
        backend.close()
