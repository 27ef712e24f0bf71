"""Random small programs over the runtime's primitives, for differential tests.

A program is described by a :class:`Spec` (plain tuples, so Hypothesis can
shrink it and a failure prints readably) and built by :func:`build` into a
:data:`~zmodel.explore.Program`: a zero-argument callable returning a fresh
executor.  Everything is deterministic.

The world: ``N_OBJS`` shared objects, each with integer fields ``a`` and ``b``,
a lock field ``lk`` and a pointer ``p`` to a heap-allocated ``node`` (field
``v``).  Thread 0 is the setup; threads 1.. are the concurrent ones.  Each
thread keeps a local accumulator ``acc`` that reads feed and writes may store,
so data flows between threads.

Operations (``op[0]``) and the steps they take:

* ``r o f``: read ``o.f`` into ``acc`` (1 step); ``w o f c``: write ``c``, or
  ``acc`` if ``c`` is negative (1); ``rmw o f``: atomic increment (1);
* ``lock o ops``: acquire ``o.lk``, run ``ops`` (which may nest another lock,
  so lock-order deadlocks occur), release (2 + inner); ``try o ops``: trylock,
  and if it succeeded run ``ops`` and release;
* ``alloc o``: allocate a node and store it in ``o.p`` (1); ``free o``: load
  ``o.p``, then free it in a second step (double-free races); ``freec o``: load,
  clear and free in one step; ``deref o``: load ``o.p``, then read its ``v``
  (use-after-free races);
* ``choose``: a two-way choice point added to ``acc``; ``await o f v``: block
  until ``o.f >= v`` (deadlocks when never); ``bug o f v``: BUG_ON(``o.f == v``).

The end check raises an ``end-state`` violation when ``o.f == v`` at quiescence.
"""

from __future__ import annotations

from collections.abc import Callable
from math import factorial
from typing import Any

from hypothesis import strategies as st

from zmodel.explore import Program
from zmodel.runtime import (
    Acquire,
    Await,
    Call,
    Choose,
    Executor,
    Heap,
    MemObject,
    Release,
    ThreadProgram,
    TryAcquire,
    Violation,
)

N_OBJS = 2
FIELDS = ("a", "b")
#: Upper bound on the schedules of a generated program (choices included),
#: estimated from its step counts, so that plain DFS stays fast.
MAX_SCHEDULES = 400

Op = tuple[Any, ...]
Spec = tuple[tuple[tuple[Op, ...], ...], Op | None]  # (threads, end check)


# -- the steps -------------------------------------------------------------------
def _read(heap: Heap, obj: MemObject, field: str) -> Any:
    return heap.get(obj, field)


def _write(heap: Heap, obj: MemObject, field: str, value: Any) -> None:
    heap.set(obj, field, value)


def _rmw(heap: Heap, obj: MemObject, field: str) -> None:
    heap.set(obj, field, heap.get(obj, field) + 1)


def _alloc(heap: Heap, obj: MemObject, value: int) -> None:
    heap.set(obj, "p", heap.alloc("node", {"v": value}))


def _free(heap: Heap, node: MemObject) -> None:
    heap.free(node, "kfree")


def _free_clear(heap: Heap, obj: MemObject) -> None:
    node = heap.get(obj, "p")
    if node is not None:
        heap.set(obj, "p", None)
        heap.free(node, "kfree")


def _deref(heap: Heap, node: MemObject) -> Any:
    return heap.get(node, "v")


def _at_least(heap: Heap, obj: MemObject, field: str, value: int) -> bool:
    return bool(heap.get(obj, field) >= value)


def _bug_on(heap: Heap, obj: MemObject, field: str, value: int) -> None:
    if heap.get(obj, field) == value:
        raise Violation("bug-on", f"{obj!r}.{field} == {value}")


