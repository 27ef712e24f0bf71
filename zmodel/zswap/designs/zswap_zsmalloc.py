"""Q5: zswap's 3.11 paths on zsmalloc with its own reclaim (6.2-6.4), and an unpinned variant.

From 6.2 to 6.4 zsmalloc reclaimed for zswap as zbud always had: the allocator
picks the LRU-tail zspage and calls zswap's evict callback,
``zswap_writeback_entry``, on every object in it (9997bc017549).  This design
runs zswap's 3.11 paths (store S1-S8, load, invalidate, the writeback callback
reading the swap entry from the object's header) on that allocator, so that
zbud and zsmalloc can be compared with everything else equal:
- the writeback fail path frees the entry when its put reaches zero, as zswap
  had it from 3.13 on (``zswap-3.11-leakfix``): the 2013 leak is not what Q5 is
  about;
- a full pool (``zswap_is_full``: page frames > ``pool_pages``) reclaims
  synchronously from the store path, as 3.11 does (6.x queued a worker);
- compressed pages take 2/3 of a frame: 3 objects per 2-frame zspage, the middle
  one spanning both frames, so one reclaim must write back up to 3 entries to
  free 2 frames, where zbud writes back at most 2 to free 1.

``zswap-zsmalloc-unpinned`` is the variant Dan's objection anticipates ("ensuring
a pageframe can be freed will require you to somehow 'lock' all the zpages and
remove them atomically", 3 Jan 2013): reclaim evicts the zspage's objects one by
one without pinning it (no ``under_reclaim``, no ``remove_zspage``).
"""

from __future__ import annotations

from fractions import Fraction
from typing import Any, ClassVar

from zmodel.runtime import Call, Heap, MemObject, Violation
from zmodel.runtime.faults import BUG_ON
from zmodel.zswap.designs.base import Design, Steps
from zmodel.zswap.designs.zswap_311 import Zswap311LeakFix
from zmodel.zswap.scenario import OpKind, Scenario
from zmodel.zswap.swap import SwapLayer
from zmodel.zswap.zsmalloc import WRITEBACK_6_4, ZsPool
from zmodel.zswap.zsmalloc_reclaim import zs_reclaim_page

WHO = "zswap_frontswap_store (3.11 on zsmalloc)"
WB_WHO = "zswap_writeback_entry (3.11 paths on zsmalloc)"
LOAD_WHO = "zswap_frontswap_load (3.11 paths on zsmalloc)"
ENOMEM, EEXIST, EAGAIN = -12, -17, -11

SUITE_ZSMALLOC: tuple[tuple[str, str], ...] = (
    ("store-load", "store 1 A :: load 1"),
    ("reclaim-whole-zspage", "store 1 A; store 2 B; store 3 C :: writeback"),
    ("writeback-vs-free", "store 1 A :: writeback | free 1"),
    ("writeback-vs-free-other", "store 1 A; store 2 B :: writeback | free 2"),
    ("writeback-vs-store", "store 1 A :: writeback | store 2 B"),
    ("load-vs-writeback", "store 1 A :: load 1 | writeback"),
    ("full-pool-store", "pool_pages=0 :: store 1 A :: store 2 B | free 1"),
)


