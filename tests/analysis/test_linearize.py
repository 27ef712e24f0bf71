"""The z3 linearisation: fewest preemptions, respecting happens-before, proved."""

from __future__ import annotations

from zmodel.analysis.happens_before import happens_before
from zmodel.analysis.linearize import fewest_preemptions, preemptions
from zmodel.runtime import Step

A, B, C = (1, "a"), (2, "b"), (3, "c")


def step(
    tid: int, reads: tuple[tuple[int, str], ...] = (), writes: tuple[tuple[int, str], ...] = ()
) -> Step:
    return Step(tid, f"t{tid}", 0, frozenset(reads), frozenset(writes))


def test_preemptions_count_switches_from_unfinished_threads() -> None:
    assert preemptions([0, 0, 1, 1, 2, 2]) == 0
    assert preemptions([0, 1, 2, 1, 2]) == 2
    assert preemptions([1, 2, 2, 1]) == 1


def test_independent_steps_are_regrouped_with_no_preemption() -> None:
    trace = [step(0, writes=(A,)), step(1, writes=(B,)), step(2, writes=(C,)), step(1), step(2)]
    lin = fewest_preemptions(trace, happens_before(trace))
    assert lin.proved and lin.preemptions == 0
    assert [trace[i].tid for i in lin.order] in ([0, 1, 1, 2, 2], [0, 2, 2, 1, 1])


def test_a_real_race_keeps_its_preemption_and_the_order_of_dependent_steps() -> None:
    # T1 writes a, T2 reads a and writes b, T1 reads b: T1 must be preempted once.
    trace = [step(1, writes=(A,)), step(2, reads=(A,), writes=(B,)), step(1, reads=(B,))]
    graph = happens_before(trace)
    lin = fewest_preemptions(trace, graph)
    assert lin.proved and lin.preemptions == 1 and lin.order == (0, 1, 2)
    assert preemptions([s.tid for s in trace]) == 1


def test_the_violating_step_stays_last() -> None:
    trace = [step(1), step(2), step(1), step(2), step(1)]
    assert preemptions([s.tid for s in trace]) == 3
    lin = fewest_preemptions(trace, happens_before(trace), last=4)
    assert lin.proved and lin.order[-1] == 4
    # T2 runs first and finishes, so switching from it is free: no preemption at all.
    assert lin.preemptions == 0 and [trace[i].tid for i in lin.order] == [2, 2, 1, 1, 1]
