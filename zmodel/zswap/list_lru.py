"""The list_lru zswap keeps its writeback order in (Linux 6.5 onwards, mm/list_lru.c).

From 6.5 the LRU lives in zswap, one entry per compressed page, on a
``struct list_lru`` with its own spinlock (``nlru->lock``).  ``list_lru_add``
appends at the tail, ``list_lru_del`` unlinks if linked (``list_empty`` check),
and ``list_lru_walk_one`` walks from the head (the oldest entry) calling an
isolate callback with the lock held.

Each function here is one atomic step: it is the whole critical section of the
list_lru spinlock.  That is exact for ``list_lru_add``/``del``/``putback``, which
take and drop the lock inside.  The walk callback (zswap's ``shrink_memcg_cb``)
is entered with the lock held and drops it before doing anything else; a design
models the part it runs under the lock as one step built from these functions.
The lock is never held across another lock acquisition in zswap except nested
inside ``tree->lock`` (6.8 lock order: tree.lock -> lru lock), which an atomic
step respects, so no deadlock is hidden.

The list is a tuple of entries, head first.  It is a weak reference for leak
detection, like zbud's lists: an entry that is only on the LRU (no tree or
xarray points at it) is lost memory.

Simplifications: one node and one memcg (a single ``list_lru_one``); the
per-list item counts and shrinker bits are not modelled.
"""

from __future__ import annotations

from zmodel.runtime import Heap, MemObject


def create(heap: Heap) -> MemObject:
    """``list_lru_init``: an empty list (its spinlock is implicit in atomic steps)."""
    return heap.alloc("list_lru", {"items": ()}, weak=("items",))


def items(heap: Heap, lru: MemObject) -> tuple[MemObject, ...]:
    found: tuple[MemObject, ...] = heap.get(lru, "items")
    return found


def add(heap: Heap, lru: MemObject, entry: MemObject) -> bool:
    """``list_lru_add``: append at the tail if not already linked."""
    current = items(heap, lru)
    if entry in current:
        return False
    heap.set(lru, "items", (*current, entry))
    return True


def delete(heap: Heap, lru: MemObject, entry: MemObject) -> bool:
    """``list_lru_del``: unlink if linked (``list_del_init``); False if it was not."""
    current = items(heap, lru)
    if entry not in current:
        return False
    heap.set(lru, "items", tuple(e for e in current if e is not entry))
    return True


def head(heap: Heap, lru: MemObject) -> MemObject | None:
    """The first item ``list_lru_walk_one`` hands its callback, or None."""
    current = items(heap, lru)
    return current[0] if current else None


def move_tail(heap: Heap, lru: MemObject, entry: MemObject) -> None:
    """``list_move_tail`` (a rotation; LRU_ROTATE does the same)."""
    delete(heap, lru, entry)
    add(heap, lru, entry)


def putback(heap: Heap, lru: MemObject, entry: MemObject) -> None:
    """``list_lru_putback`` (6.8): re-add at the tail only if not linked."""
    add(heap, lru, entry)


def items_peek(heap: Heap, lru: MemObject) -> tuple[MemObject, ...]:
    """The checker's view (no footprint)."""
    found: tuple[MemObject, ...] = heap.peek(lru, "items", ())
    return found
