"""Many searches in flight on one back-end against the serial engines and plain
enumeration, and against each search run alone on the back-end.

Several generated programs go through :func:`explore_many` at once on the
in-process back-end (two slots with their own worker state, so a search's units
land on both and next to other searches' units).  Compared per program: every
end state and violation (against plain enumeration, with every violation
asked for), the verdict and the exhaustiveness (against the serial engine), and
for the engines without a state cache the whole result (violations with their
schedules in order, executions, transitions) against the program's search run
alone (:func:`explore_parallel`).  Results handed back in the order the
searches ended, and searches that share a name on the workers, must make the
comparison fail.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.explore.differential import Outcome, describe, outcome
from tests.explore.programs import Spec, build, specs
from tests.explore.test_parallel import KINDS, MUTATION_PROGRAMS, Built, Dying
from zmodel.explore import EngineOptions, Program, Result, explore
from zmodel.explore import tracker as tracker_mod
from zmodel.explore.backends import LocalBackend
from zmodel.explore.dfs import explore_dfs
from zmodel.explore.inline_backend import InlineBackend
from zmodel.explore.many import Board, Many, Search, Searched, explore_many
from zmodel.explore.parallel import explore_parallel
from zmodel.runtime import Executor, ModelError

#: The kinds whose units share no state cache: their result is the split's alone.
UNCACHED = ("dpor", "odpor", "plain")
#: And the default engine choosing after one run, so that these small programs split.
KINDS = {**KINDS, "default, probe 1": ("dpor", {"probe": 1})}


def many_outcomes(
    programs: list[Spec], kind: str, target: int, all_violations: bool = True
) -> list[tuple[Outcome, Result]]:
    engine, extra = KINDS[kind]
    ends: list[set[Any]] = [set() for _ in programs]

    def collector(i: int) -> Any:
        def on_end(ex: Executor) -> None:
            ends[i].add(ex.fingerprint())

        return on_end

    searches = [
        Search(Built(spec), engine, EngineOptions(all_violations=all_violations,
                                                  on_end=collector(i), extra=extra))
        for i, spec in enumerate(programs)
    ]  # fmt: skip
    backend = InlineBackend(2)
    try:
        got = list(explore_many(searches, backend, target=target))
    finally:
        backend.close()
    assert [s.index for s in got] == list(range(len(programs)))
    out = []
    for i, searched in enumerate(got):
        found = frozenset((v.prop, v.message) for v in searched.result.violations)
        out.append(((frozenset(ends[i]), found), searched.result))
    return out


def alone(spec: Spec, kind: str, target: int, all_violations: bool) -> Result:
    engine, extra = KINDS[kind]
    backend = InlineBackend(2)
    try:
        opts = EngineOptions(all_violations=all_violations, extra=extra)
        return explore_parallel(Built(spec), backend, engine, opts, target=target)
    finally:
        backend.close()


def same(a: Result, b: Result) -> bool:
    def key(r: Result) -> Any:
        found = [(v.prop, v.message, v.schedule) for v in r.violations]
        return found, r.stats.executions, r.stats.transitions, r.exhaustive, r.bounds

    return bool(key(a) == key(b))


def check(programs: list[Spec], kind: str, target: int, all_violations: bool) -> None:
    engine, extra = KINDS[kind]
    got = many_outcomes(programs, kind, target, all_violations)
    for spec, (out, result) in zip(programs, got, strict=True):
        serial = explore(build(spec), engine, all_violations=all_violations, **extra)
        assert result.verdict == serial.verdict and result.exhaustive == serial.exhaustive
        if all_violations:
            want, _ = outcome(explore_dfs, build(spec), cache=False)
            assert out == want, describe(want, out)
        if kind in UNCACHED:
            assert same(result, alone(spec, kind, target, all_violations))


def _settings(n: int) -> settings:
    return settings(max_examples=n, deadline=None, suppress_health_check=list(HealthCheck))


PROGRAMS = st.lists(specs(max_threads=3), min_size=2, max_size=4)
KIND = st.sampled_from(sorted(KINDS))
TARGETS = st.sampled_from([1, 2, 8, 64])


@_settings(80)
@given(PROGRAMS, KIND, TARGETS, st.booleans())
def test_many_searches_match_the_serial_engines(
    programs: list[Spec], kind: str, target: int, all_violations: bool
) -> None:
    check(programs, kind, target, all_violations)


@_settings(1000)
@given(PROGRAMS, KIND, TARGETS, st.booleans())
def test_many_searches_match_the_serial_engines_thorough(
    programs: list[Spec], kind: str, target: int, all_violations: bool
) -> None:
    check(programs, kind, target, all_violations)


#: A program that splits, then one that does not (one thread), so the second ends
#: first; each violates its own end check, so a result handed to another shows.
ORDERED: list[Spec] = [
    (MUTATION_PROGRAMS[0][0], ("end", 0, "a", 1)),
    (((), (("rmw", 0, "a"), ("r", 0, "b"))), ("end", 0, "b", 0)),
    (MUTATION_PROGRAMS[2][0], ("end", 0, "b", 1)),
    (MUTATION_PROGRAMS[1][0], ("end", 0, "a", 0)),
]


def _mismatches(kind: str) -> int:
    bad = 0
    for target in (2, 8, 64):
        try:
            got = many_outcomes(ORDERED, kind, target)
        except Exception:  # a mutation may break a search outright: that is caught too
            bad += 1
            continue
        for spec, (out, _) in zip(ORDERED, got, strict=True):
            want, _ = outcome(explore_dfs, build(spec), cache=False)
            bad += out != want
    return bad


def _in_the_order_ended(self: Many) -> Searched:
    if self.cursor >= len(self.trackers):
        raise StopIteration
    while len(self.outcomes) <= self.cursor:
        self._pump()
    found = list(self.outcomes.values())[self.cursor]
    self.cursor += 1
    assert isinstance(found, Searched)
    return Searched(self.cursor - 1, found.result, found.coverage, found.edges)


@pytest.mark.parametrize("kind", ["default, probe 1", "odpor", "plain"])
def test_results_handed_back_as_they_end_are_caught(
    kind: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert _mismatches(kind) == 0
    monkeypatch.setattr(Many, "__next__", _in_the_order_ended)
    assert _mismatches(kind) > 0


@pytest.mark.parametrize("kind", ["default, probe 1", "odpor", "plain"])
def test_searches_sharing_a_name_on_the_workers_are_caught(
    kind: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A worker keeps each search's program under the search's name: two searches
    with one name run each other's units on the other's program."""
    assert _mismatches(kind) == 0
    monkeypatch.setattr(tracker_mod, "search_id", lambda: "one name")
    assert _mismatches(kind) > 0


