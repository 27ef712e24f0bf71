"""zswap in Linux 6.12 (mm/zswap.c): xarray, no refcount, ownership by removal.

Transcribed from the 6.12 source; every step label names the 6.12 function it
models.  The shape:

- entries live in ``zswap_trees[type]``, an array of xarrays (one per 64 MB of
  swap; the scenarios' offsets all fall in the first), allocated by
  ``zswap_swapon`` and ``kvfree``d by ``zswap_swapoff``; each xa op is one atomic
  step (xarray.py); there is no tree lock and no refcount;
- ownership by removal: whoever takes the entry out of the xarray (``xa_erase``,
  the old value of ``xa_store``, ``xa_cmpxchg`` to NULL) owns it and frees it
  with ``zswap_entry_free`` (LRU delete, zpool free, cache free);
- one global ``zswap_list_lru`` with its own spinlock (list_lru.py); an entry
  joins it last in ``zswap_store`` ("publish to writeback last");
- writeback (``shrink_memcg_cb``) gives a referenced entry a second chance
  (clear the bit, LRU_ROTATE), else rotates it, copies ``swpentry`` to the stack
  and drops the lru lock; ``zswap_writeback_entry`` takes a locked swap-cache
  folio with ``__read_swap_cache_async(skip_if_exists=true)`` and only then
  claims the entry with ``xa_cmpxchg(tree, offset, entry, NULL)``; if that
  fails (invalidated, maybe recycled) it deletes the folio from the swap cache;
- loads into the swap cache are exclusive: ``xa_erase``, decompress, free,
  ``folio_mark_dirty`` (the dirty swap-cache folio is now the only copy);
- invalidate is ``xa_erase`` + free; swapoff only ``WARN_ON_ONCE(!xa_empty)``
  and frees the array: an entry left behind is lost, which the leak check reports.

Because a fresh entry is referenced, one ``writeback`` (one shrinker pass,
``nr_to_walk = 1``) only rotates it; the suite's setups run one ``writeback``
first so that the concurrent one writes back.

- pools (zswap_pools.py): each entry holds a reference to its pool
  (``entry->pool = zswap_pool_current_get()``, put by ``zswap_entry_free``);
  ``pool_switch`` makes a new current pool and kills the old one, released
  with its last entry;
- with ``cpus=N`` (cpus.py, acomp_ctx.py) ``zswap_compress`` and
  ``zswap_decompress`` take ``raw_cpu_ptr(pool->acomp_ctx)`` and then its
  mutex, and ``zswap_cpu_comp_dead`` frees the context's request and buffer
  without it: a task migrated off a CPU that goes down uses freed memory
  (CVE-2025-21693, the suite's expected violations; fixed in 6.13, see
  zswap_613.py).  ``zswap_cpu_comp_prepare`` re-runs ``mutex_init``.

Simplifications: one swap type, one memcg, no objcg charging; without ``cpus=``
each thread is its own CPU and the contexts are not modelled (never contended,
never freed); the shrink work a rejected store queues is not a thread of its
own; ``zswap_total_pages`` reads the zpools live.  Loads see a swap-cache folio
unless ``swapcache_bypass=on`` (the non-swapcache branch of ``zswap_load``).
"""

from __future__ import annotations

from typing import ClassVar

from zmodel.runtime import Call, Choose, Heap, MemObject, Release
from zmodel.zswap import list_lru, xarray
from zmodel.zswap.acomp_ctx import AcompCtxs, CtxSync
from zmodel.zswap.designs.base import Design, Steps
from zmodel.zswap.designs.pool_paths import PoolPaths
from zmodel.zswap.designs.xa_612 import Xa612
from zmodel.zswap.scenario import OPTIONAL_OPS, OpKind, Scenario
from zmodel.zswap.swap import SwapLayer
from zmodel.zswap.zswap_pools import ZswapPools

ENOMEM, EEXIST = -12, -17

