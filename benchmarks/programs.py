"""The classic stateless-model-checking benchmarks, written against the runtime.

* ``filesystem(n)`` and ``indexer(n)``: Flanagan and Godefroid, "Dynamic
  partial-order reduction for model checking software", POPL 2005; also used by
  Abdulla et al., POPL 2014.  The constants are the papers' (26 blocks, 32
  inodes; a 128-slot hash table, 4 messages per thread); the optional size
  arguments shrink the tables so that small instances have conflicts.
* ``lastzero(n)``: Abdulla et al., POPL 2014: a reader scans an array from the
  end for a zero while ``n`` writers each set ``a[j] = a[j-1] + 1``.
* ``readers_writers(r, w)``: Courtois, Heymans and Parnas' first readers-writers
  solution (CACM 1971): a mutex around the reader count, a semaphore that the
  first reader takes and the last reader gives back (possibly another thread),
  and writers that take the semaphore.

Every shared variable is a field of a heap object, every access a primitive
step, every lock a lock field.  Loops keep their position in locals (``while``
with an index, never ``for``): a ``for`` loop's iterator sits on the frame's
value stack, where thread fingerprints cannot see it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

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
)


@dataclass(frozen=True)
class Benchmark:
    name: str
    program: Program
    #: Mazurkiewicz traces, when known independently of the brute-force count
    #: (by hand or by the papers' formulas); None if only the count knows.
    traces: int | None = None
    #: Count traces by enumerating every schedule (only where plain DFS can,
    #: and the program has no violation: a violation ends a run early).
    count: bool = True


# -- shared steps ------------------------------------------------------------------
def _nothing() -> ThreadProgram:
    yield from ()


def _executor(heap: Heap, threads: list[tuple[str, ThreadProgram]]) -> Executor:
    return Executor(heap, [("setup", _nothing()), *threads])


# -- filesystem(n) ------------------------------------------------------------------
def _fs_thread(heap: Heap, fs: MemObject, tid: int, inodes: int, blocks: int) -> ThreadProgram:
    i = tid % inodes
    yield Acquire(fs, f"locki{i}", f"lock inode {i}")
    if (yield Load(fs, f"inode{i}", f"read inode {i}")) == 0:
        b = (i * 2) % blocks
        while True:
            yield Acquire(fs, f"lockb{b}", f"lock block {b}")
            if not (yield Load(fs, f"busy{b}", f"read busy {b}")):
                yield Store(fs, f"busy{b}", True, f"set busy {b}")
                yield Store(fs, f"inode{i}", b + 1, f"set inode {i}")
                yield Release(fs, f"lockb{b}", f"unlock block {b}")
                break
            yield Release(fs, f"lockb{b}", f"unlock block {b}")
            b = (b + 1) % blocks
    yield Release(fs, f"locki{i}", f"unlock inode {i}")


def filesystem(n: int, *, inodes: int = 32, blocks: int = 26) -> Program:
    def program() -> Executor:
        heap = Heap()
        fields: dict[str, object] = {}
        for i in range(inodes):
            fields[f"inode{i}"] = 0
            fields[f"locki{i}"] = None
        for b in range(blocks):
            fields[f"busy{b}"] = False
            fields[f"lockb{b}"] = None
        fs = heap.alloc("fs", fields, root=True)
        return _executor(
            heap, [(f"t{t}", _fs_thread(heap, fs, t, inodes, blocks)) for t in range(n)]
        )

    return program


# -- indexer(n) ----------------------------------------------------------------------
def _cas(heap: Heap, table: MemObject, slot: str, value: int) -> bool:
    """compare-and-swap(slot, 0, value): one atomic step."""
    if heap.get(table, slot) != 0:
        return False
    heap.set(table, slot, value)
    return True


def _indexer_thread(heap: Heap, table: MemObject, tid: int, size: int) -> ThreadProgram:
    m = 0
    while m < 4:
        m += 1
        w = m * 11 + tid
        h = (w * 7) % size
        while not (yield Call(f"cas h{h}", _cas, heap, table, f"h{h}", w)):
            h = (h + 1) % size


def indexer(n: int, *, size: int = 128) -> Program:
    if 4 * n > size:
        raise ValueError("the table must hold every message")

    def program() -> Executor:
        heap = Heap()
        table = heap.alloc("table", {f"h{h}": 0 for h in range(size)}, root=True)
        return _executor(heap, [(f"t{t}", _indexer_thread(heap, table, t, size)) for t in range(n)])

    return program


# -- lastzero(n) ---------------------------------------------------------------------
def _lastzero_reader(heap: Heap, array: MemObject, n: int) -> ThreadProgram:
    i = n
    while (yield Load(array, f"a{i}", f"read a{i}")) != 0:
        i -= 1


def _lastzero_writer(heap: Heap, array: MemObject, j: int) -> ThreadProgram:
    value = yield Load(array, f"a{j - 1}", f"read a{j - 1}")
    assert isinstance(value, int)
    yield Store(array, f"a{j}", value + 1, f"write a{j}")


def lastzero(n: int) -> Program:
    def program() -> Executor:
        heap = Heap()
        array = heap.alloc("array", {f"a{i}": 0 for i in range(n + 1)}, root=True)
        threads = [("reader", _lastzero_reader(heap, array, n))]
        threads += [(f"w{j}", _lastzero_writer(heap, array, j)) for j in range(1, n + 1)]
        return _executor(heap, threads)

    return program


# -- readers_writers(r, w) -------------------------------------------------------------
def _add(heap: Heap, obj: MemObject, field: str, delta: int) -> int:
    value = heap.get(obj, field) + delta
    heap.set(obj, field, value)
    return int(value)


def _reader(heap: Heap, rw: MemObject) -> ThreadProgram:
    yield Acquire(rw, "mutex", "P(mutex)")
    if (yield Call("readcount++", _add, heap, rw, "readcount", 1)) == 1:
        yield Acquire(rw, "wrt", "P(wrt)")  # the first reader locks writers out
    yield Release(rw, "mutex", "V(mutex)")
    yield Load(rw, "data", "read data")
    yield Acquire(rw, "mutex", "P(mutex)")
    if (yield Call("readcount--", _add, heap, rw, "readcount", -1)) == 0:
        # The last reader lets writers in: a semaphore, so maybe not the taker.
        yield Store(rw, "wrt", None, "V(wrt)")
    yield Release(rw, "mutex", "V(mutex)")


def _writer(heap: Heap, rw: MemObject, tid: int) -> ThreadProgram:
    yield Acquire(rw, "wrt", "P(wrt)")
    yield Store(rw, "data", tid, "write data")
    yield Release(rw, "wrt", "V(wrt)")


def readers_writers(readers: int, writers: int) -> Program:
    def program() -> Executor:
        heap = Heap()
        rw = heap.alloc("rw", {"mutex": None, "wrt": None, "readcount": 0, "data": 0}, root=True)
        threads = [(f"r{i}", _reader(heap, rw)) for i in range(readers)]
        threads += [(f"w{i}", _writer(heap, rw, readers + i + 1)) for i in range(writers)]
        return _executor(heap, threads)

    return program


# -- the suite ---------------------------------------------------------------------------
#: Instances small enough for plain DFS to enumerate every schedule.  The known
#: trace counts are derived by hand in tests/benchmarks/test_traces.py.
# -- GenMC's CAS families (tests/correct/synthetic: casrot, cas, casw, wcas) --------------
# A failed CAS only reads, so which CASes commute depends on the values they read:
# these families expose reductions that reuse a footprint from another order
# (issue 9).  Each count is GenMC's expected number of executions under
# sequential consistency (tests/correct/synthetic/<family>/expected.sc.mo.in);
# zmodel's Mazurkiewicz traces, with a failed CAS a read, are the same numbers
# (brute force agrees: tests/explore/test_value_dependent.py).
def _cas_x(heap: Heap, obj: MemObject, old: int, new: int, rec: MemObject | None, key: str) -> int:
    seen: int = heap.get(obj, "x")
    if seen == old:
        heap.set(obj, "x", new)
    if rec is not None:
        heap.set(rec, key, seen)
    return seen


def _cas_thread(
    heap: Heap, obj: MemObject, old: int, new: int, rec: MemObject | None, key: str
) -> ThreadProgram:
    yield Call(f"CAS(x, {old} -> {new})", _cas_x, heap, obj, old, new, rec, key)


def _cas_then_store(
    heap: Heap, obj: MemObject, value: int, rec: MemObject | None, key: str
) -> ThreadProgram:
    yield Call("CAS(x, 0 -> 1)", _cas_x, heap, obj, 0, 1, rec, key)
    yield Store(obj, "x", value, f"x = {value}")


def _store(heap: Heap, obj: MemObject, value: int) -> ThreadProgram:
    yield Store(obj, "x", value, f"x = {value}")


def _cas_family(n: int, record: bool, threads: Callable[..., list[ThreadProgram]]) -> Program:
    def program() -> Executor:
        heap = Heap()
        obj = heap.alloc("x", {"x": 0}, root=True)
        rec = heap.alloc("read", {f"t{i}": None for i in range(n + 1)}, root=True)
        made = threads(heap, obj, rec if record else None)
        return _executor(heap, [(f"t{i + 1}", t) for i, t in enumerate(made)])

    return program


def casrot(n: int, *, record: bool = False) -> Program:
    """Thread ``i`` of ``n`` does ``CAS(x, i-1 -> i)`` once; ``x`` starts at 0.

    With ``record`` each thread also stores the value it read in a field of its
    own, so that every trace ends in a state of its own.
    """
    return _cas_family(
        n,
        record,
        lambda heap, obj, rec: [
            _cas_thread(heap, obj, i - 1, i, rec, f"t{i}") for i in range(1, n + 1)
        ],
    )


def cas_winner(n: int, *, record: bool = False) -> Program:
    """GenMC's ``cas``: thread ``i`` does ``CAS(x, 0 -> i)``; the first one wins."""
    return _cas_family(
        n,
        record,
        lambda heap, obj, rec: [
            _cas_thread(heap, obj, 0, i, rec, f"t{i}") for i in range(1, n + 1)
        ],
    )


