"""An XArray as zswap 6.12 uses it: one index per swap offset, each op atomic.

Linux 6.12 keeps zswap entries in ``struct xarray`` trees (mm/zswap.c,
``swap_zswap_tree``).  Every operation zswap calls (``xa_load``, ``xa_store``,
``xa_erase``, ``xa_cmpxchg``, ``xa_empty``) runs under the array's internal
``xa_lock`` (or under RCU for ``xa_load``), so for interleavings each is one
atomic step.  The radix tree itself is not modelled: no zswap race depends on its
node layout, only on the value at an index.

Representation: one heap field per index (``i<offset>``), so two operations on
different offsets have disjoint footprints, as they do in the kernel once the
node is found.  Every index the scenario uses exists from the start, holding
None; an erase writes None back, so the set of field names never changes and
``xa_empty`` can read them all.

Simplifications: a store never needs a new node (``xa_store`` may fail with
-ENOMEM only where the caller asks for that outcome); ``xa_cmpxchg`` compares
object identity, and the heap never recycles an identity, so the benign ABA case
(a freed entry's memory reused for a new entry at the same offset, which the
kernel's pointer compare accepts) is not explored: the model's cmpxchg fails there.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from zmodel.runtime import Heap, MemObject


def _key(index: int) -> str:
    return f"i{index}"


def create(heap: Heap, indices: Iterable[int], kind: str = "xarray") -> MemObject:
    """``xa_init``: an empty array over ``indices``."""
    return heap.alloc(kind, {_key(i): None for i in indices})


def xa_load(heap: Heap, xa: MemObject, index: int) -> Any:
    return heap.get(xa, _key(index))


def xa_store(heap: Heap, xa: MemObject, index: int, entry: Any) -> Any:
    """Store ``entry`` at ``index``; returns the entry it replaced (or None)."""
    old = heap.get(xa, _key(index))
    heap.set(xa, _key(index), entry)
    return old


def xa_erase(heap: Heap, xa: MemObject, index: int) -> Any:
    """Remove the entry at ``index``; returns it (or None)."""
    return xa_store(heap, xa, index, None)


def xa_cmpxchg(heap: Heap, xa: MemObject, index: int, old: Any, new: Any) -> Any:
    """If ``index`` holds ``old``, store ``new``.  Returns what the index held."""
    cur = heap.get(xa, _key(index))
    if cur is old:
        heap.set(xa, _key(index), new)
    return cur


def xa_empty(heap: Heap, xa: MemObject) -> bool:
    # The field names are fixed at creation (see the module docstring), so
    # listing them reads no state; each value is read through the heap.
    return all(heap.get(xa, name) is None for name in sorted(xa.fields))


def entries_peek(heap: Heap, xa: MemObject) -> dict[int, MemObject]:
    """The checker's view (no footprint): index -> entry, for non-empty indices."""
    return {
        int(name[1:]): value
        for name in sorted(xa.fields)
        if (value := heap.peek(xa, name)) is not None
    }
