"""Reductions on steps whose footprint depends on the value they read (issue 9).

A compare-and-swap that failed only read; moved before the write it read, it may
succeed and write.  A step that picks the field it writes by the value it read
writes another field in another order.  Every reduction here (source-DPOR with
and without its state cache, optimal DPOR, preemption-bounded DPOR, ICB) must
reach every end state plain enumeration reaches on such programs, and the engines
that promise one execution per Mazurkiewicz trace must run exactly the published
number on GenMC's ``casrot``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import find

import zmodel.explore.races as races
from benchmarks.programs import CAS_FAMILIES, CASROT_TRACES, casrot, casw
from benchmarks.traces import count_traces
from tests.explore.differential import Outcome, outcome
from tests.explore.programs import Spec, build, flat_specs
from tests.explore.test_dpor import _mutant_hunt
from zmodel.explore import Program, Result
from zmodel.explore.dfs import explore_dfs
from zmodel.explore.dpor import explore_dpor
from zmodel.explore.icb import explore_icb
from zmodel.explore.optimal_dpor import explore_optimal_dpor
from zmodel.runtime import Call, Executor, Heap, MemObject, Release, ThreadProgram, TryAcquire


# -- the two programs of the issue ------------------------------------------------------
def _nothing() -> ThreadProgram:
    yield from ()


def _cas(heap: Heap, g: MemObject, field: str, old: int, rec: MemObject, key: str) -> int:
    seen: int = heap.get(g, field)
    if seen == old:
        heap.set(g, field, old + 1 if field == "x" else 2 if field == "m" else 1)
    heap.set(rec, key, seen)
    return seen


def _picked_write(heap: Heap, g: MemObject, rec: MemObject) -> None:
    v = heap.get(g, "x")
    heap.set(g, "y" if v % 2 == 0 else "z", 0)
    heap.set(rec, "t1", v)


def _read_x(heap: Heap, g: MemObject, rec: MemObject, key: str) -> int:
    v: int = heap.get(g, "x")
    heap.set(rec, key, v)
    return v


def _write(heap: Heap, g: MemObject, field: str, value: int) -> None:
    heap.set(g, field, value)


def _t1(heap: Heap, g: MemObject, rec: MemObject) -> ThreadProgram:
    yield Call("v = x; write 0 to (y if v is even else z)", _picked_write, heap, g, rec)


def _read_then_cas(heap: Heap, g: MemObject, rec: MemObject, me: str) -> ThreadProgram:
    v = yield Call("v = x", _read_x, heap, g, rec, me + ".read")
    yield Call("CAS(x, v -> v+1)", _cas, heap, g, "x", v, rec, me + ".cas")


def _t4(heap: Heap, g: MemObject, rec: MemObject) -> ThreadProgram:
    yield Call("CAS(z, 0 -> 1)", _cas, heap, g, "z", 0, rec, "t4")


def picked_write() -> Executor:
    """t1 writes y or z by the parity of x; t2, t3 read x and CAS it up; t4 CASes z."""
    heap = Heap()
    g = heap.alloc("g", {"x": 0, "y": 0, "z": 0}, root=True)
    keys = ("t1", "t2.read", "t2.cas", "t3.read", "t3.cas", "t4")
    rec = heap.alloc("rec", dict.fromkeys(keys), root=True)
    threads = [
        ("t1", _t1(heap, g, rec)),
        ("t2", _read_then_cas(heap, g, rec, "t2")),
        ("t3", _read_then_cas(heap, g, rec, "t3")),
        ("t4", _t4(heap, g, rec)),
    ]
    return Executor(heap, [("setup", _nothing()), *threads])


def _trylock_then_cas(heap: Heap, g: MemObject, rec: MemObject) -> ThreadProgram:
    if (yield TryAcquire(g, "lk", "trylock(lk)")):
        yield Call("x = 0", _write, heap, g, "x", 0)
        yield Release(g, "lk", "unlock(lk)")
    old = yield Call("CAS(m, 0 -> 2)", _cas, heap, g, "m", 0, rec, "t2")
    if old == 0:
        yield Call("y = 1", _write, heap, g, "y", 1)
        yield Call("m = 0", _write, heap, g, "m", 0)


def _trylock_write(heap: Heap, g: MemObject) -> ThreadProgram:
    if (yield TryAcquire(g, "lk", "trylock(lk)")):
        yield Call("x = 1", _write, heap, g, "x", 1)
        yield Release(g, "lk", "unlock(lk)")


def trylock_shape() -> Executor:
    """The second shape of the issue: t1's picked write against try-locked writes of x."""
    heap = Heap()
    g = heap.alloc("g", {"x": 0, "y": 0, "z": 0, "m": 0, "lk": None}, root=True)
    rec = heap.alloc("rec", {"t1": None, "t2": None}, root=True)
    threads = [
        ("t1", _t1(heap, g, rec)),
        ("t2", _trylock_then_cas(heap, g, rec)),
        ("t3", _trylock_write(heap, g)),
    ]
    return Executor(heap, [("setup", _nothing()), *threads])


Engine = Callable[..., Result]
UNBOUNDED: list[tuple[str, Engine, dict[str, Any]]] = [
    ("dpor", explore_dpor, {}),
    ("dpor-nocache", explore_dpor, {"cache": False}),
    ("odpor", explore_optimal_dpor, {}),
]


def ends(engine: Engine, program: Program, **options: Any) -> Outcome:
    return outcome(engine, program, **options)[0]


