"""The benchmark families whose sequential-consistency trace counts are published.

Each :class:`Family` builds ``name(n)`` for a size ``n`` and knows the number of
Mazurkiewicz traces the literature gives for it (the number of executions an
optimal DPOR runs), where the count comes from, and how zmodel's rendering of
the program differs from the source's, if it does.  The programs are written
here from each benchmark's definition (none of the sources' code is copied):

* GenMC (MPI-SWS/genmc at v0.11.0, b03f01ed), ``tests/correct/synthetic/<name>``:
  ``<name>.c`` is the program, ``args.sc.mo.in`` the sizes, ``expected.sc.mo.in``
  the number of executions GenMC explores under SC, one line per size.
* Nidhugg (nidhugg/nidhugg, 0aea4d23), ``benchmarks/from_RFSC``: the programs of
  the comparison tables of Abdulla et al., "Optimal stateless model checking for
  reads-from equivalence under sequential consistency" (OOPSLA 2019), with the
  sizes in ``results/benchmarks/.../<name>/Makefile``.

Where a count is not printed in the source for a size, :attr:`Family.count` is
the closed form that reproduces every printed one, and the citation says so.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from math import comb, factorial

from benchmarks.programs import _executor, filesystem, indexer, lastzero
from zmodel.explore import Program
from zmodel.runtime import (
    Acquire,
    Call,
    Executor,
    Heap,
    Load,
    MemObject,
    Release,
    Store,
    ThreadProgram,
    Violation,
)

GENMC = "GenMC v0.11.0 tests/correct/synthetic"
NIDHUGG = "Nidhugg benchmarks/from_RFSC"


@dataclass(frozen=True)
class Family:
    name: str
    build: Callable[[int], Program]
    #: The published number of traces of ``name(n)``.
    count: Callable[[int], int]
    #: The sizes the benchmark runs by default (the issue's), smallest first.
    sizes: tuple[int, ...]
    #: Where the count comes from.
    source: str
    #: How zmodel's program differs from the source's, if it does ("" if not).
    differs: str = ""
    #: The largest size plain enumeration finishes in a few seconds here.
    plain_max: int = 0


# -- fetch-and-add, read-modify-write ------------------------------------------------
def _fetch_add(heap: Heap, obj: MemObject, field: str, delta: int) -> int:
    """atomic_fetch_add: one step that reads and writes."""
    old: int = heap.get(obj, field)
    heap.set(obj, field, old + delta)
    return old


def _counter(threads: Callable[[Heap, MemObject], list[ThreadProgram]]) -> Program:
    def program() -> Executor:
        heap = Heap()
        obj = heap.alloc("x", {"x": 0, "lock": None}, root=True)
        made = threads(heap, obj)
        return _executor(heap, [(f"t{i}", t) for i, t in enumerate(made)])

    return program


def _ainc_thread(heap: Heap, obj: MemObject) -> ThreadProgram:
    yield Call("fetch_add(x, 1)", _fetch_add, heap, obj, "x", 1)


def fetch_add(n: int) -> Program:
    """GenMC ``ainc``: ``n`` threads each do ``atomic_fetch_add(&x, 1)``."""
    return _counter(lambda heap, obj: [_ainc_thread(heap, obj) for _ in range(n)])


def _inc_thread(heap: Heap, obj: MemObject, i: int) -> ThreadProgram:
    r = yield Load(obj, "x", "r = x")
    assert isinstance(r, int)
    yield Store(obj, "x", r + (1 << i), f"x = r + {1 << i}")


def load_store_inc(n: int) -> Program:
    """GenMC ``inc``: thread ``i`` loads ``x`` then stores ``x + (1 << i)`` (two steps)."""
    return _counter(lambda heap, obj: [_inc_thread(heap, obj, i) for i in range(n)])


def _lockinc_thread(heap: Heap, obj: MemObject) -> ThreadProgram:
    yield Acquire(obj, "lock", "lock(mutex)")
    r = yield Load(obj, "x", "r = x")
    assert isinstance(r, int)
    yield Store(obj, "x", r + 1, "x = r + 1")
    yield Release(obj, "lock", "unlock(mutex)")


def lock_inc(n: int) -> Program:
    """GenMC ``lockinc``: thread ``i`` increments ``x`` (load, store) under a mutex."""
    return _counter(lambda heap, obj: [_lockinc_thread(heap, obj) for _ in range(n)])


# -- readers ---------------------------------------------------------------------------
def _writer(heap: Heap, obj: MemObject) -> ThreadProgram:
    yield Store(obj, "x", 42, "x = 42")


def _reader(heap: Heap, obj: MemObject) -> ThreadProgram:
    yield Load(obj, "x", "read x")


def readers(n: int) -> Program:
    """GenMC ``readers``: one thread stores ``x``, ``n`` threads load it."""
    return _counter(lambda heap, obj: [_writer(heap, obj), *(_reader(heap, obj) for _ in range(n))])


# -- linuxrwlock -----------------------------------------------------------------------
BIAS = 0x00100000  # RW_LOCK_BIAS


def _rwlock_thread(heap: Heap, lock: MemObject, n: int, value: int) -> ThreadProgram:
    i = 0
    while i < n:
        i += 1
        prior = yield Call("fetch_sub(lock, BIAS)", _fetch_add, heap, lock, "lock", -BIAS)
        if prior == BIAS:  # write_trylock succeeded: the critical section
            yield Store(lock, "var", value, f"var = {value}")
            yield Call("assert var", _check_var, heap, lock, value)
        # write_unlock after success, the undo of a failed trylock after failure
        yield Call("fetch_add(lock, BIAS)", _fetch_add, heap, lock, "lock", BIAS)


def _check_var(heap: Heap, lock: MemObject, value: int) -> None:
    if heap.get(lock, "var") != value:
        raise Violation("assertion", f"var is {heap.peek(lock, 'var')}, not {value}")


def linuxrwlock(n: int) -> Program:
    """Nidhugg's ``linuxrwlock`` (from SATCheck): two threads, ``n`` write_trylocks each."""

    def program() -> Executor:
        heap = Heap()
        lock = heap.alloc("rwlock", {"lock": BIAS, "var": 0}, root=True)
        threads = [(f"t{v}", _rwlock_thread(heap, lock, n, v)) for v in (1, 2)]
        return _executor(heap, threads)

    return program


