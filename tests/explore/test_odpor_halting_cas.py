"""Optimal DPOR on runs that halt at a violation: a soundness bug, fixed (2026-12-02).

Found by the fresh-clone CI's ``test_wide_programs_in_parallel_many`` on
2026-12-02 (a random example; the bug reproduced at 4ca1dc1).  Serial ``odpor``
reached 1 of the 3 end states plain enumeration reaches on a 4-thread program
where two CASes race with a read-then-CAS increment while a load-then-free races
with a free-and-clear (every run where T2 loads first halts at a double free).
The end states it missed need T3's CAS before one of T1's and T4's free before
T2's load.

What the runs showed (c = T1's CAS, C = T3's, l/f = T2's load and free, F = T4's
free-and-clear; the missed trace is ``c C c F l``).  After ``c c C F l`` the
reversal ``[C]`` at depth 1 was judged covered by the wakeup branch ``[l f C]``
(``l`` and ``f`` are independent of ``C``), which the halted run ``c c l f C F``
had inserted.  Inside that branch the reversal that would put ``F`` before ``l``
is ``[F]`` at depth 1, which the sleeping ``c`` (T1's second CAS, explored first
there, independent of ``F``) covered as ``c c ... F``, in the halted run
``c l F f``.  Each deferred to the other, and ``c C c F l`` was never run.  Both
coverings are the weak-initial argument (a step that commutes with a sequence
covers it), which needs the runs below the covering step to meet the remaining
races again; a halted run is not maximal, so they need not.

The fix of 2026-12-02 (wakeup_tree.insert, ``strict``) made the reversals of a
run that halted at a violation covered only by a sleeper or branch that starts
them, and the branches such a run inserted cover only what they start.  It did
not reach coverings made for finished runs (test_odpor_halting_restart.py); since
2026-12-04 a search that goes on after a violation starts again, every insertion
strict, at the first run that halts (zmodel/explore/halting_safe.py).  Programs
without a halting run are searched as before (one execution per trace on the
benchmarks).
"""

from __future__ import annotations

import pytest

from tests.explore.differential import outcome
from tests.explore.programs import Spec, build
from tests.explore.test_parallel import parallel_outcome
from tests.explore.test_trace_coverage import lost
from zmodel.explore import explore_dfs
from zmodel.explore.choose import explore_default
from zmodel.explore.dpor import explore_dpor
from zmodel.explore.optimal_dpor import explore_optimal_dpor

CAS_TWICE = (("cas", 0, "a", 0, 0), ("cas", 0, "a", 0, 0))
SPEC: Spec = (((), CAS_TWICE, (("free", 0),), (("casacc", 0, "a"),), (("freec", 0),)), None)


def plain() -> object:
    want, _ = outcome(explore_dfs, build(SPEC), cache=False)
    assert len(want[0]) == 3  # the end states to reach (a reachability guard)
    return want


def test_optimal_dpor_reaches_every_end_state_of_the_halting_cas_program() -> None:
    got, _ = outcome(explore_optimal_dpor, build(SPEC))
    assert got == plain()


@pytest.mark.parametrize("target", [1, 2, 8])
def test_a_parallel_optimal_dpor_search_reaches_them(target: int) -> None:
    got, _ = parallel_outcome(SPEC, "odpor", target)
    assert got == plain()


@pytest.mark.pure_python
def test_halted_runs_covered_by_commuting_steps_are_caught(monkeypatch: pytest.MonkeyPatch) -> None:
    # The mutation: the halting-safe search's insertions covered as weak initials.
    import zmodel.explore.optimal_dpor as optimal_dpor

    real = optimal_dpor.insert
    monkeypatch.setattr(
        optimal_dpor,
        "insert",
        lambda wut, sleep, seq, racing, strict=False: real(wut, sleep, seq, racing),
    )
    got, _ = outcome(explore_optimal_dpor, build(SPEC))
    assert got != plain()
    assert lost(CAS_ONCE, "odpor") > 0


@pytest.mark.parametrize("cache", [True, False])
def test_source_dpor_reaches_them(cache: bool) -> None:
    got, _ = outcome(explore_dpor, build(SPEC), cache=cache)
    assert got == plain()


def test_the_default_engine_reaches_them() -> None:
    got, result = outcome(explore_default, build(SPEC))
    assert got == plain()
    assert result.options["chosen"] == "dpor-cached"


def test_a_default_search_that_switched_to_odpor_reaches_them() -> None:
    # probe_runs=1: the default switches to optimal DPOR after one run (choose.py).
    got, result = outcome(lambda p, **kw: explore_default(p, probe_runs=1, **kw), build(SPEC))
    assert got == plain()
    assert result.options["chosen"] == "odpor"


@pytest.mark.parametrize("target", [1, 2, 8])
def test_a_parallel_default_search_that_switched_reaches_them(target: int) -> None:
    got, result = parallel_outcome(SPEC, "dpor", target, probe=1)
    assert got == plain()
    assert result.options.get("chosen") == "odpor"


#: The same family with one CAS in T1 and a plain CAS in T3: odpor ran every end
#: state but missed one trace of a run that halts (the compiled CI's heavy
#: test_wide_programs_many, 2026-12-02).
CAS_ONCE: Spec = (
    ((), (("cas", 0, "a", 0, 0),), (("free", 0),), (("cas", 0, "a", 0, 0),), (("freec", 0),)),
    None,
)


def test_optimal_dpor_runs_every_trace_of_the_one_cas_program() -> None:
    assert lost(CAS_ONCE, "odpor") == 0
