"""The executor: enabledness, each primitive's semantics, determinism."""

from __future__ import annotations

import random

import pytest

from zmodel.explore import Choice, Program, replay
from zmodel.harness import build_program
from zmodel.runtime import (
    Acquire,
    Await,
    Call,
    Choose,
    Executor,
    Heap,
    Load,
    ModelError,
    Release,
    Store,
    ThreadProgram,
    TryAcquire,
    Violation,
)
from zmodel.runtime.faults import DEADLOCK
from zmodel.zswap.designs import resolve_design
from zmodel.zswap.scenario import parse_scenario


def nothing() -> ThreadProgram:
    return
    yield


def make(heap: Heap, *threads: ThreadProgram) -> Executor:
    return Executor(heap, [("setup", nothing()), *((f"T{i}", t) for i, t in enumerate(threads, 1))])


def test_a_held_lock_disables_the_other_acquirer() -> None:
    heap = Heap()
    obj = heap.alloc("s", {"lock": None})

    def locker() -> ThreadProgram:
        yield Acquire(obj, "lock", "take")
        yield Release(obj, "lock", "drop")

    ex = make(heap, locker(), locker())
    assert ex.enabled() == [1, 2]
    step = ex.step(1)
    assert step.writes == {(obj.oid, "lock")}
    assert ex.enabled() == [1]
    ex.step(1)
    assert ex.enabled() == [2]


def test_trylock_never_blocks() -> None:
    heap = Heap()
    obj = heap.alloc("s", {"lock": None})
    got: list[bool] = []

    def holder() -> ThreadProgram:
        yield Acquire(obj, "lock", "take")

    def trier() -> ThreadProgram:
        got.append((yield TryAcquire(obj, "lock", "try")))

    ex = make(heap, holder(), trier())
    ex.step(1)
    ex.step(2)
    assert got == [False]


def test_choose_returns_the_scheduled_outcome() -> None:
    heap = Heap()
    seen: list[str] = []

    def chooser() -> ThreadProgram:
        seen.append((yield Choose("alloc", ("ok", "fail"))))

    ex = make(heap, chooser())
    assert ex.outcomes(1) == 2
    ex.step(1, 1)
    assert seen == ["fail"]


def test_await_blocks_until_its_predicate_holds() -> None:
    heap = Heap()
    flag = heap.alloc("flag", {"v": False})

    def waiter() -> ThreadProgram:
        yield Await("wait", heap.get, flag, "v")

    def setter() -> ThreadProgram:
        yield Call("set", heap.set, flag, "v", True)

    ex = make(heap, waiter(), setter())
    assert ex.enabled() == [2]
    ex.step(2)
    assert ex.enabled() == [1]


def test_setup_runs_alone_first() -> None:
    heap = Heap()

    def one() -> ThreadProgram:
        yield Call("x", lambda: None)

    ex = Executor(heap, [("setup", one()), ("T1", one())])
    assert ex.enabled() == [0]
    ex.step(0)
    assert ex.enabled() == [1]


def test_deadlock_is_reported_when_no_thread_can_move() -> None:
    heap = Heap()
    a = heap.alloc("a", {"lock": None})
    b = heap.alloc("b", {"lock": None})

    def ab(x: object, y: object) -> ThreadProgram:
        yield Acquire(x, "lock", "first")  # type: ignore[arg-type]
        yield Acquire(y, "lock", "second")  # type: ignore[arg-type]

    ex = make(heap, ab(a, b), ab(b, a))
    ex.step(1)
    ex.step(2)
    with pytest.raises(Violation) as exc:
        ex.check_deadlock()
    assert exc.value.prop == DEADLOCK


def test_exceptions_inside_the_model_become_model_errors() -> None:
    heap = Heap()

    def broken() -> ThreadProgram:
        yield Call("boom", lambda: 1 / 0)

    ex = make(heap, broken())
    # The model's file, line and function, the step's label, the exception.
    line = broken.__code__.co_firstlineno + 1
    where = rf"tests/runtime/test_executor\.py:{line} in .*broken.*<lambda> \(boom\)"
    with pytest.raises(ModelError, match=where + ": ZeroDivisionError"):
        ex.step(1)


