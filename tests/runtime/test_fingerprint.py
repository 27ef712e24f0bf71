"""The incremental fingerprint equals a full re-hash at every step, and a stale part is caught.

The state caches decide a hit by the fingerprint: a part kept past a change
would merge two states, and the search would prune one of them (a missed bug).
The heap keeps each object's part until a write, each thread its fingerprint
until it runs, and each suspended frame its part while it delegates to the same
generator; :meth:`Executor.full_fingerprint` recomputes all of it.
"""

from __future__ import annotations

import random
from typing import Any

import pytest
from hypothesis import HealthCheck, find, given, settings

import zmodel.runtime.fingerprint as fingerprint
from tests.explore.programs import Spec, build, specs
from zmodel.explore import Program
from zmodel.harness import build_program
from zmodel.runtime import Call, Executor, Heap, MemObject, Violation
from zmodel.zswap.designs import resolve_design
from zmodel.zswap.scenario import parse_scenario

SCENARIOS = [
    ("zswap-3.11", "store 1 A :: writeback | free 1 | store 1 B"),
    ("zswap-3.11", "store 1 A; store 2 B :: writeback | free 1 | store 1 C | load 2"),
    ("zswap-2013", "pool_pages=2 :: store 1 A; store 2 B; store 3 C :: store 4 D | free 1"),
    ("q2-lockless-walk", "store 1 A; store 2 B; store 3 C :: load 3 | free 1"),
    ("zswap-6.12", "alloc_failures=on :: store 1 A; store 2 B :: writeback | load 2 | free 1"),
    ("zswap-6.13", "cpus=2 :: store 1 A :: load 1 | cpu_offline 1"),
]


def mismatch(program: Program, seed: int) -> str | None:
    """Run one random schedule; where the incremental fingerprint first differs
    from the full one (fingerprinting every state, as a cached search may)."""
    rng = random.Random(seed)
    ex = program()
    steps = 0
    while True:
        if ex.fingerprint() != ex.full_fingerprint():
            return f"seed {seed}, after {steps} steps"
        enabled = ex.enabled()
        if ex.finished() or not enabled:
            return None
        tid = rng.choice(enabled)
        if rng.random() < 0.3:
            ex.fingerprint()  # sometimes only every other state, as the engines do
        try:
            ex.step(tid, rng.randrange(ex.outcomes(tid)))
        except Violation:
            return None if ex.fingerprint() == ex.full_fingerprint() else f"seed {seed}, at the end"
        steps += 1


@pytest.mark.parametrize(("design", "scenario"), SCENARIOS)
def test_the_incremental_fingerprint_is_the_full_one_on_zswap_runs(
    design: str, scenario: str
) -> None:
    program = build_program(resolve_design(design), parse_scenario(scenario))
    for seed in range(25):
        assert mismatch(program, seed) is None


def _generated_mismatch(spec: Spec) -> bool:
    program = build(spec)
    return any(mismatch(program, seed) is not None for seed in range(4))


_PROGRAMS = settings(
    max_examples=300, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True
)


@_PROGRAMS
@given(specs())
def test_the_incremental_fingerprint_is_the_full_one_on_generated_programs(spec: Spec) -> None:
    assert not _generated_mismatch(spec)


def test_a_write_that_keeps_the_stale_part_is_caught(monkeypatch: pytest.MonkeyPatch) -> None:
    """Mutation: Heap.set forgets to drop the written object's part."""

    def forgetful_set(self: Heap, obj: MemObject, field: str, value: Any) -> None:
        self.writes.add((obj.oid, field))
        obj.fields[field] = value

    monkeypatch.setattr(Heap, "set", forgetful_set)
    find(specs(), _generated_mismatch, settings=_PROGRAMS)
    program = build_program(resolve_design("zswap-3.11"), parse_scenario(SCENARIOS[0][1]))
    assert any(mismatch(program, seed) for seed in range(25))


@pytest.mark.pure_python
def test_a_frame_kept_past_its_delegate_is_caught(monkeypatch: pytest.MonkeyPatch) -> None:
    """Mutation: a suspended frame's part is reused without checking that it still
    delegates to the same generator (it may have resumed and moved on)."""
    monkeypatch.setattr(fingerprint, "unchanged", lambda entry, gen, inner: entry[0] is gen)
    program = build_program(resolve_design("zswap-3.11"), parse_scenario(SCENARIOS[1][1]))
    assert any(mismatch(program, seed) for seed in range(25))


class Counter:
    """A local whose fingerprint changes under a suspended frame."""

    def __init__(self) -> None:
        self.n = 0

    def __fingerprint__(self) -> int:
        return self.n


def _inner(counter: Counter) -> Any:
    counter.n += 1
    yield 1
    counter.n += 1
    yield 2


def _outer() -> Any:
    counter = Counter()
    yield from _inner(counter)


def test_a_changing_fingerprint_object_keeps_its_frame_fresh() -> None:
    """A local whose ``__fingerprint__`` changes (a sub-step runner) makes its frame
    recomputed although it still delegates to the same generator."""
    gen = _outer()
    next(gen)
    first, memo = fingerprint.thread_fingerprint(gen, [])
    next(gen)
    second, _ = fingerprint.thread_fingerprint(gen, memo)
    assert second == fingerprint.full_thread_fingerprint(gen)
    assert second[0] != first[0]  # the outer frame's counter moved on


def test_every_executor_state_of_a_run_has_one_fingerprint() -> None:
    # Two runs of one schedule reach equal states: the memo must not make the
    # second run's fingerprints differ from the first's (which had no memo).
    program = build_program(resolve_design("zswap-3.11"), parse_scenario(SCENARIOS[0][1]))
    rng = random.Random(7)
    first: Executor = program()
    schedule, prints = [], []
    while not first.finished() and first.enabled():
        tid = rng.choice(first.enabled())
        schedule.append(tid)
        prints.append(first.fingerprint())
        try:
            first.step(tid)
        except Violation:
            break
    second = program()
    for tid, fp in zip(schedule, prints, strict=True):
        assert second.full_fingerprint() == fp
        try:
            second.step(tid)
        except Violation:
            break


def _twice() -> Any:
    yield 1
    yield 1


def _loop_over_generator(heap: Heap, obj: MemObject) -> Any:
    for value in _twice():
        yield Call("read", heap.get, obj, "x")
        del value  # the local is gone at the yield: equal locals in both iterations


def test_a_for_loop_over_a_generator_is_in_the_fingerprint() -> None:
    # Two iterations with equal locals at the same instruction differ only in where
    # the looped-over generator is: it must show, or a cached search would take the
    # second for the first and prune it.
    heap = Heap()
    obj = heap.alloc("o", {"x": 0}, root=True)

    def nothing() -> Any:
        yield from ()

    ex = Executor(heap, [("setup", nothing()), ("t", _loop_over_generator(heap, obj))])
    before = ex.fingerprint()
    ex.step(1)  # reads only: the heap is the same
    after = ex.fingerprint()
    assert before[0] == after[0]
    assert before != after
    assert after == ex.full_fingerprint()
