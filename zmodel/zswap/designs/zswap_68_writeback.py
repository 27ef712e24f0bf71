"""The reclaim paths of zswap-6.8 (mm/zswap.c of 6.8.1), a mixin of ``Zswap68``.

``shrink_memcg`` takes the current pool (``zswap_pool_current_get``) and walks
one item of *its* ``list_lru`` (each 6.8 pool owns one; entries of an older pool
are never written back after a ``pool_switch``, which is 6.8's behaviour);
``shrink_memcg_cb`` isolates the head under the lru lock, reads ``swpoffset``
and ``zswap_trees[type]``, drops the lru lock, revalidates the entry under
``tree->lock`` and pins it; ``zswap_writeback_entry`` takes a swap-cache folio
and re-checks the tree before decompressing.  ``shrink_worker`` is the work a
store over the limit queues, holding a reference to the *oldest* pool
(``zswap_pool_last_get``) until it ends.

Simplifications: ``shrink_worker`` runs in the rejected store's thread right
after ``queue_work`` (a kworker would run it later, concurrently with what the
store's thread does next) and makes one ``shrink_memcg`` pass instead of
looping until ``zswap_can_accept()`` (a scenario's further ``writeback``
operations are those passes); there is one memcg, so ``mem_cgroup_iter`` and
``pool->next_shrink`` are left out.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from zmodel.runtime import Acquire, Call, MemObject, Release, Violation
from zmodel.runtime.faults import BUG_ON
from zmodel.zswap import list_lru
from zmodel.zswap.designs.base import Steps

ENOMEM, EEXIST = -12, -17


class Writeback68:
    """shrink_memcg, shrink_memcg_cb, zswap_writeback_entry and shrink_worker (6.8)."""

    if TYPE_CHECKING:  # what the mixin uses of Zswap68 (declared, never defined here)
        from zmodel.runtime import Heap
        from zmodel.zswap.acomp_ctx import AcompCtxs
        from zmodel.zswap.swap import SwapLayer
        from zmodel.zswap.zswap_pools import ZswapPools

        heap: Heap
        swap: SwapLayer
        pools: ZswapPools
        ctxs: AcompCtxs | None
        tree: MemObject
        trees: MemObject

        def entry_put(self, entry: MemObject, who: str) -> Steps: ...
        def release(self, freed: tuple[MemObject | None, ...], who: str) -> Steps: ...
        def decompress(self, entry: MemObject, page: MemObject, label: str) -> Steps: ...
        def _search(self, offset: int) -> MemObject | None: ...
        def _unlink(self, entry: MemObject) -> bool: ...
        def _get(self, entry: MemObject) -> None: ...

    def writeback(self) -> Steps:
        """One shrink_memcg (6.8) pass: current pool, list_lru_walk_one(nr_to_walk = 1)."""
        who = "shrink_memcg (6.8)"
        pool = yield Call(f"{who}: zswap_pool_current_get", self.pools.current_get)
        if pool is None:
            return  # -EINVAL
        yield from self.shrink_memcg_cb(pool)
        yield from self.pools.put(pool, who)

    def shrink_memcg_cb(self, pool: MemObject) -> Steps:
        """list_lru_walk_one over ``pool->list_lru`` (one item) -> shrink_memcg_cb (6.8)."""
        who = "shrink_memcg_cb (6.8)"
        picked = yield Call(
            f"list_lru_walk_one (6.8): lru lock; {who}: swpoffset, tree = zswap_trees[type], "
            "list_lru_isolate; unlock",
            self._isolate_head,
            pool,
        )
        if picked is None:
            return
        entry, offset, tree = picked
        # Nothing pins `tree` here: swapoff may have freed it (fixed in 6.9).
        yield Acquire(tree, "lock", f"{who}: spin_lock(&tree->lock)")
        current = yield Call(f"{who}: zswap_rb_search (invalidate() race?)", self._search, offset)
        if current is not entry:
            yield Release(tree, "lock", f"{who}: spin_unlock (entry gone: LRU_REMOVED_RETRY)")
            return
        yield Call(f"{who}: zswap_entry_get", self._get, entry)
        yield Release(tree, "lock", f"{who}: spin_unlock(&tree->lock)")
        result = yield from self.writeback_entry(entry, offset)
        yield Acquire(tree, "lock", f"{who}: spin_lock(&tree->lock)")
        freed: tuple[MemObject | None, ...] = ()
        if result:
            yield Call(f"{who}: zswap_lru_putback (LRU_RETRY)", self._putback, entry)
        else:
            erased = yield Call(
                f"{who}: zswap_invalidate_entry: zswap_rb_erase", self._unlink, entry
            )
            if erased:
                freed += ((yield from self.entry_put(entry, f"{who}: zswap_invalidate_entry")),)
        freed += ((yield from self.entry_put(entry, f"{who}: drop local reference")),)
        yield Release(tree, "lock", f"{who}: spin_unlock(&tree->lock)")
        yield from self.release(freed, who)

    def writeback_entry(self, entry: MemObject, offset: int) -> Steps:
        """zswap_writeback_entry (6.8): 0, -ENOMEM or -EEXIST."""
        who = "zswap_writeback_entry (6.8)"
        folio, allocated = yield from self.swap.read_swap_cache_async(
            offset, who, skip_if_exists=True
        )
        if folio is None:
            return ENOMEM
        if not allocated:
            return EEXIST  # raced with swapin: folio_put
        yield Acquire(self.tree, "lock", f"{who}: spin_lock(&tree->lock)")
        current = yield Call(
            f"{who}: zswap_rb_search == entry? (recycled behind our back?)", self._search, offset
        )
        if current is not entry:
            yield Release(self.tree, "lock", f"{who}: spin_unlock(&tree->lock)")
            yield from self.swap.delete_from_swap_cache(offset, folio)
            yield Release(folio, "PG_locked", f"{who}: folio_unlock")
            return ENOMEM
        yield Release(self.tree, "lock", f"{who}: spin_unlock(&tree->lock)")
        yield from self.decompress(entry, folio, f"{who}: __zswap_load; folio_mark_uptodate")
        yield from self.swap.swap_writepage(offset, folio)
        return 0

    def queue_shrink_work(self, who: str) -> Steps:
        """The ``shrink:`` label of zswap_store (6.8), then the work it queued."""
        pool = yield Call(
            f"{who}: shrink: zswap_pool_last_get; queue_work(shrink_wq, &pool->shrink_work)",
            self._queue_shrink,
        )
        if pool is False:  # already queued: zswap_pool_put
            return
        if pool is not None:
            yield from self.shrink_worker(pool)

    def shrink_worker(self, pool: MemObject) -> Steps:
        """shrink_worker (6.8) for ``pool``'s shrink_work: a shrink_memcg pass, zswap_pool_put."""
        who = "shrink_worker (6.8)"
        yield Call(
            f"{who}: work starts (PENDING cleared)", self.heap.set, pool, "shrink_work", False
        )
        yield from self.writeback()
        yield from self.pools.put(pool, who)

    # -- single steps ----------------------------------------------------------------
    def _queue_shrink(self) -> MemObject | bool | None:
        """The pool whose shrink_work was queued, None (no pool), False (already queued:
        the reference is dropped again, which cannot reach zero: the work holds one)."""
        pool = self.pools.last_get()
        if pool is None:
            return None
        if self.heap.get(pool, "shrink_work"):
            self.pools.drop(pool)
            return False
        self.heap.set(pool, "shrink_work", True)
        return pool

    def _putback(self, entry: MemObject) -> None:
        """zswap_lru_putback(&entry->pool->list_lru, entry)."""
        list_lru.putback(self.heap, self._lru_of(entry), entry)

    def _lru_of(self, entry: MemObject) -> MemObject:
        lru: MemObject = self.heap.get(self.heap.get(entry, "pool"), "list_lru")
        return lru

    def _isolate_head(self, pool: MemObject) -> tuple[MemObject, int, MemObject] | None:
        lru = self.heap.get(pool, "list_lru")
        entry = list_lru.head(self.heap, lru)
        if entry is None:
            return None
        offset: int = self.heap.get(entry, "offset")
        tree: MemObject | None = self.heap.get(self.trees, "tree")
        if tree is None:
            raise Violation(BUG_ON, "zswap_trees[type] is NULL in shrink_memcg_cb")
        list_lru.delete(self.heap, lru, entry)  # list_lru_isolate
        return entry, offset, tree
