"""The state of zswap-6.12 and its single steps (a mixin of ``Zswap612``, and so of 6.13).

The xarray in ``zswap_trees[type]``, the global LRU, the pool limit: each
method is part of one atomic step (a ``Call`` of a path in zswap_612.py) or a
checker's view.  The paths, built from named steps a change overrides, are in
zswap_612.py.
"""

from __future__ import annotations

from typing import Any

from zmodel.runtime import Heap, MemObject, Violation
from zmodel.runtime.faults import USE_AFTER_FREE
from zmodel.zswap import list_lru, xarray, zpool
from zmodel.zswap.swap import SwapLayer
from zmodel.zswap.zswap_pools import ZswapPools


class Xa612:
    """zswap-6.12's xarray, LRU and limit, transition by transition."""

    heap: Heap
    swap: SwapLayer
    xa: MemObject
    trees: MemObject
    globals: MemObject
    lru: MemObject
    pools: ZswapPools
    limit: int | None

    # -- single steps ----------------------------------------------------------------------
    def _check_limits(self) -> bool:
        """zswap_check_limits (6.12): cur >= max sets reached_full; below 90% clears it."""
        if self.limit is None:
            return False
        cur = self.pools.total_pages()
        if cur >= self.limit:
            self.heap.set(self.globals, "pool_reached_full", True)
        elif self.heap.get(self.globals, "pool_reached_full") and cur <= self.limit * 90 // 100:
            self.heap.set(self.globals, "pool_reached_full", False)
        reached: bool = self.heap.get(self.globals, "pool_reached_full")
        return reached

    def _take(self, offset: int, page: MemObject) -> tuple[MemObject | None, bool]:
        swapcache = self.swap.folio_test_swapcache(offset, page)
        if swapcache:
            return xarray.xa_erase(self.heap, self.xa, offset), True
        return xarray.xa_load(self.heap, self.xa, offset), False

    def _decompress(self, entry: MemObject, page: MemObject) -> None:
        self.heap.set(page, "data", zpool.read(self.heap, self.heap.get(entry, "handle")))
        self.heap.set(page, "uptodate", True)

    def _walk_head(self) -> tuple[MemObject, int] | None:
        entry = list_lru.head(self.heap, self.lru)
        if entry is None:
            return None
        if self.heap.get(entry, "referenced"):
            self.heap.set(entry, "referenced", False)
            list_lru.move_tail(self.heap, self.lru, entry)  # LRU_ROTATE
            return None
        list_lru.move_tail(self.heap, self.lru, entry)  # rotate before dropping the lock
        offset: int = self.heap.get(entry, "offset")
        return entry, offset

    def _claim(self, offset: int, entry: MemObject) -> Any:
        trees = self.heap.get(self.globals, "zswap_trees")
        if trees is None:
            raise Violation(
                USE_AFTER_FREE, "swap_zswap_tree: zswap_trees[type] is NULL (swapoff ran)"
            )
        return xarray.xa_cmpxchg(self.heap, self.xa, offset, entry, None)

    def _free_trees(self) -> None:
        self.heap.free(self.xa, "kvfree(trees)")
        self.heap.free(self.trees, "kvfree(trees)")
        self.heap.set(self.globals, "zswap_trees", None)

    # -- the checker's views ----------------------------------------------------------------
    def _entries(self) -> dict[int, MemObject]:
        return {} if self.xa.freed else xarray.entries_peek(self.heap, self.xa)

    def holds(self, offset: int) -> Any:
        entry = self._entries().get(offset)
        if entry is None:
            return None
        handle = entry.fields.get("handle")
        return None if handle is None or handle.freed else handle.fields.get("data")

    def offsets(self) -> set[int]:
        return set(self._entries())

    def roots(self) -> list[MemObject]:
        return [self.globals, self.pools.head, *self.pools.pools]