def test_yielding_a_non_primitive_is_a_model_error() -> None:
    heap = Heap()

    def wrong() -> ThreadProgram:
        yield "not a primitive"  # type: ignore[misc]

    with pytest.raises(ModelError):
        make(heap, wrong())


def random_schedule(program: Program, rng: random.Random) -> list[Choice]:
    ex = program()
    schedule: list[Choice] = []
    while not ex.finished() and ex.enabled():
        tid = rng.choice(ex.enabled())
        choice = (tid, rng.randrange(ex.outcomes(tid)))
        schedule.append(choice)
        try:
            ex.step(*choice)
        except Violation:
            break
    return schedule


@pytest.mark.parametrize(
    "scenario",
    [
        "store 1 A :: writeback | free 1",
        "alloc_failures=on :: store 1 A; store 2 B :: writeback | load 2 | free 1",
    ],
)
def test_replay_is_deterministic_over_100_random_schedules(scenario: str) -> None:
    program = build_program(resolve_design("zswap-3.11"), parse_scenario(scenario))
    for seed in range(100):
        schedule = random_schedule(program, random.Random(seed))
        first, second = replay(program, schedule), replay(program, schedule)
        assert first.diverged is None and second.diverged is None
        assert first.trace == second.trace  # labels, outcomes and footprints alike
        assert len(first.trace) == len(schedule)


def _fresh_fingerprint(ex: Executor) -> object:
    """The fingerprint recomputed with nothing kept (heap parts, thread frames)."""
    return ex.full_fingerprint()


@pytest.mark.parametrize(
    ("design", "scenario"),
    [
        ("zswap-3.11", "store 1 A :: writeback | free 1 | store 1 B"),
        ("zswap-2013", "pool_pages=2 :: store 1 A; store 2 B; store 3 C :: store 4 D | free 1"),
        ("q2-lockless-walk", "store 1 A; store 2 B; store 3 C :: load 3 | free 1"),
        ("zswap-6.12", "alloc_failures=on :: store 1 A; store 2 B :: writeback | load 2 | free 1"),
    ],
)
def test_the_cached_fingerprint_is_the_fresh_one_at_every_step(design: str, scenario: str) -> None:
    # The heap keeps each object's part, and each thread its own, until a write or
    # the thread's next step: a stale part would merge two states in the cache.
    program = build_program(resolve_design(design), parse_scenario(scenario))
    for seed in range(20):
        rng = random.Random(seed)
        ex = program()
        while not ex.finished() and ex.enabled():
            assert ex.fingerprint() == _fresh_fingerprint(ex)
            tid = rng.choice(ex.enabled())
            try:
                ex.step(tid, rng.randrange(ex.outcomes(tid)))
            except Violation:
                break
        assert ex.fingerprint() == _fresh_fingerprint(ex)


def test_load_and_store_are_one_step_each_with_their_field_as_footprint() -> None:
    heap = Heap()
    obj = heap.alloc("s", {"x": 1})

    def thread() -> ThreadProgram:
        value = yield Load(obj, "x", "load x")
        yield Store(obj, "x", value + 1, "store x")

    ex = make(heap, thread())
    load = ex.step(1)
    store = ex.step(1)
    assert (load.reads, load.writes) == (frozenset({(obj.oid, "x")}), frozenset())
    assert (store.reads, store.writes) == (frozenset(), frozenset({(obj.oid, "x")}))
    assert heap.peek(obj, "x") == 2 and ex.is_done(1)


def test_a_load_of_a_freed_object_is_a_use_after_free() -> None:
    heap = Heap()
    obj = heap.alloc("s", {"x": 1})
    heap.free(obj)

    def thread() -> ThreadProgram:
        yield Load(obj, "x", "load x")

    with pytest.raises(Violation) as caught:
        make(heap, thread()).step(1)
    assert caught.value.prop == "use-after-free"