SUITE_612: tuple[tuple[str, str], ...] = (
    ("store-load", "store 1 A :: load 1"),
    ("alloc-failures", "alloc_failures=on :: store 1 A; writeback :: writeback | store 1 B"),
    ("load-vs-writeback", "store 1 A; writeback :: load 1 | writeback"),
    ("writeback-vs-free", "store 1 A; writeback :: writeback | free 1"),
    ("writeback-vs-restore", "store 1 A; writeback :: writeback | store 1 B"),
    ("writeback-vs-recycle", "store 1 A; writeback :: writeback | free 1; store 1 B"),
    (
        "two-slots-writeback",
        "store 1 A; store 2 B; writeback; writeback :: writeback | writeback | free 1",
    ),
    ("full-pool-store", "pool_pages=1 :: store 1 A :: store 2 B | free 1"),
    ("swapoff-vs-writeback", "store 1 A; writeback :: writeback | swapoff"),
    ("re-swapon", "store 1 A :: free 1 | swapoff; swapon; store 1 B"),
    # Two faults on one pte of a zram-like device: the pin of 13ddaf26be32.
    ("bypass-two-faults", "swapcache_bypass=on :: store 1 A :: load 1 | load 1; store 1 B"),
    # zswap_load keeps the entry for a private folio (xa_load): writeback must not free it.
    ("bypass-vs-writeback", "swapcache_bypass=on :: store 1 A; writeback :: load 1 | writeback"),
    # free_swap_slot invalidates before the slot cache defers the free (0827a1fb143f).
    (
        "slot-cache-writeback",
        "slot_cache=on :: store 1 A; store 2 B; writeback; writeback :: free 1 | writeback",
    ),
    # CPU hotplug while a task uses the dying CPU's compression context.
    ("hotplug-vs-store", "cpus=2 :: store 1 A | cpu_offline 0"),
    ("hotplug-vs-load", "cpus=2 :: store 1 A :: load 1 | cpu_offline 0"),
    ("hotplug-down-up", "cpus=2 :: store 1 A :: load 1 | cpu_offline 0; cpu_online 0"),
    # A pool switched at run time, released when its last entry goes.
    ("pool-switch-vs-load", "cpus=2 :: store 1 A :: pool_switch | load 1"),
    ("pool-switch-vs-writeback", "store 1 A; writeback :: pool_switch | writeback | free 1"),
    # zswap.enabled=N: a store must still drop the slot's old entry (check_old).
    ("zswap-off-vs-writeback", "store 1 A; writeback :: zswap_off; store 1 B | writeback"),
)