@pytest.mark.parametrize("program", [picked_write, trylock_shape], ids=lambda p: p.__name__)
@pytest.mark.parametrize("name,engine,options", UNBOUNDED, ids=[u[0] for u in UNBOUNDED])
def test_every_end_state_of_the_issue_programs(
    program: Program, name: str, engine: Engine, options: dict[str, Any]
) -> None:
    want = ends(explore_dfs, program, cache=False)
    assert len(want[0]) == (14 if program is picked_write else 6)
    assert ends(engine, program, **options) == want


@pytest.mark.parametrize("program", [picked_write, trylock_shape], ids=lambda p: p.__name__)
@pytest.mark.parametrize("k", [0, 1, 2])
def test_bounded_dpor_and_icb_on_the_issue_programs(program: Program, k: int) -> None:
    want = ends(explore_dfs, program, cache=False, max_preemptions=k)
    assert ends(explore_dpor, program, max_preemptions=k) == want
    assert (
        ends(explore_icb, program, max_bound=k)
        == ends(explore_dfs, program, cache=False, max_preemptions=k)
        or explore_icb(program, max_bound=k).exhaustive
    )


# -- GenMC's CAS families ----------------------------------------------------------------
#: (family, N) for every published count; casw(5) (32,880 executions) is slow-only.
PUBLISHED = [
    (family, n)
    for family, (_, counts) in CAS_FAMILIES.items()
    for n in sorted(counts)
    if (family, n) != ("casw", 5)
]
#: Where plain enumeration counts the traces in a few seconds.
BRUTE_FORCE = [(family, n) for family, n in PUBLISHED if n <= (4 if family == "casw" else 7)]


def _family(family: str, n: int, record: bool = False) -> Program:
    return CAS_FAMILIES[family][0](n, record=record)


@pytest.mark.parametrize("family,n", PUBLISHED, ids=[f"{f}({n})" for f, n in PUBLISHED])
def test_optimal_dpor_runs_one_execution_per_published_trace(family: str, n: int) -> None:
    result = explore_optimal_dpor(_family(family, n), stop_on_first=False)
    assert result.stats.executions == CAS_FAMILIES[family][1][n]
    assert result.stats.pruned == 0 and result.exhaustive


@pytest.mark.parametrize("family,n", PUBLISHED, ids=[f"{f}({n})" for f, n in PUBLISHED])
def test_stateless_dpor_runs_the_published_count(family: str, n: int) -> None:
    result = explore_dpor(_family(family, n), stop_on_first=False, cache=False)
    assert result.stats.executions == CAS_FAMILIES[family][1][n]


@pytest.mark.slow
def test_optimal_dpor_on_casw_5() -> None:
    assert explore_optimal_dpor(casw(5), stop_on_first=False).stats.executions == 32880


@pytest.mark.parametrize("family,n", BRUTE_FORCE, ids=[f"{f}({n})" for f, n in BRUTE_FORCE])
def test_published_counts_are_the_brute_force_counts(family: str, n: int) -> None:
    assert count_traces(_family(family, n)) == CAS_FAMILIES[family][1][n]


@pytest.mark.parametrize("n", range(2, 7))
@pytest.mark.parametrize("name,engine,options", UNBOUNDED, ids=[u[0] for u in UNBOUNDED])
def test_casrot_with_reads_recorded_reaches_every_end_state(
    n: int, name: str, engine: Engine, options: dict[str, Any]
) -> None:
    program = casrot(n, record=True)
    want = ends(explore_dfs, program, cache=False)
    assert len(want[0]) == CASROT_TRACES[n]  # every trace ends in a state of its own
    assert ends(engine, program, **options) == want


@pytest.mark.parametrize("n", range(2, 6))
@pytest.mark.parametrize("k", [0, 1, 2])
def test_bounded_dpor_on_casrot(n: int, k: int) -> None:
    program = casrot(n, record=True)
    want = ends(explore_dfs, program, cache=False, max_preemptions=k)
    assert ends(explore_dpor, program, max_preemptions=k) == want


def test_icb_on_casrot_ends_exhaustive_with_every_end_state() -> None:
    program = casrot(5, record=True)
    result = explore_icb(program, max_bound=5)
    assert result.exhaustive
    assert ends(explore_icb, program, max_bound=5) == ends(explore_dfs, program, cache=False)


# -- the suite catches a stale footprint ----------------------------------------------------
def _stale(monkeypatch: pytest.MonkeyPatch) -> None:
    """Reversals reuse the footprint the racing step had in the observed order,
    and a woken sleeping step is taken to be unchanged: the engines before issue 9."""
    monkeypatch.setattr(races, "reads_from", lambda writer, reader: False)


def _misses(spec: Spec) -> bool:
    program = build(spec)
    want = ends(explore_dfs, program, cache=False)
    return any(ends(engine, program, **options) != want for _, engine, options in UNBOUNDED)


@pytest.mark.pure_python
def test_the_fixed_programs_fail_with_a_stale_footprint(monkeypatch: pytest.MonkeyPatch) -> None:
    _stale(monkeypatch)
    want = ends(explore_dfs, picked_write, cache=False)
    assert ends(explore_dpor, picked_write) != want
    assert ends(explore_optimal_dpor, casrot(4, record=True)) != ends(
        explore_dfs, casrot(4, record=True), cache=False
    )


@pytest.mark.pure_python
def test_the_generator_catches_a_stale_footprint(monkeypatch: pytest.MonkeyPatch) -> None:
    _stale(monkeypatch)
    find(flat_specs(), _misses, settings=_mutant_hunt(400))