class ZswapZsmalloc(Zswap311LeakFix):
    name = "zswap-zsmalloc"
    kernel = "3.11 paths, 6.2-6.4 zsmalloc"
    description = "Q5: zswap's 3.11 paths on zsmalloc reclaiming whole zspages (6.2-6.4)"
    suite = SUITE_ZSMALLOC
    # No swapon: zswap_frontswap_init would have to build the zsmalloc pool; Q5
    # is about reclaim, and a hybrid of 3.11 and 6.2-6.4 has no one swapon to model.
    ops: ClassVar[frozenset[OpKind]] = frozenset()
    expected: ClassVar[dict[str, frozenset[str]]] = {
        # zs_malloc puts the zspage at the LRU head before the store writes
        # zhdr->swpentry; with one zspage head is tail, and reclaim's
        # find_alloced_obj hands the evict callback an object whose header is
        # garbage (3.11's zbud has the same window, see zswap-3.11).  The window
        # was in the real 6.2-6.4 kernels (the LRU add in zs_map_object(WO), in
        # zs_malloc from d461aac924b9, 6.4-rc3) and was never reported: found by
        # the model, not in kernel history; it went away in 6.5 with zsmalloc's
        # LRU (b3067742ae36) and the zswap_header (0bb488498c98).
        "writeback-vs-store": frozenset({"uninitialised-read"}),
    }
    zpage_size: ClassVar[Fraction] = Fraction(2, 3)
    #: Whether reclaim pins the zspage (under_reclaim + remove_zspage), as 6.2-6.4 does.
    pin: ClassVar[bool] = True

    def __init__(self, heap: Heap, swap: SwapLayer, scenario: Scenario) -> None:
        # Zswap311.__init__ would build a zbud pool: set up the same world on zsmalloc.
        Design.__init__(self, heap, swap, scenario)
        self.zpool = ZsPool(heap, (self.zpage_size,), version=WRITEBACK_6_4)
        self.zclass = self.zpool.size_class(self.zpage_size)
        self.pool = self.zpool.pool
        self.tree = heap.alloc(
            "zswap_tree", {"rb_node": None, "lock": None, "pool": self.pool}, root=True
        )
        self.stats = heap.alloc("zswap_stats", {"pool_pages": 0, "stored_pages": 0}, root=True)
        self.limit: int | None = scenario.option("pool_pages")
        self.retries: int = scenario.option("reclaim_retries")

    def reclaim(self) -> Steps:
        """zpool_shrink -> zs_reclaim_page(pool, 8) with zswap_writeback_entry as evict."""
        return zs_reclaim_page(self.zpool, self.retries, self.evict, pin=self.pin)

    # -- paths: 3.11's skeletons (zswap_311.py) over these steps ----------------------
    def store_reclaim_if_full(self) -> Steps:
        """S1 of zswap_frontswap_store (3.11 on zsmalloc): zswap_is_full, zpool_shrink."""
        full = yield Call(f"{WHO}: zswap_is_full", self._is_full)
        if full:
            ret = yield from self.reclaim()
            if ret != 0:
                return False
        return True

    def store_alloc_entry(self) -> Steps:
        """S2 of zswap_frontswap_store (3.11 on zsmalloc): zswap_entry_cache_alloc (or None)."""
        if self.may_fail:
            ok = yield from self.swap._alloc(f"{WHO}: zswap_entry_cache_alloc")
            if not ok:
                return None
        return (yield Call("zswap_entry_cache_alloc (refcount = 1)", self._new_entry))

    def store_compress(self, entry: MemObject, offset: int, page: MemObject) -> Steps:
        """S3-S5 of zswap_frontswap_store (3.11 on zsmalloc): compress, zs_malloc, the
        zswap_header and data written, the entry populated; the handle, or None."""
        data = yield Call(f"{WHO}: zswap_comp_op: compress the page", self.heap.get, page, "data")
        handle = yield from self.zpool.zs_malloc(self.zclass, self.may_fail)
        if handle is None:
            yield Call(f"{WHO}: zswap_entry_cache_free", self.heap.free, entry)
            return None
        # zhdr->swpentry and the data: the header is at the object's start.
        yield from self.zpool.zs_write(handle, (offset, data), WHO)
        yield Call(f"{WHO}: populate entry", self._populate, entry, offset, handle)
        return handle

    def store_insert(self, entry: MemObject) -> Steps:
        """S6-S7 of zswap_frontswap_store (3.11 on zsmalloc): zswap_rb_insert under
        tree->lock, each duplicate dropped (``store_drop_dup``)."""
        yield from self.tree_lock(f"{WHO}: spin_lock(&tree->lock)")
        while True:
            dup = yield Call(f"{WHO}: zswap_rb_insert", self._insert, entry)
            if dup is None:
                break
            yield from self.store_drop_dup(dup)
        yield from self.tree_unlock(f"{WHO}: spin_unlock(&tree->lock)")

    def store_drop_dup(self, dup: MemObject) -> Steps:
        """zswap_frontswap_store (3.11 on zsmalloc) on -EEXIST: rb_erase, put, free at 0."""
        refcount = yield Call(f"{WHO}: rb_erase(dup); put", self._erase_put, dup)
        if refcount == 0:
            yield from self.free_entry(dup)  # zs_free nests pool->lock in tree->lock

    def store_account(self) -> Steps:
        """S8 of zswap_frontswap_store (3.11 on zsmalloc): stored_pages++, pool_pages."""
        yield Call(f"{WHO}: stored_pages++, pool_pages", self._account, 1)

    def evict(self, handle: Any) -> Steps:
        """zpool_ops.evict = zswap_writeback_entry, handed a zsmalloc handle."""
        return self.writeback_entry(handle)

    def writeback_find_get(self, handle: Any) -> Steps:
        """W1-W2 of zswap_writeback_entry (3.11 on zsmalloc): zpool_map_handle(RO),
        zhdr->swpentry, search and get under tree->lock; (entry, offset), or None."""
        who = WB_WHO
        offset = yield Call(f"{who}: zpool_map_handle(RO); zhdr->swpentry", self._header, handle)
        yield from self.tree_lock(f"{who}: spin_lock(&tree->lock)")
        entry = yield Call(f"{who}: zswap_rb_search", self._search, offset)
        if entry is None:
            yield from self.tree_unlock(f"{who}: spin_unlock (invalidated)")
            return None
        yield Call(f"{who}: zswap_entry_get", self._get, entry)
        yield from self.tree_unlock(f"{who}: spin_unlock(&tree->lock)")
        return entry, offset

    def writeback_write(self, entry: MemObject, offset: int, page: MemObject) -> Steps:
        """W4 of zswap_writeback_entry (3.11 on zsmalloc): zpool_map_handle, decompress,
        __swap_writepage."""
        yield Call(f"{WB_WHO}: zpool_map_handle; decompress", self._decompress, entry, page)
        yield from self.swap.swap_writepage(offset, page)

    def writeback_done(self, entry: MemObject, offset: int) -> Steps:
        """W5 of zswap_writeback_entry (3.11 on zsmalloc): put, put, rb_erase, free at <= 0."""
        yield from self.tree_lock(f"{WB_WHO}: spin_lock(&tree->lock)")
        refcount = yield Call(f"{WB_WHO}: put; put; rb_erase", self._wb_finish, entry)
        yield from self.tree_unlock(f"{WB_WHO}: spin_unlock(&tree->lock)")
        if refcount <= 0:
            yield from self.free_entry(entry)
            return 0
        return EAGAIN  # "load in progress, load will free"

    def load_find_get(self, offset: int) -> Steps:
        """L1-L2 of zswap_frontswap_load (3.11 on zsmalloc): search, get under tree->lock."""
        yield from self.tree_lock(f"{LOAD_WHO}: spin_lock(&tree->lock)")
        entry = yield Call(f"{LOAD_WHO}: zswap_rb_search", self._search, offset)
        if entry is None:
            yield from self.tree_unlock(f"{LOAD_WHO}: spin_unlock (written back)")
            return None
        yield Call(f"{LOAD_WHO}: zswap_entry_get", self._get, entry)
        yield from self.tree_unlock(f"{LOAD_WHO}: spin_unlock(&tree->lock)")
        return entry

    def load_decompress(self, entry: MemObject, page: MemObject) -> Steps:
        """L3 of zswap_frontswap_load (3.11 on zsmalloc): zpool_map_handle, decompress."""
        yield Call(f"{LOAD_WHO}: zpool_map_handle; decompress", self._decompress, entry, page)

    def load_put(self, entry: MemObject) -> Steps:
        """L4 of zswap_frontswap_load (3.11 on zsmalloc): zswap_entry_put under tree->lock."""
        yield from self.tree_lock(f"{LOAD_WHO}: spin_lock(&tree->lock)")
        refcount = yield Call(f"{LOAD_WHO}: zswap_entry_put", self._put, entry)
        yield from self.tree_unlock(f"{LOAD_WHO}: spin_unlock(&tree->lock)")
        return refcount

    def writeback(self) -> Steps:
        """One zpool_shrink: zs_reclaim_page(pool, 8)."""
        yield from self.reclaim()

    def invalidate_area(self) -> Steps:
        """zswap_frontswap_invalidate_area (3.11) on zsmalloc, ignoring refcounts."""
        who = "zswap_frontswap_invalidate_area (3.11 on zsmalloc)"
        yield from self.tree_lock(f"{who}: spin_lock")
        while True:
            entry = yield Call(f"{who}: rb_first", self._first)
            if entry is None:
                break
            yield from self.invalidate_area_entry(entry)
        yield from self.tree_unlock(f"{who}: spin_unlock")

    def invalidate_area_entry(self, entry: MemObject) -> Steps:
        """One entry of zswap_frontswap_invalidate_area (3.11 on zsmalloc): rb_erase,
        zs_free, cache free."""
        who = "zswap_frontswap_invalidate_area (3.11 on zsmalloc)"
        handle = yield Call(f"{who}: rb_erase", self._erase, entry)
        yield from self.zpool.zs_free(handle)
        yield Call("zswap_entry_cache_free", self._release_entry, entry)

    def free_entry(self, entry: MemObject) -> Steps:
        """zswap_free_entry (3.11) on zsmalloc: zs_free(entry->handle), then the entry."""
        yield from self.zpool.zs_free((entry, "handle"))
        yield Call("zswap_free_entry: zswap_entry_cache_free", self._release_entry, entry)

    # -- single steps on zsmalloc -------------------------------------------------------
    def _header(self, handle: Any) -> int:
        # zswap_writeback_entry: zpool_map_handle(RO); zhdr->swpentry.
        offset, _data = self.zpool.read_head(handle)
        return int(offset)

    def _decompress(self, entry: MemObject, page: MemObject) -> None:
        stored = self.zpool.read_object((entry, "handle"))
        if stored[0] == "torn":
            raise Violation(BUG_ON, f"BUG_ON(ret): {entry!r} decompresses a torn object")
        self.heap.set(page, "data", stored[1])
        self.heap.set(page, "uptodate", True)

    def _account(self, delta: int) -> None:
        self.heap.set(self.stats, "stored_pages", self.heap.get(self.stats, "stored_pages") + delta)
        self.heap.set(self.stats, "pool_pages", self.zpool.pool_pages())

    # -- the checker's views ----------------------------------------------------------
    def holds(self, offset: int) -> Any:
        for entry in self._entries():
            if entry.fields.get("offset") == offset and "handle" in entry.fields:
                stored = self.zpool.peek_object(entry.fields["handle"])
                return None if stored is None else stored[1]
        return None