class Zswap612(Xa612, PoolPaths, Design):
    name = "zswap-6.12"
    kernel = "6.12"
    description = "6.12: xarray, no refcount, ownership by removal, writeback claims by xa_cmpxchg"
    frontswap = False
    ops: ClassVar[frozenset[OpKind]] = OPTIONAL_OPS  # every one the model has
    knobs: ClassVar[frozenset[str]] = frozenset({"swapcache_bypass", "slot_cache", "cpus"})
    #: How zswap_compress / zswap_decompress and the hotplug callbacks synchronise.
    ctx_sync: ClassVar[CtxSync] = CtxSync.NONE
    invalidate_in_free_swap_slot = True  # mm/swap_slots.c of 6.12 (0827a1fb143f, 6.9)
    suite = SUITE_612
    expected: ClassVar[dict[str, frozenset[str]]] = {
        # CVE-2025-21693: zswap_compress/zswap_decompress take raw_cpu_ptr's
        # context, the task is migrated, the CPU goes down, and
        # zswap_cpu_comp_dead frees req and buffer (no lock) under it; a CPU
        # that comes back re-runs mutex_init on the mutex the task still holds.
        # Fixed in 6.13 by 12dcb0ef5406 ("mm: zswap: properly synchronize
        # freeing resources during CPU hotunplug"): see zswap-6.13.
        "hotplug-vs-store": frozenset({"use-after-free"}),
        "hotplug-vs-load": frozenset({"use-after-free"}),
        "hotplug-down-up": frozenset({"use-after-free", "bug-on"}),
    }
    reach: ClassVar[dict[str, tuple[str, ...]]] = {
        "bypass-two-faults": (
            "do_swap_page (SWP_SYNCHRONOUS_IO): schedule_timeout_uninterruptible(1); refault",
        ),
        # The fault's pin makes writeback's __read_swap_cache_async skip the slot.
        "bypass-vs-writeback": (
            "zswap_writeback_entry (6.12): __read_swap_cache_async: swapcache_prepare",
        ),
        # The old pool is released once its last entry goes.
        "pool-switch-vs-writeback": (
            "zswap_writeback_entry (6.12): zswap_entry_free: __zswap_pool_empty:"
            " WARN_ON(pool == current); list_del_rcu",
        ),
    }

    def __init__(self, heap: Heap, swap: SwapLayer, scenario: Scenario) -> None:
        super().__init__(heap, swap, scenario)
        # zswap_swapon (6.12): kvcalloc the xarrays, publish them in zswap_trees[type].
        # The array holds the xarray structs themselves; the model keeps them as
        # objects of their own, freed together by kvfree.
        self.xa = xarray.create(heap, scenario.slots)
        self.trees = heap.alloc("zswap_trees_array", {"nr": 1, "xa0": self.xa})
        self.globals = heap.alloc(
            "zswap_globals",
            {"zswap_trees": self.trees, "pool_reached_full": False, "zswap_enabled": True},
            root=True,
        )
        self.lru = list_lru.create(heap)  # zswap_list_lru
        cpus = swap.cpus
        self.ctxs = AcompCtxs(heap, cpus, self.ctx_sync, self.may_fail) if cpus else None
        self.pools = ZswapPools(heap, self.ctxs, self.may_fail, self.lru)
        self.limit: int | None = scenario.option("pool_pages")

    def entry_free(self, entry: MemObject, who: str) -> Steps:
        """zswap_entry_free (6.12): zswap_lru_del, zpool_free, pool put, cache free."""
        yield Call(
            f"{who}: zswap_entry_free: zswap_lru_del", list_lru.delete, self.heap, self.lru, entry
        )
        pool = yield Call(
            f"{who}: zswap_entry_free: zpool_free; zswap_pool_put; zswap_entry_cache_free",
            self._free,
            entry,
        )
        yield from self.pools.release_if(pool, f"{who}: zswap_entry_free")

    # -- the paths the swap layer calls -------------------------------------------------
    def store(self, offset: int, page: MemObject) -> Steps:
        """zswap_store (6.12).  Folio locked and in the swap cache.

        Built from named steps: ``store_check_limits``, ``store_alloc_entry``,
        ``compress``, ``store_put_pool``, ``store_publish``, ``store_lru_add``,
        and ``check_old`` on every reject."""
        who = f"zswap_store ({self.version})"
        if self.toggles and not (yield Call(f"{who}: zswap_enabled?", self._enabled)):
            return (yield from self.check_old(offset, who))
        if (yield from self.store_check_limits(who)):
            return (yield from self.check_old(offset, who))
        entry = yield from self.store_alloc_entry(who)
        if entry is None:
            return (yield from self.check_old(offset, who))  # freepage: no pool
        if not (yield from self.compress(entry, page, offset, who)):
            yield from self.store_put_pool(entry, who)
            return (yield from self.check_old(offset, who))
        if not (yield from self.store_publish(offset, entry, who)):
            return (yield from self.check_old(offset, who))
        # Concurrent stores and invalidations are excluded by the folio lock,
        # writeback by the entry not being on the LRU yet.
        yield from self.store_lru_add(entry, who)
        return True

    def store_check_limits(self, who: str) -> Steps:
        """zswap_check_limits (6.12): True if the pool is full (the store is rejected)."""
        return (yield Call(f"{who}: zswap_check_limits", self._check_limits))

    def store_alloc_entry(self, who: str) -> Steps:
        """zswap_entry_cache_alloc; entry->pool = zswap_pool_current_get() (6.12), or None."""
        if self.may_fail:
            ok = yield Choose(f"{who}: zswap_entry_cache_alloc", (True, False))
            if not ok:
                return None
        return (
            yield Call(
                f"{who}: zswap_entry_cache_alloc; entry->pool = zswap_pool_current_get()",
                self._new_entry,
            )
        )

    def store_put_pool(self, entry: MemObject, who: str) -> Steps:
        """The put_pool label of zswap_store (6.12): zswap_pool_put, zswap_entry_cache_free."""
        pool = yield Call(
            f"{who}: put_pool: zswap_pool_put; freepage: zswap_entry_cache_free",
            self._put_entry_pool,
            entry,
        )
        yield from self.pools.release_if(pool, f"{who}: put_pool")

    def store_publish(self, offset: int, entry: MemObject, who: str) -> Steps:
        """xa_store (6.12), the old entry freed; False (store_failed, entry freed) if the
        xarray node allocation fails."""
        if self.may_fail:
            ok = yield Choose(f"{who}: xa_store (xarray node allocation)", (True, False))
            if not ok:
                pool = yield Call(
                    f"{who}: store_failed: zpool_free; zswap_pool_put; zswap_entry_cache_free",
                    self._free,
                    entry,
                )
                yield from self.pools.release_if(pool, f"{who}: store_failed")
                return False
        old = yield Call(f"{who}: xa_store", xarray.xa_store, self.heap, self.xa, offset, entry)
        if old is not None:
            # "an existing entry that became stale when the folio was redirtied"
            yield from self.entry_free(old, f"{who}: old")
        return True

    def store_lru_add(self, entry: MemObject, who: str) -> Steps:
        """zswap_lru_add (6.12): the entry joins the LRU last, published to writeback."""
        yield Call(
            f"{who}: zswap_lru_add (publish to writeback)", list_lru.add, self.heap, self.lru, entry
        )

    def check_old(self, offset: int, who: str) -> Steps:
        """The check_old label of zswap_store (6.12): drop a possibly stale entry."""
        entry = yield Call(
            f"{who}: check_old: xa_erase", xarray.xa_erase, self.heap, self.xa, offset
        )
        if entry is not None:
            yield from self.entry_free(entry, f"{who}: check_old")
        return False

    def load(self, offset: int, page: MemObject) -> Steps:
        """zswap_load (6.12): exclusive when reading into the swap cache."""
        who = f"zswap_load ({self.version})"
        entry, swapcache = yield from self.load_take(offset, page, who)
        if entry is None:
            return False
        yield from self.decompress(entry, page, f"{who}: zswap_decompress")
        if swapcache:
            yield from self.load_exclusive_free(entry, page, who)
        return True

    def load_take(self, offset: int, page: MemObject, who: str) -> Steps:
        """zswap_load (6.12): folio_test_swapcache, then xa_erase (exclusive) or xa_load;
        (entry or None, swapcache)."""
        return (
            yield Call(
                f"{who}: folio_test_swapcache; xa_erase (swapcache) or xa_load",
                self._take,
                offset,
                page,
            )
        )

    def load_exclusive_free(self, entry: MemObject, page: MemObject, who: str) -> Steps:
        """zswap_load (6.12) into the swap cache: zswap_entry_free, folio_mark_dirty."""
        yield from self.entry_free(entry, who)
        yield Call(f"{who}: folio_mark_dirty", self.swap.folio_mark_dirty, page)

    def invalidate_page(self, offset: int) -> Steps:
        """zswap_invalidate (6.12): xa_erase and free what it returns."""
        yield from self.invalidate_erase(offset, f"zswap_invalidate ({self.version})")

    def invalidate_erase(self, offset: int, who: str) -> Steps:
        """zswap_invalidate (6.12, 6.13 after its xa_empty): xa_erase, zswap_entry_free."""
        entry = yield Call(f"{who}: xa_erase", xarray.xa_erase, self.heap, self.xa, offset)
        if entry is not None:
            yield from self.entry_free(entry, who)

    def invalidate_area(self) -> Steps:
        """zswap_swapoff (6.12): WARN_ON_ONCE(!xa_empty), then kvfree the array.

        try_to_unuse has invalidated every entry; one left behind is not freed
        here, and the leak check reports it once nothing points at it.
        """
        who = f"zswap_swapoff ({self.version})"
        yield from self.swapoff_check_empty(who)
        yield from self.swapoff_free_trees(who)

    def swapoff_check_empty(self, who: str) -> Steps:
        """zswap_swapoff (6.12): WARN_ON_ONCE(!xa_empty(trees + i)), nothing freed."""
        yield Call(
            f"{who}: WARN_ON_ONCE(!xa_empty(trees + i))", xarray.xa_empty, self.heap, self.xa
        )

    def swapoff_free_trees(self, who: str) -> Steps:
        """zswap_swapoff (6.12): kvfree(trees); zswap_trees[type] = NULL."""
        yield Call(f"{who}: kvfree(trees); zswap_trees[type] = NULL", self._free_trees)

    def swapon(self) -> Steps:
        """zswap_swapon (6.12) at swapon: kvcalloc the xarrays, publish them."""
        yield Call(
            f"zswap_swapon ({self.version}): kvcalloc trees; zswap_trees[type] = trees",
            self._init_type,
        )

    def _init_type(self) -> None:
        self.xa = xarray.create(self.heap, self.scenario.slots)
        self.trees = self.heap.alloc("zswap_trees_array", {"nr": 1, "xa0": self.xa})
        self.heap.set(self.globals, "zswap_trees", self.trees)

    def writeback(self) -> Steps:
        """One shrink_memcg (6.12) pass: list_lru_walk_one(nr_to_walk = 1) -> shrink_memcg_cb."""
        who = f"shrink_memcg_cb ({self.version})"
        picked = yield Call(
            f"list_lru_walk_one ({self.version}): lru lock; {who}: referenced? LRU_ROTATE / "
            "list_move_tail, swpentry = entry->swpentry; unlock",
            self._walk_head,
        )
        if picked is None:
            return  # empty list, or second chance given (LRU_ROTATE)
        entry, offset = picked
        yield from self.writeback_entry(entry, offset)
        # spin_lock(lock); return LRU_REMOVED_RETRY / LRU_RETRY: the walk is over (nr_to_walk 0).

    def writeback_entry(self, entry: MemObject, offset: int) -> Steps:
        """zswap_writeback_entry (6.12): 0, -ENOMEM or -EEXIST.

        Built from named steps, so a change reorders or replaces one of them:
        ``writeback_take_folio``, ``writeback_claim``, ``writeback_drop_folio``,
        ``writeback_write``."""
        who = f"zswap_writeback_entry ({self.version})"
        folio = yield from self.writeback_take_folio(offset, who)
        if not isinstance(folio, MemObject):
            return folio  # -ENOMEM (no folio) or -EEXIST (raced with a swapin)
        # The locked folio secures the slot against swapping and swapoff, so the
        # tree may be dereferenced; the entry only once the cmpxchg claims it.
        if not (yield from self.writeback_claim(entry, offset, who)):
            yield from self.writeback_drop_folio(offset, folio, who)
            return ENOMEM
        yield from self.writeback_write(entry, offset, folio, who)
        return 0

    def writeback_take_folio(self, offset: int, who: str) -> Steps:
        """__read_swap_cache_async(skip_if_exists=true): a new locked swap-cache
        folio, or -ENOMEM / -EEXIST (one already exists: folio_put)."""
        folio, allocated = yield from self.swap.read_swap_cache_async(
            offset, who, skip_if_exists=True
        )
        if folio is None:
            return ENOMEM
        return folio if allocated else EEXIST

    def writeback_claim(self, entry: MemObject, offset: int, who: str) -> Steps:
        """xa_cmpxchg(tree, offset, entry, NULL): True if this writeback owns the entry."""
        claimed = yield Call(
            f"{who}: swap_zswap_tree; xa_cmpxchg(tree, offset, entry, NULL)",
            self._claim,
            offset,
            entry,
        )
        return claimed is entry

    def writeback_drop_folio(self, offset: int, folio: MemObject, who: str) -> Steps:
        """The entry was invalidated (maybe recycled): delete_from_swap_cache, folio_unlock."""
        yield from self.swap.delete_from_swap_cache(offset, folio)
        yield Release(folio, "PG_locked", f"{who}: folio_unlock")

    def writeback_write(self, entry: MemObject, offset: int, folio: MemObject, who: str) -> Steps:
        """Decompress into the folio, free the entry, __swap_writepage."""
        yield from self.decompress(entry, folio, f"{who}: zswap_decompress; folio_mark_uptodate")
        yield from self.entry_free(entry, who)
        yield from self.swap.swap_writepage(offset, folio)