def test_a_unit_dropped_is_caught(monkeypatch: pytest.MonkeyPatch) -> None:
    """A scheduler that loses a unit (taken, never handed out) leaves the search
    unfinished in its merge: the verdict is not exhaustive."""
    assert _mismatches("plain") == 0
    real = tracker_mod.Tracker.take

    def skipping(self: tracker_mod.Tracker) -> int | None:
        index = real(self)
        return real(self) if index == 1 else index

    monkeypatch.setattr(tracker_mod.Tracker, "take", skipping)
    assert _mismatches("plain") > 0


@dataclass(frozen=True)
class Broken:
    """A program whose setup raises: the model's error, before any choice."""

    def program(self, coverage: set[str], edges: dict[Any, Any]) -> Program:
        def fresh() -> Executor:
            raise ModelError("setup broke")

        return fresh


def test_a_model_error_is_raised_at_its_searchs_turn() -> None:
    from zmodel.explore import ModelFailure

    searches = [Search(Built(SMALL), "odpor", EngineOptions(all_violations=True)),
                Search(Broken(), None, EngineOptions()),
                Search(Built(SMALL), "odpor", EngineOptions(all_violations=True))]  # fmt: skip
    backend = InlineBackend(2)
    try:
        many = explore_many(searches, backend)
        first = next(many)
        assert first.index == 0 and first.result.exhaustive
        with pytest.raises(ModelFailure, match="setup broke"):
            next(many)
    finally:
        backend.close()


SMALL = MUTATION_PROGRAMS[0]


def test_progress_shows_every_search_on_the_workers() -> None:
    boards: list[Board] = []
    searches = [Search(Built(spec), "plain", EngineOptions(all_violations=True))
                for spec in MUTATION_PROGRAMS]  # fmt: skip
    backend = InlineBackend(2)
    try:
        results = list(explore_many(searches, backend, on_progress=boards.append, interval=0.0))
    finally:
        backend.close()
    assert len(results) == 3
    assert any(len([f for f in b if not f.finished]) >= 2 for b in boards)
    # A board lists the searches in order, from the first not handed back.
    assert all([f.index for f in b] == sorted(f.index for f in b) for b in boards)


def test_an_interrupt_hands_back_the_searches_started() -> None:
    searches = [Search(Built(spec), "plain", EngineOptions(all_violations=True))
                for spec in MUTATION_PROGRAMS]  # fmt: skip
    backend = InlineBackend(2)
    try:
        many = explore_many(searches, backend)
        next(many)
        many._pump()  # the next searches' plans go out
        rest = many.interrupt()
    finally:
        backend.close()
    assert [s.index for s in rest] == sorted(s.index for s in rest) and rest[0].index == 1
    for searched in rest:
        assert searched.result.exhaustive != searched.interrupted
        assert searched.interrupted == any(
            b.startswith("interrupted") for b in searched.result.bounds
        )


def test_a_dead_worker_costs_one_search_one_unit(tmp_path: Path) -> None:
    marker = tmp_path / "marker"
    marker.write_text(str(os.getpid()))
    backend = LocalBackend(2)
    try:
        searches = [Search(Built(SMALL), "odpor", EngineOptions(all_violations=True)),
                    Search(Dying(SMALL, str(marker), 1), "odpor",
                           EngineOptions(all_violations=True))]  # fmt: skip
        first, second = explore_many(searches, backend)
    finally:
        backend.close()
    serial = explore(build(SMALL), "odpor", all_violations=True)
    for searched in (first, second):
        assert searched.result.verdict == serial.verdict == "pass"
        assert searched.result.exhaustive
    assert not first.result.notes
    assert any("a worker died" in note for note in second.result.notes)


def test_a_time_limit_is_per_search() -> None:
    from zmodel.shipping import ScenarioSource

    long = ScenarioSource.of("zswap-3.11", "store 1 A; store 2 B :: writeback | load 2 | free 1")
    backend = LocalBackend(2)
    try:
        opts = EngineOptions(all_violations=True, time_limit=1.0)
        quick = EngineOptions(all_violations=True, time_limit=60.0)
        searches = [Search(long, None, opts), Search(Built(SMALL), "odpor", quick),
                    Search(long, None, opts)]  # fmt: skip
        results = [s.result for s in explore_many(searches, backend)]
    finally:
        backend.close()
    for cut in (results[0], results[2]):
        assert not cut.exhaustive and cut.bounds == ["time limit 1s"], cut.bounds
    assert results[1].exhaustive
