"""A minimal zpool for the 6.x designs (mm/zpool.c in front of zsmalloc).

From 6.5 the allocator behind zswap no longer reclaims (the LRU moved into
zswap), so for the 6.x races the pool only has to say: an allocation may fail,
a handle holds the compressed data once it is written, a freed handle must not
be touched again, and how many page frames the pool uses (the limit check).

Simplifications: one handle occupies one page frame (zsmalloc packs several
objects per zspage; packing matters for reclaim, which 6.x zswap does not ask
the allocator for); sizes are abstract; ``zpool_malloc`` is one atomic step
(zsmalloc's class and pool locks are taken and dropped inside it), and so is
``zpool_free``.  ``zpool_map_handle`` + ``memcpy`` + unmap is one step.
"""

from __future__ import annotations

from typing import Any

from zmodel.runtime import Call, Choose, Heap, MemObject, Steps


def create(heap: Heap) -> MemObject:
    """``zpool_create_pool``: an empty pool."""
    return heap.alloc("zpool", {"pages": 0})


def zpool_malloc(heap: Heap, zpool: MemObject, may_fail: bool, who: str) -> Steps:
    """``zpool_malloc``: a new handle (data unwritten), or None for -ENOMEM."""
    if may_fail:
        ok = yield Choose(f"{who}: zpool_malloc", (True, False))
        if not ok:
            return None
    handle = yield Call(f"{who}: zpool_malloc", _malloc, heap, zpool)
    return handle


def _malloc(heap: Heap, zpool: MemObject) -> MemObject:
    heap.set(zpool, "pages", heap.get(zpool, "pages") + 1)
    return heap.alloc("zpool_handle")


def write(heap: Heap, handle: MemObject, data: Any) -> None:
    """``zpool_map_handle(ZPOOL_MM_WO)`` + ``memcpy`` + unmap."""
    heap.set(handle, "data", data)


def read(heap: Heap, handle: MemObject) -> Any:
    """``zpool_map_handle(ZPOOL_MM_RO)`` + copy out (what decompression reads)."""
    return heap.get(handle, "data")


def free(heap: Heap, zpool: MemObject, handle: MemObject) -> None:
    """``zpool_free``: one step."""
    heap.free(handle, "zpool_free")
    heap.set(zpool, "pages", heap.get(zpool, "pages") - 1)


def total_pages(heap: Heap, zpool: MemObject) -> int:
    """``zpool_get_total_pages`` (6.12) / ``zpool_get_total_size`` (6.8) in pages."""
    pages: int = heap.get(zpool, "pages")
    return pages
