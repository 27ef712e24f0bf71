"""zswap as merged in Linux 3.11 (mm/zswap.c, zbud-backed, reached through frontswap).

Transcribed from the 3.11 source step by step; each primitive's label names the
kernel function it models.  The tree lock guards the rbtree and every entry's
plain ``int refcount``.  ``zswap_entry_put`` only decrements and returns the new
value; each caller decides what a value means, and -1 is a designed state (the
initial reference dropped by both invalidate and writeback), so this design's
refcount range is [-1, unbounded).

Known race (the 2013 leak): writeback takes a reference (refcount 2), invalidate
erases the entry and drops the initial one (1), writeback's
``swapcache_prepare`` fails because the slot is gone, and the fail path puts the
last reference (0) without freeing: entry and zbud object leak.

Simplifications: one swap type (one tree, one pool); compression is the identity
on the page's data version; the per-CPU ``zswap_dstmem`` buffer is thread-local,
so compression is a read of the page and needs no step of its own.
"""

from __future__ import annotations

from typing import ClassVar

from zmodel.runtime import Acquire, Call, Choose, Heap, MemObject, Release
from zmodel.zswap import zbud
from zmodel.zswap.designs.base import Design, Steps
from zmodel.zswap.designs.tree_311 import Tree311
from zmodel.zswap.scenario import OpKind, Scenario
from zmodel.zswap.swap import EXIST, NOMEM, SwapLayer

ENOMEM, EEXIST, EAGAIN = -12, -17, -11

SUITE_311: tuple[tuple[str, str], ...] = (
    ("store-load", "store 1 A :: load 1"),
    ("load-vs-writeback", "store 1 A :: load 1 | writeback"),
    ("writeback-vs-free", "store 1 A :: writeback | free 1"),
    ("writeback-vs-restore", "store 1 A :: writeback | store 1 B"),
    ("two-slots-writeback", "store 1 A; store 2 B :: writeback | free 1"),
    ("two-slots-load", "store 1 A; store 2 B :: writeback | load 2"),
    ("store-vs-free", "store 1 A :: store 2 B | free 1"),
    ("full-pool-store", "pool_pages=0 :: store 1 A :: store 2 B | free 1"),
    ("swapoff-vs-writeback", "store 1 A :: writeback | swapoff"),
    ("re-swapon", "store 1 A :: free 1 | swapoff; swapon; store 1 B"),
)