class ZswapZsmallocUnpinned(ZswapZsmalloc):
    """zs_reclaim_page without under_reclaim / remove_zspage: evict one by one, unpinned."""

    name = "zswap-zsmalloc-unpinned"
    kernel = "3.11 paths, 6.2-6.4 zsmalloc, unpinned reclaim"
    description = (
        "Q5: zsmalloc reclaim that evicts a zspage's objects one by one without pinning it"
    )
    pin = False
    expected: ClassVar[dict[str, frozenset[str]]] = {
        # Q5's hypothetical variant, never a kernel (9997bc017549's reclaim pins
        # the zspage with under_reclaim and remove_zspage): found by the model.
        # Nothing pins the zspage: the zs_free of its last object (an invalidate,
        # or reclaim's own eviction) frees it while reclaim still holds its
        # handles (the next evict maps a freed handle) or, after a failed
        # eviction, puts it back on the LRU (reading the freed zspage).
        "writeback-vs-free": frozenset({"use-after-free"}),
        "writeback-vs-free-other": frozenset({"use-after-free"}),
        "full-pool-store": frozenset({"use-after-free"}),
        # As in zswap-zsmalloc.  The store that allocates into the zspage being
        # vacated (no remove_zspage) is not a fault, but that reclaim frees no
        # frame although it reports success: see benchmarks/reclaim_cost.py.
        "writeback-vs-store": frozenset({"uninitialised-read"}),
    }