def _run(heap: Heap, objs: tuple[MemObject, ...], ops: tuple[Op, ...]) -> ThreadProgram:
    # An index, not ``for op in ops``: a for loop's iterator lives on the frame's
    # value stack, which thread fingerprints cannot see, so two different
    # positions in the loop would look like one state to the cached search.
    acc = 0
    i = 0
    while i < len(ops):
        op = ops[i]
        i += 1
        kind = op[0]
        if kind == "r":
            acc = (acc + (yield Call(f"read {op[1]}.{op[2]}", _read, heap, objs[op[1]], op[2]))) % 4
        elif kind == "w":
            value = op[3] if op[3] >= 0 else acc
            yield Call(f"write {op[1]}.{op[2]}", _write, heap, objs[op[1]], op[2], value)
        elif kind == "rmw":
            yield Call(f"inc {op[1]}.{op[2]}", _rmw, heap, objs[op[1]], op[2])
        elif kind == "lock":
            yield Acquire(objs[op[1]], "lk", f"lock {op[1]}")
            yield from _run(heap, objs, op[2])
            yield Release(objs[op[1]], "lk", f"unlock {op[1]}")
        elif kind == "try":
            if (yield TryAcquire(objs[op[1]], "lk", f"trylock {op[1]}")):
                yield from _run(heap, objs, op[2])
                yield Release(objs[op[1]], "lk", f"unlock {op[1]}")
        elif kind == "alloc":
            yield Call(f"alloc {op[1]}", _alloc, heap, objs[op[1]], acc)
        elif kind == "free":
            node = yield Call(f"load {op[1]}.p", _read, heap, objs[op[1]], "p")
            if node is not None:
                yield Call(f"free {op[1]}.p", _free, heap, node)
        elif kind == "freec":
            yield Call(f"free-clear {op[1]}.p", _free_clear, heap, objs[op[1]])
        elif kind == "deref":
            node = yield Call(f"load {op[1]}.p", _read, heap, objs[op[1]], "p")
            if node is not None:
                acc = (acc + (yield Call(f"deref {op[1]}.p", _deref, heap, node))) % 4
        elif kind == "choose":
            acc = (acc + (yield Choose("choose", (0, 1)))) % 4
        elif kind == "await":
            yield Await(
                f"await {op[1]}.{op[2]}>={op[3]}", _at_least, heap, objs[op[1]], op[2], op[3]
            )
        elif kind == "bug":
            yield Call(f"bug-on {op[1]}.{op[2]}=={op[3]}", _bug_on, heap, objs[op[1]], op[2], op[3])
        else:
            raise ValueError(f"unknown op {op!r}")


def build(spec: Spec) -> Program:
    threads, end = spec

    def program() -> Executor:
        heap = Heap()
        objs = tuple(
            heap.alloc(
                "obj",
                {"a": 0, "b": 0, "lk": None, "p": heap.alloc("node", {"v": i})},
                root=True,
            )
            for i in range(N_OBJS)
        )
        end_check: Callable[[], None] | None = None
        if end is not None:
            _, o, f, v = end

            def end_check() -> None:
                if heap.peek(objs[o], f) == v:
                    raise Violation("end-state", f"obj {o}.{f} == {v} at the end")

        return Executor(
            heap,
            [(f"t{i}", _run(heap, objs, ops)) for i, ops in enumerate(threads)],
            end_check,
        )

    return program


# -- the strategy ----------------------------------------------------------------
def steps(op: Op) -> int:
    """The most steps ``op`` can take."""
    if op[0] in ("lock", "try"):
        return 2 + sum(steps(inner) for inner in op[2])
    return 2 if op[0] in ("free", "deref") else 1


def choices(op: Op) -> int:
    if op[0] in ("lock", "try"):
        return sum(choices(inner) for inner in op[2])
    return int(op[0] == "choose")


def schedules(threads: tuple[tuple[Op, ...], ...]) -> int:
    """An upper estimate of the schedules: interleavings times choice outcomes."""
    lengths = [sum(steps(op) for op in ops) for ops in threads[1:]]
    count = factorial(sum(lengths))
    for n in lengths:
        count //= factorial(n)
    return count * 2 ** sum(choices(op) for ops in threads for op in ops)


objs = st.integers(0, N_OBJS - 1)
fields = st.sampled_from(FIELDS)
small = st.integers(0, 2)

_simple = st.one_of(
    st.tuples(st.just("r"), objs, fields),
    st.tuples(st.just("w"), objs, fields, st.integers(-1, 2)),
    st.tuples(st.just("rmw"), objs, fields),
)
_inner = st.one_of(
    _simple,
    st.tuples(st.just("lock"), objs, st.lists(_simple, min_size=1, max_size=1).map(tuple)),
)
_op = st.one_of(
    _simple,
    st.tuples(st.just("lock"), objs, st.lists(_inner, min_size=1, max_size=2).map(tuple)),
    st.tuples(st.just("try"), objs, st.lists(_simple, min_size=1, max_size=1).map(tuple)),
    st.tuples(st.sampled_from(("alloc", "free", "freec", "deref")), objs),
    st.tuples(st.just("choose")),
    st.tuples(st.just("await"), objs, fields, st.integers(1, 2)),
    st.tuples(st.just("bug"), objs, fields, small),
)
_setup_op = st.one_of(
    st.tuples(st.just("w"), objs, fields, small),
    st.tuples(st.just("rmw"), objs, fields),
    st.tuples(st.just("choose")),
    st.tuples(st.just("alloc"), objs),
)


@st.composite
def specs(draw: st.DrawFn, max_threads: int = 4) -> Spec:
    """A program with 2 to ``max_threads`` concurrent threads and a setup."""
    n = draw(st.integers(2, max_threads))
    setup = tuple(draw(st.lists(_setup_op, max_size=2)))
    threads = [tuple(draw(st.lists(_op, min_size=1, max_size=3))) for _ in range(n)]
    # Keep plain enumeration cheap: shorten the longest thread until the
    # program has few enough schedules.
    while schedules((setup, *threads)) > MAX_SCHEDULES:
        longest = max(range(n), key=lambda i: sum(steps(op) for op in threads[i]))
        threads[longest] = threads[longest][:-1]
    end = draw(st.none() | st.tuples(st.just("eq"), objs, fields, small))
    return (setup, *threads), end