class Zswap311(Tree311, Design):
    name = "zswap-3.11"
    kernel = "3.11"
    description = "zswap as merged in 3.11: zbud, rbtree + tree spinlock, plain int refcount"
    frontswap = True
    # swapoff (3.11) calls frontswap_map_set(p, NULL) before
    # frontswap_invalidate_area(type), which then returns at once: zswap's
    # invalidate_area is never reached, the tree and its pool stay allocated.
    swapoff_invalidates_area = False
    ops: ClassVar[frozenset[OpKind]] = frozenset({OpKind.SWAPON})
    refcount_range = (-1, None)
    suite = SUITE_311
    expected: ClassVar[dict[str, frozenset[str]]] = {
        # The 2013 leak: writeback's fail path puts its reference to 0 without
        # freeing.  Fixed in 3.13 by 0ab0abcf5115 ("mm/zswap: refactor the get/put
        # routines": put frees at zero), with Weijie Yang's "mm/zswap: bugfix:
        # memory leak when invalidate and reclaim occur concurrently".  The same
        # fail path leaks in two-slots-writeback, full-pool-store (the store's
        # zbud_reclaim_page -> zswap_writeback_entry) and swapoff-vs-writeback
        # (swapoff supplies the invalidate).
        "writeback-vs-free": frozenset({"leak"}),
        "two-slots-writeback": frozenset({"leak"}),
        "full-pool-store": frozenset({"leak"}),
        "swapoff-vs-writeback": frozenset({"leak"}),
        # The leak as above; stale-data: writeback fills a fresh swap-cache page
        # from an entry a re-store superseded, fixed in 6.4 by 04fc7816089c ("mm:
        # fix zswap writeback race condition": re-check the tree after taking the
        # page); uninitialised-read: zbud_alloc lists the page on the pool LRU
        # before zswap writes the zswap_header, never reported as a bug, gone in
        # 6.5 with the LRU moved into zswap (f999f38b4e6f, 1be537c6451b) and
        # 0bb488498c98 ("mm: zswap: remove zswap_header").
        "writeback-vs-restore": frozenset({"leak", "stale-data", "uninitialised-read"}),
        # swapoff never frees the tree and pool: 4f89849da22d ("frontswap: get rid
        # of swap_lock dependency", already in 3.11) clears frontswap_map before
        # frontswap_invalidate_area, which then returns at once; swapon's
        # zswap_frontswap_init overwrites zswap_trees[type].  Fixed in 3.13 by
        # "frontswap: enable call to invalidate area on swapoff" (Kozlowski) with
        # "mm/zswap: bugfix: memory leak when re-swapon" (Weijie Yang), which frees
        # the tree in zswap_frontswap_invalidate_area (ids not confirmed here).
        "re-swapon": frozenset({"leak"}),
    }

    # Steps only an overlapping run executes: writeback finding the loader's
    # swap-cache page (EXIST) fails, and puts its reference back.
    reach: ClassVar[dict[str, tuple[str, ...]]] = {
        "load-vs-writeback": ("zswap_writeback_entry fail: zswap_entry_put",),
        "two-slots-load": ("zswap_writeback_entry fail: zswap_entry_put",),
    }

    def __init__(self, heap: Heap, swap: SwapLayer, scenario: Scenario) -> None:
        super().__init__(heap, swap, scenario)
        # zswap_frontswap_init (3.11): one tree and one zbud pool per swap type.
        self.pool = zbud.create_pool(heap)
        self.tree = heap.alloc("zswap_tree", {"rb_node": None, "lock": None, "pool": self.pool})
        # Globals: zswap_pool_pages is updated after a store and read unlocked.
        self.stats = heap.alloc("zswap_stats", {"pool_pages": 0, "stored_pages": 0}, root=True)
        self.limit: int | None = scenario.option("pool_pages")
        self.retries: int = scenario.option("reclaim_retries")
        # zswap_trees[type]: the tree is reachable through it only, so a tree a
        # later init overwrites without freeing is a leak.
        self.trees = heap.alloc("zswap_trees", {"tree": self.tree}, root=True)

    # -- frontswap ops ---------------------------------------------------------
    # Each path is a skeleton over named steps (``zmodel new-design`` lists them):
    # a change overrides the one or two it is about, not the path.
    def tree_lock(self, label: str) -> Steps:
        """spin_lock(&tree->lock) (3.11): every tree lock of every path takes it here."""
        yield Acquire(self.tree, "lock", label)

    def tree_unlock(self, label: str) -> Steps:
        """spin_unlock(&tree->lock) (3.11)."""
        yield Release(self.tree, "lock", label)

    def store(self, offset: int, page: MemObject) -> Steps:
        """zswap_frontswap_store (3.11), steps S1-S8 of the reference."""
        if not (yield from self.store_reclaim_if_full()):
            return False  # zswap_reject_reclaim_fail
        entry = yield from self.store_alloc_entry()
        if entry is None:
            return False
        handle = yield from self.store_compress(entry, offset, page)
        if handle is None:
            return False
        yield from self.store_insert(entry)
        yield from self.store_account()
        return True

    def store_reclaim_if_full(self) -> Steps:
        """S1 of zswap_frontswap_store (3.11): zswap_is_full, zbud_reclaim_page (False: failed)."""
        full = yield Call("zswap_frontswap_store: zswap_is_full", self._is_full)
        if full:
            ret = yield from zbud.zbud_reclaim_page(self.heap, self.pool, self.retries, self.evict)
            if ret != 0:
                return False
        return True

    def store_alloc_entry(self) -> Steps:
        """S2 of zswap_frontswap_store (3.11): zswap_entry_cache_alloc, refcount 1 (or None)."""
        if self.may_fail:
            ok = yield Choose("zswap_entry_cache_alloc", (True, False))
            if not ok:
                return None
        return (yield Call("zswap_entry_cache_alloc (refcount = 1)", self._new_entry))

    def store_compress(self, entry: MemObject, offset: int, page: MemObject) -> Steps:
        """S3-S5 of zswap_frontswap_store (3.11): compress, zbud_alloc, zbud_map + memcpy,
        populate the entry; its zbud handle, or None (the entry freed)."""
        data = yield Call("zswap_comp_op: compress the page", self.heap.get, page, "data")
        handle = yield from zbud.zbud_alloc(self.heap, self.pool, self.may_fail)
        if handle is None:
            yield Call("zswap_frontswap_store: zswap_entry_cache_free", self.heap.free, entry)
            return None
        yield Call("zbud_map: zhdr->swpentry, memcpy data", self._fill_zpage, handle, offset, data)
        yield Call("zswap_frontswap_store: populate entry", self._populate, entry, offset, handle)
        return handle

    def store_insert(self, entry: MemObject) -> Steps:
        """S6-S7 of zswap_frontswap_store (3.11): zswap_rb_insert under tree->lock, each
        duplicate dropped (``store_drop_dup``) until the insert succeeds."""
        yield from self.tree_lock("zswap_frontswap_store: spin_lock(&tree->lock)")
        while True:
            dup = yield Call("zswap_rb_insert", self._insert, entry)
            if dup is None:
                break
            yield from self.store_drop_dup(dup)
        yield from self.tree_unlock("zswap_frontswap_store: spin_unlock(&tree->lock)")

    def store_drop_dup(self, dup: MemObject) -> Steps:
        """zswap_frontswap_store (3.11) on -EEXIST: rb_erase(dup), zswap_entry_put, free at 0."""
        refcount = yield Call("zswap_frontswap_store: rb_erase(dup); put", self._erase_put, dup)
        if refcount == 0:
            yield from self.free_entry(dup)  # zbud_free nests pool->lock in tree->lock

    def store_account(self) -> Steps:
        """S8 of zswap_frontswap_store (3.11): zswap_stored_pages++, zswap_pool_pages."""
        yield Call("zswap_frontswap_store: stored_pages++, pool_pages", self._account, 1)

    def load(self, offset: int, page: MemObject) -> Steps:
        """zswap_frontswap_load (3.11), steps L1-L5."""
        entry = yield from self.load_find_get(offset)
        if entry is None:
            return False
        yield from self.load_decompress(entry, page)
        refcount = yield from self.load_put(entry)
        if refcount == 0:
            # "We don't have to unlink from the rbtree because zswap_writeback_entry()
            # or zswap_frontswap_invalidate page() has already done this for us"
            yield from self.free_entry(entry)
        return True

    def load_find_get(self, offset: int) -> Steps:
        """L1-L2 of zswap_frontswap_load (3.11): search and get under tree->lock (or None)."""
        yield from self.tree_lock("zswap_frontswap_load: spin_lock(&tree->lock)")
        entry = yield Call("zswap_frontswap_load: zswap_rb_search", self._search, offset)
        if entry is None:
            yield from self.tree_unlock("zswap_frontswap_load: spin_unlock (written back)")
            return None
        yield Call("zswap_frontswap_load: zswap_entry_get", self._get, entry)
        yield from self.tree_unlock("zswap_frontswap_load: spin_unlock(&tree->lock)")
        return entry

    def load_decompress(self, entry: MemObject, page: MemObject) -> Steps:
        """L3 of zswap_frontswap_load (3.11): zbud_map, decompress into the page."""
        yield Call("zswap_frontswap_load: zbud_map + decompress", self._decompress, entry, page)

    def load_put(self, entry: MemObject) -> Steps:
        """L4 of zswap_frontswap_load (3.11): zswap_entry_put under tree->lock; the new count."""
        yield from self.tree_lock("zswap_frontswap_load: spin_lock(&tree->lock)")
        refcount = yield Call("zswap_frontswap_load: zswap_entry_put", self._put, entry)
        yield from self.tree_unlock("zswap_frontswap_load: spin_unlock(&tree->lock)")
        return refcount

    def invalidate_page(self, offset: int) -> Steps:
        """zswap_frontswap_invalidate_page (3.11), steps I1-I3."""
        found = yield from self.invalidate_erase_put(offset)
        if found is None:
            return
        entry, refcount = found
        if refcount != 0:
            return  # "writeback in progress, writeback will free"
        yield from self.free_entry(entry)

    def invalidate_erase_put(self, offset: int) -> Steps:
        """I1-I2 of zswap_frontswap_invalidate_page (3.11): under tree->lock, search,
        rb_erase, zswap_entry_put; (entry, new count), or None if not found."""
        yield from self.tree_lock("zswap_frontswap_invalidate_page: spin_lock")
        entry = yield Call("zswap_frontswap_invalidate_page: zswap_rb_search", self._search, offset)
        if entry is None:
            yield from self.tree_unlock("zswap_frontswap_invalidate_page: spin_unlock")
            return None
        refcount = yield Call(
            "zswap_frontswap_invalidate_page: rb_erase; zswap_entry_put", self._erase_put, entry
        )
        yield from self.tree_unlock("zswap_frontswap_invalidate_page: spin_unlock")
        return entry, refcount

    def invalidate_area(self) -> Steps:
        """zswap_frontswap_invalidate_area (3.11): frees everything, ignoring refcounts."""
        yield from self.tree_lock("zswap_frontswap_invalidate_area: spin_lock")
        while True:
            entry = yield Call("zswap_frontswap_invalidate_area: rb_first", self._first)
            if entry is None:
                break
            yield from self.invalidate_area_entry(entry)
        yield from self.tree_unlock("zswap_frontswap_invalidate_area: spin_unlock")

    def invalidate_area_entry(self, entry: MemObject) -> Steps:
        """One entry of zswap_frontswap_invalidate_area (3.11): rb_erase, zbud_free, cache free."""
        handle = yield Call("zswap_frontswap_invalidate_area: rb_erase", self._erase, entry)
        yield from zbud.zbud_free(self.heap, self.pool, handle)
        yield Call("zswap_entry_cache_free", self._release_entry, entry)

    def swapon(self) -> Steps:
        """zswap_frontswap_init (3.11) at swapon: a new tree and zbud pool published
        in zswap_trees[type] over the old ones, which 3.11's swapoff never freed
        (its frontswap_invalidate_area returns before reaching zswap, since
        4f89849da22d cleared the frontswap map first): they leak.  3.13 calls
        frontswap_invalidate_area before frontswap_map_set(p, NULL) ("frontswap:
        enable call to invalidate area on swapoff") and frees the tree there."""
        yield Call("zswap_frontswap_init (3.11): kzalloc tree; zbud_create_pool", self._init_type)

    def _init_type(self) -> None:
        self.pool = zbud.create_pool(self.heap)
        self.tree = self.heap.alloc(
            "zswap_tree", {"rb_node": None, "lock": None, "pool": self.pool}
        )
        self.heap.set(self.trees, "tree", self.tree)

    def writeback(self) -> Steps:
        """One reclaim attempt: zbud_reclaim_page(tree->pool, 8), as store's S1 calls it."""
        yield from zbud.zbud_reclaim_page(self.heap, self.pool, self.retries, self.evict)

    def evict(self, handle: zbud.Handle) -> Steps:
        """The zbud evict callback: zswap_writeback_entry (3.11)."""
        return self.writeback_entry(handle)

    def writeback_entry(self, handle: zbud.Handle) -> Steps:
        """zswap_writeback_entry (3.11), steps W1-W5 and the fail path."""
        found = yield from self.writeback_find_get(handle)
        if found is None:
            return 0
        entry, offset = found
        page = yield from self.writeback_take_page(offset)
        if not isinstance(page, MemObject):
            return (yield from self.writeback_fail(entry, page))
        yield from self.writeback_write(entry, offset, page)
        return (yield from self.writeback_done(entry, offset))

    def writeback_find_get(self, handle: zbud.Handle) -> Steps:
        """W1-W2 of zswap_writeback_entry (3.11): zhdr->swpentry, then search and get
        under tree->lock; (entry, offset), or None (invalidated)."""
        offset = yield Call("zswap_writeback_entry: zbud_map; zhdr->swpentry", self._header, handle)
        yield from self.tree_lock("zswap_writeback_entry: spin_lock(&tree->lock)")
        entry = yield Call("zswap_writeback_entry: zswap_rb_search", self._search, offset)
        if entry is None:
            yield from self.tree_unlock("zswap_writeback_entry: spin_unlock (invalidated)")
            return None
        yield Call("zswap_writeback_entry: zswap_entry_get", self._get, entry)
        yield from self.tree_unlock("zswap_writeback_entry: spin_unlock(&tree->lock)")
        return entry, offset

    def writeback_take_page(self, offset: int) -> Steps:
        """W3 of zswap_writeback_entry (3.11): zswap_get_swap_cache_page; the new locked
        page, or -ENOMEM / -EEXIST (ZSWAP_SWAPCACHE_NOMEM / _EXIST)."""
        status, page = yield from self.swap.get_swap_cache_page(offset)
        if status == NOMEM:
            return ENOMEM
        if status == EXIST:
            return EEXIST
        return page

    def writeback_write(self, entry: MemObject, offset: int, page: MemObject) -> Steps:
        """W4 of zswap_writeback_entry (3.11): decompress, SetPageUptodate, __swap_writepage."""
        yield Call(
            "zswap_writeback_entry: decompress; SetPageUptodate", self._decompress, entry, page
        )
        yield from self.swap.swap_writepage(offset, page)

    def writeback_done(self, entry: MemObject, offset: int) -> Steps:
        """W5 of zswap_writeback_entry (3.11): put the local and the initial reference,
        rb_erase if not invalidated, free at <= 0; 0, or -EAGAIN (a load will free)."""
        yield from self.tree_lock("zswap_writeback_entry: spin_lock(&tree->lock)")
        refcount = yield Call("zswap_writeback_entry: put; put; rb_erase", self._wb_finish, entry)
        yield from self.tree_unlock("zswap_writeback_entry: spin_unlock(&tree->lock)")
        if refcount <= 0:
            yield from self.free_entry(entry)
            return 0
        return EAGAIN  # "load in progress, load will free"

    def writeback_fail(self, entry: MemObject, ret: int) -> Steps:
        """The fail label of zswap_writeback_entry (3.11): the put's result is ignored."""
        yield from self.tree_lock("zswap_writeback_entry fail: spin_lock(&tree->lock)")
        yield Call("zswap_writeback_entry fail: zswap_entry_put", self._put, entry)
        yield from self.tree_unlock("zswap_writeback_entry fail: spin_unlock(&tree->lock)")
        return ret

    def free_entry(self, entry: MemObject) -> Steps:
        """zswap_free_entry (3.11): zbud_free, then kmem_cache_free and stats."""
        handle = yield Call("zswap_free_entry: entry->handle", self.heap.get, entry, "handle")
        yield from zbud.zbud_free(self.heap, self.pool, handle)
        yield Call("zswap_free_entry: zswap_entry_cache_free", self._release_entry, entry)


class Zswap311LeakFix(Zswap311):
    """3.11 with the writeback fail path freeing the entry when its put reaches zero."""

    name = "zswap-3.11-leakfix"
    description = "3.11 whose writeback fail path frees the entry at refcount 0 (fixes the leak)"
    expected: ClassVar[dict[str, frozenset[str]]] = {
        "writeback-vs-restore": frozenset({"stale-data", "uninitialised-read"}),
        # swapoff never frees the tree; swapon's init overwrites it (fixed in 3.13,
        # see Zswap311.expected).
        "re-swapon": frozenset({"leak"}),
    }

    def writeback_fail(self, entry: MemObject, ret: int) -> Steps:
        yield from self.tree_lock("zswap_writeback_entry fail: spin_lock(&tree->lock)")
        refcount = yield Call("zswap_writeback_entry fail: zswap_entry_put", self._put, entry)
        yield from self.tree_unlock("zswap_writeback_entry fail: spin_unlock(&tree->lock)")
        if refcount <= 0:
            yield from self.free_entry(entry)
        return ret
