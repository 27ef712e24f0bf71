"""Work stealing (zmodel.explore.donate) against plain enumeration.

The in-process back-end asks every subtree for work after every ``give_after``
runs, so a search gives again and again from ever deeper points, and the gifts
go through the coordinator's bookkeeping (tracker.py: each after its giver, a
later one before an earlier one) as on real workers.  Compared with plain
enumeration: every trace (a violating run by the causal past of its step, see
test_trace_coverage.py) is run, every end state and violation is reached, the
verdict is the serial engine's, and optimal DPOR ends in quiescence exactly as
often as serially (no trace twice) where no run halts at a violation (after one,
the search starts again halting-safe, which is not optimal).  Mutations that
drop a branch of the point given from, or give it without its sleepers, must
make the comparison fail.
"""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from benchmarks.traces import Canonical, foata
from tests.explore.programs import Spec, build, specs, wide_specs
from tests.explore.test_parallel import MUTATION_PROGRAMS, Built
from tests.explore.test_trace_coverage import REGRESSIONS, violating
from zmodel.explore import EngineOptions, Result, explore
from zmodel.explore import donate as donate_mod
from zmodel.explore.dfs import explore_dfs
from zmodel.explore.inline_backend import InlineBackend
from zmodel.explore.parallel import explore_parallel
from zmodel.explore.subtree import Subtree
from zmodel.explore.tracker import Search, Tracker
from zmodel.explore.units import PLAN, Done, Plan
from zmodel.runtime import Executor

#: What a search ran: its traces, end states, violations, and runs that ended quiescent.
Seen = tuple[set[Canonical], set[Any], set[tuple[str, str]], int]

KINDS = {"odpor": ("odpor", {}), "dpor": ("dpor", {"cache": "off"}), "cached": ("dpor", {})}


def _seen(run: Any) -> Seen:
    traces: set[Canonical] = set()
    ends: set[Any] = set()
    quiet = 0

    def on_end(ex: Executor) -> None:
        nonlocal quiet
        traces.add(foata(ex.trace))
        ends.add(ex.fingerprint())
        quiet += 1

    result: Result = run(on_end)
    traces |= {violating(v) for v in result.violations}
    return traces, ends, {(v.prop, v.message) for v in result.violations}, quiet


def plain(spec: Spec) -> Seen:
    return _seen(lambda on_end: explore_dfs(build(spec), cache=False, stop_on_first=False,
                                            on_end=on_end))  # fmt: skip


def serial(spec: Spec, kind: str) -> tuple[Seen, Result]:
    engine, extra = KINDS[kind]
    held: list[Result] = []

    def run(on_end: Any) -> Result:
        held.append(explore(build(spec), engine, all_violations=True, on_end=on_end, **extra))
        return held[0]

    return _seen(run), held[0]


def given_away(spec: Spec, kind: str, give_after: int, target: int) -> tuple[Seen, Result]:
    """The parallel search, every subtree asked for work after every ``give_after`` runs."""
    engine, extra = KINDS[kind]
    held: list[Result] = []

    def run(on_end: Any) -> Result:
        backend = InlineBackend(2, give_after=give_after)
        opts = EngineOptions(all_violations=True, on_end=on_end, extra=extra)
        try:
            held.append(explore_parallel(Built(spec), backend, engine, opts, target=target))
        finally:
            backend.close()
        return held[0]

    return _seen(run), held[0]


def mismatch(spec: Spec, kind: str, give_after: int, target: int) -> str | None:
    """How the search with gifts differs from plain enumeration and the serial engine."""
    want = plain(spec)
    (traces, ends, found, quiet), got = given_away(spec, kind, give_after, target)
    (_, _, _, serial_quiet), one = serial(spec, kind)
    if kind != "cached" and not want[0] <= traces:
        return f"{len(want[0] - traces)} trace(s) not run"
    if ends != want[1] or found != want[2]:
        return "end states or violations differ"
    if got.exhaustive != one.exhaustive:
        return "verdict differs"
    # Optimal only where no run halts: after one, a search that goes on starts again
    # halting-safe (zmodel/explore/halting_safe.py), which may run a trace twice.
    restarted = "restarted_after" in got.options or "restarted_after" in one.options
    if kind == "odpor" and not restarted and quiet != serial_quiet:
        return f"{quiet} quiescent runs, serially {serial_quiet}"
    return None


def _settings(n: int) -> settings:
    return settings(max_examples=n, deadline=None, suppress_health_check=list(HealthCheck))


KIND = st.sampled_from(sorted(KINDS))
GIVE_AFTER = st.integers(1, 4)
TARGET = st.sampled_from([2, 8])


@_settings(120)
@given(st.one_of(specs(), wide_specs()), KIND, GIVE_AFTER, TARGET)
def test_gifts_lose_nothing(spec: Spec, kind: str, give_after: int, target: int) -> None:
    assert mismatch(spec, kind, give_after, target) is None


@_settings(1500)
@given(st.one_of(specs(), wide_specs()), KIND, GIVE_AFTER, TARGET)
def test_gifts_lose_nothing_many(spec: Spec, kind: str, give_after: int, target: int) -> None:
    assert mismatch(spec, kind, give_after, target) is None


def test_a_gift_goes_right_after_its_giver() -> None:
    """A later gift (from a deeper point) before an earlier one, both before the
    units after the giver: the serial engine's order; a gift the giver's outcome
    lists is taken once, whether it came before the outcome or only with it."""
    search = Search(Built(REGRESSIONS["halting race"]), "odpor", EngineOptions())
    tracker = Tracker(search, workers=2)
    plan = Plan("odpor", {}, [Subtree(((1, 0),)), Subtree(((2, 0),))], chosen=False)
    assert tracker.take() == PLAN
    tracker.collect(0, Done(PLAN, plan=plan))
    assert tracker.take() == 0
    first, second = [Subtree(((1, 0), (2, 0)))], [Subtree(((1, 0), (1, 0), (2, 0)))]
    tracker.receive(0, first)
    tracker.collect(0, Done(0, result=Result(engine="odpor"), gifts=[first, second]))
    assert tracker.order == [0, 3, 2, 1]
    assert [tracker.units[i] for i in tracker.order[1:3]] == [*second, *first]


#: Programs where a mutation of the gift shows (with a gift after every run or two).
PROGRAMS = [*MUTATION_PROGRAMS, REGRESSIONS["halting race"], REGRESSIONS["await, virtual cover"]]


def _caught() -> int:
    return sum(
        mismatch(spec, kind, give_after, 2) is not None
        for spec in PROGRAMS
        for kind in ("odpor", "dpor")
        for give_after in (1, 2)
    )


def test_the_programs_pass_unmutated() -> None:
    assert _caught() == 0


@pytest.mark.pure_python
def test_a_gift_that_drops_a_branch_is_caught(monkeypatch: pytest.MonkeyPatch) -> None:
    real = donate_mod._expand
    monkeypatch.setattr(donate_mod, "_expand", lambda *args: real(*args)[:-1])
    assert _caught() > 0


@pytest.mark.pure_python
def test_a_gift_without_its_sleepers_is_caught(monkeypatch: pytest.MonkeyPatch) -> None:
    real = donate_mod._expand

    def unslept(*args: Any) -> list[Subtree]:
        return [Subtree(u.prefix, (*u.siblings[:-1], ())) for u in real(*args)]

    monkeypatch.setattr(donate_mod, "_expand", unslept)
    assert _caught() > 0