FAMILIES: dict[str, Family] = {
    family.name: family
    for family in (
        Family(
            "lastzero",
            lastzero,
            lambda n: (n + 3) * 2 ** (n - 2),
            (10, 11, 12),
            f"{GENMC}/lastzero: 64, 3328, 147456 for n = 5, 10, 15; (n+3)*2^(n-2) gives"
            " those and 12 at n = 3 (tests/benchmarks/test_traces.py); n = 2..12 in"
            f" {NIDHUGG}/.../from_CONCUERROR/lastzero",
            plain_max=4,
        ),
        Family(
            "indexer",
            indexer,
            lambda n: 8 ** max(0, n - 11),
            (11, 12, 13),
            f"{GENMC}/indexer: 8, 4096 for n = 12, 15; 8^(n-11) gives those; n = 11..16 in"
            f" {NIDHUGG}/.../SV-COMP/indexer",
            "Nidhugg's CAS is lock, load, store-if-equal, unlock; zmodel's (GenMC's) one"
            " atomic step, a failed one only a read (GenMC counts it as a read too)",
        ),
        Family(
            "filesystem",
            filesystem,
            lambda n: 2 ** max(0, n - 13),
            (12, 14, 16),
            f"{NIDHUGG}/.../from_TRACER/filesystem (n = 12, 14, 16, 18): threads 13.. start"
            " at the block thread i-13 took, each such pair doubling: 2^(n-13)",
            "the block search is an unbounded loop (Nidhugg's stops after 10 blocks;"
            " never reached at these sizes)",
        ),
        Family(
            "linuxrwlock",
            linuxrwlock,
            lambda n: comb(4 * n, 2 * n),
            (1, 2, 3),
            f"{NIDHUGG}/.../from_SATCHECK/linuxrwlock (n = 1..6): every access to the lock"
            " word is a read-modify-write, 2n per thread, so each of C(4n, 2n) orders of them"
            " is a trace",
            plain_max=2,
        ),
        Family(
            "readers",
            readers,
            lambda n: 2**n,
            (2, 8, 13),
            f"{GENMC}/readers: 4, 256, 8192 for n = 2, 8, 13 (1 writer, n readers)",
            plain_max=6,
        ),
        Family(
            "fetch-add",
            fetch_add,
            factorial,
            (5, 6, 7),
            f"{GENMC}/ainc: 2, 6, 24, 120, 720, 5040 for n = 2..7",
            plain_max=6,
        ),
        Family(
            "load-store-inc",
            load_store_inc,
            lambda n: factorial(n) ** 2,
            (2, 3, 4),
            f"{GENMC}/inc (and binc): 4, 36, 576 for n = 2, 3, 4",
            plain_max=4,
        ),
        Family(
            "lock-inc",
            lock_inc,
            factorial,
            (5, 6, 7),
            f"{GENMC}/lockinc: 2, 6, 24, 120, 720, 5040 for n = 2..7",
            "GenMC's mutex is a CAS loop whose failed attempts block (not counted);"
            " zmodel's a lock field whose acquire blocks while held: the same N! orders",
            plain_max=4,
        ),
    )
}