def casw(n: int, *, record: bool = False) -> Program:
    """GenMC's ``casw``: thread ``i`` does ``CAS(x, 0 -> 1)``, then stores ``i + 3``."""
    return _cas_family(
        n,
        record,
        lambda heap, obj, rec: [_cas_then_store(heap, obj, i + 3, rec, f"t{i}") for i in range(n)],
    )


def wcas(n: int, *, record: bool = False) -> Program:
    """GenMC's ``wcas``: one thread stores 2, ``n`` threads do ``CAS(x, 2 -> 3)``."""
    return _cas_family(
        n,
        record,
        lambda heap, obj, rec: [
            _store(heap, obj, 2),
            *(_cas_thread(heap, obj, 2, 3, rec, f"t{i}") for i in range(1, n + 1)),
        ],
    )


CASROT_TRACES = {2: 2, 3: 5, 4: 14, 5: 43, 6: 144, 7: 523, 8: 2048, 9: 8597}
CAS_WINNER_TRACES = {2: 2, 3: 3, 4: 4, 5: 5}
CASW_TRACES = {2: 6, 3: 66, 4: 1200, 5: 32880}
WCAS_TRACES = {2: 5, 3: 13, 4: 33, 5: 81, 6: 193, 7: 449, 8: 1025, 9: 2305}
#: Each family, its program and GenMC's counts.
CAS_FAMILIES: dict[str, tuple[Callable[..., Program], dict[int, int]]] = {
    "casrot": (casrot, CASROT_TRACES),
    "cas": (cas_winner, CAS_WINNER_TRACES),
    "casw": (casw, CASW_TRACES),
    "wcas": (wcas, WCAS_TRACES),
}


def classic() -> list[Benchmark]:
    return [
        Benchmark("filesystem(2)", filesystem(2), 1),
        Benchmark("filesystem(2, 2 blocks)", filesystem(2, inodes=4, blocks=2), 2),
        Benchmark("indexer(3)", indexer(3), 1),
        Benchmark("indexer(2, 8 slots)", indexer(2, size=8), 3),
        Benchmark("lastzero(3)", lastzero(3), 12),
        Benchmark("lastzero(4)", lastzero(4)),
        Benchmark("readers-writers(1, 2)", readers_writers(1, 2), 6),
        Benchmark("readers-writers(2, 1)", readers_writers(2, 1), 14),
        Benchmark("readers-writers(2, 2)", readers_writers(2, 2)),
    ]


#: Hook for benchmarks built elsewhere (the zswap default suites).  Each entry
#: returns more benchmarks; see ``zswap_suites`` in benchmarks/dpor.py.
EXTRA_BENCHMARKS: list[Callable[[], list[Benchmark]]] = []
