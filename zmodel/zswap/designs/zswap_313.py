"""zswap in Linux 3.13.10: Weijie Yang's get/put refactor (0ab0abcf5115).

Transcribed from linux-3.13.10/mm/zswap.c; every step label names the 3.13
function it models.  What changed from 3.11 (zswap_311.py, whose single steps
this class reuses; store and writeback_entry keep 3.11's skeletons over
3.13's named steps, the other paths are rewritten here):

- ``zswap_entry_put(tree, entry)`` decrements, ``BUG_ON``s a negative count and,
  at zero, erases the entry from the rbtree if it is still linked
  (``zswap_rb_erase`` checks ``RB_EMPTY_NODE``) and frees it, under
  ``tree->lock``.  The tree holds exactly one reference; whoever takes the entry
  out of the tree drops it.  So the refcount range is [0, unbounded) and -1, a
  designed state in 3.11, is now a BUG.
- ``zswap_entry_find_get`` is search + get under the lock (load, writeback).
- Writeback's success path drops its local reference, then drops the tree's
  reference only if ``zswap_rb_search(offset)`` still returns this entry; the
  fail path just puts, and the put frees at zero: the 2013 leak is gone.
- Swapoff (``zswap_frontswap_invalidate_area``) frees every entry, then
  ``zbud_destroy_pool`` and ``kfree(tree)``: the containers die, so any later
  use of ``tree->lock`` or the pool is a use-after-free.  The tree is reached
  through the global ``zswap_trees[type]``, reset to NULL.

Who calls writeback.  In 3.13 ``zbud_reclaim_page`` runs only from
``zswap_frontswap_store`` when the pool is full, and that store holds a locked
swap-cache page of the same swap type, so swapoff's ``try_to_unuse`` cannot get
past it: writeback never overlaps ``invalidate_area``.  A scenario's bare
``writeback`` stands for such a store's reclaim; the ghost ``reclaim_pin``
(checker state, not kernel state) says so: a reclaim starts only before swapoff
has finished try_to_unuse, and ``invalidate_area`` waits for running ones.
(Simplification: the pinning store's own slot is not one of the scenario's.)

Known races (the suite's expected violations, each explained there): writeback
of a superseded entry writes stale data (fixed in 6.5), zbud lists a page before
its header is written (gone in 6.5), and a failed duplicate store leaves the
old entry behind (fixed in frontswap in 3.19/4.2, in zswap_store in 6.6).

Simplifications as in zswap_311.py: one swap type, identity compression, the
per-CPU buffer is thread-local; ``SetPageReclaim`` (an LRU hint) is not modelled.
"""

from __future__ import annotations

from typing import ClassVar

from zmodel.runtime import Await, Call, Choose, Heap, MemObject, Violation
from zmodel.runtime.faults import BUG_ON
from zmodel.zswap import rbtree, zbud
from zmodel.zswap.designs.base import Design, Steps
from zmodel.zswap.designs.zswap_311 import Zswap311
from zmodel.zswap.scenario import OpKind, Scenario
from zmodel.zswap.swap import SwapLayer

SUITE_313: tuple[tuple[str, str], ...] = (
    ("store-load", "store 1 A :: load 1"),
    ("load-vs-writeback", "store 1 A :: load 1 | writeback"),
    ("writeback-vs-free", "store 1 A :: writeback | free 1"),
    ("writeback-vs-restore", "store 1 A :: writeback | store 1 B"),
    ("two-slots-writeback", "store 1 A; store 2 B :: writeback | free 1"),
    ("full-pool-store", "pool_pages=0 :: store 1 A :: store 2 B | free 1"),
    ("swapoff-vs-writeback", "store 1 A :: writeback | swapoff"),
    ("re-swapon", "store 1 A :: free 1 | swapoff; swapon; store 1 B"),
    ("failed-dup-store", "pool_pages=0 :: store 1 A; store 1 B :: writeback | free 1"),
)


class Zswap313(Zswap311):
    name = "zswap-3.13"
    kernel = "3.13.10"
    description = "3.13 get/put refactor: put frees at zero, tree holds one ref, swapoff frees tree"
    frontswap = True
    # 3.13's swapoff calls frontswap_invalidate_area before frontswap_map_set(p,
    # NULL) (mm/swapfile.c of 3.13.10): zswap's invalidate_area runs.
    swapoff_invalidates_area = True
    ops: ClassVar[frozenset[OpKind]] = frozenset({OpKind.SWAPON})
    refcount_range = (0, None)
    suite = SUITE_313
    reach: ClassVar[dict[str, tuple[str, ...]]] = {
        # Only an overlapping run fails writeback on the loader's swap-cache page.
        "load-vs-writeback": ("zswap_writeback_entry fail (3.13): spin_lock(&tree->lock)",),
    }
    expected: ClassVar[dict[str, frozenset[str]]] = {
        # Writeback holds the superseded entry while the slot is re-stored and
        # fills a fresh swap-cache page with the old data (fixed in 6.4 by
        # 04fc7816089c, "mm: fix zswap writeback race condition", which re-checks
        # the tree after taking the page); and zbud puts a page on its LRU before
        # zswap writes the header, so reclaim can read an unwritten header (never
        # reported; gone in 6.5 with 0bb488498c98, "mm: zswap: remove zswap_header").
        "writeback-vs-restore": frozenset({"stale-data", "uninitialised-read"}),
        # A re-store that fails (pool full, reclaim fails on the page the store
        # itself holds) makes __frontswap_store clear the bit without telling
        # zswap: the stale entry stays in the tree, invalidate skips it (leak),
        # and writeback can later write its old data over the newer block.
        # frontswap invalidates after a failed dup store from fb993fa1a2f6 ("mm:
        # frontswap: invalidate expired data on a dup-store failure", Dec 2014)
        # and before every dup store from 4.2 (d1dc6f1bcf1e, "frontswap: allow
        # multiple backends"); once frontswap was gone (42c06a0e8ebe, 6.5)
        # zswap_store does it itself from 6.6 (ca56489c2f1d, "mm: zswap: fix
        # potential memory corruption on duplicate store").
        "failed-dup-store": frozenset({"leak"}),
    }

    def __init__(self, heap: Heap, swap: SwapLayer, scenario: Scenario) -> None:
        Design.__init__(self, heap, swap, scenario)
        # zswap_frontswap_init (3.13): kzalloc the tree, zbud_create_pool, publish
        # it in zswap_trees[type].  Only the global array is a root: once swapoff
        # frees the tree and the pool, whatever they still point to is lost.
        self.pool = zbud.create_pool(heap)
        self.tree = heap.alloc("zswap_tree", {"rb_node": None, "lock": None, "pool": self.pool})
        self.trees = heap.alloc("zswap_trees", {"tree": self.tree}, root=True)
        self.stats = heap.alloc("zswap_stats", {"pool_pages": 0, "stored_pages": 0}, root=True)
        self.pin = heap.alloc("reclaim_pin", {"running": 0, "closed": False}, root=True)
        self.limit: int | None = scenario.option("pool_pages")
        self.retries: int = scenario.option("reclaim_retries")

    # -- refcount primitives (caller holds tree->lock) ----------------------------
    def entry_put(self, entry: MemObject, who: str) -> Steps:
        """zswap_entry_put (3.13): at zero, zswap_rb_erase and zswap_free_entry."""
        refcount = yield Call(
            f"{who}: zswap_entry_put: --refcount, BUG_ON(<0), at 0 zswap_rb_erase",
            self._put_313,
            entry,
        )
        if refcount == 0:
            yield from self.free_entry(entry)

    def free_entry(self, entry: MemObject) -> Steps:
        """zswap_free_entry (3.13, as in 3.11): zbud_free, kmem_cache_free, stats."""
        yield from super().free_entry(entry)

    # -- frontswap ops ---------------------------------------------------------------
    # store and writeback_entry are 3.11's skeletons over 3.13's named steps
    # (``if (!tree) return -ENODEV`` is not modelled: the swap layer stops stores
    # once swapoff starts); load, invalidate and swapoff have skeletons of their
    # own, since 3.13's put frees at zero.
    def store_reclaim_if_full(self) -> Steps:
        """zswap_frontswap_store (3.13): zswap_is_full, zbud_reclaim_page (False: failed)."""
        full = yield Call("zswap_frontswap_store (3.13): zswap_is_full", self._is_full)
        if full:
            ret = yield from zbud.zbud_reclaim_page(self.heap, self.pool, self.retries, self.evict)
            if ret != 0:
                return False
        return True

    def store_alloc_entry(self) -> Steps:
        """zswap_entry_cache_alloc (3.13): refcount 1, RB_CLEAR_NODE (or None)."""
        if self.may_fail:
            ok = yield Choose("zswap_entry_cache_alloc (3.13)", (True, False))
            if not ok:
                return None
        return (
            yield Call("zswap_entry_cache_alloc (3.13): refcount 1, RB_CLEAR_NODE", self._new_entry)
        )

    def store_compress(self, entry: MemObject, offset: int, page: MemObject) -> Steps:
        """zswap_frontswap_store (3.13): compress, zbud_alloc, zbud_map + memcpy, populate
        the entry; its zbud handle, or None (the entry freed)."""
        who = "zswap_frontswap_store (3.13)"
        data = yield Call(f"{who}: compress", self.heap.get, page, "data")
        handle = yield from zbud.zbud_alloc(self.heap, self.pool, self.may_fail)
        if handle is None:
            yield Call(f"{who}: zswap_entry_cache_free", self.heap.free, entry)
            return None
        yield Call(
            f"{who}: zbud_map; zhdr->swpentry; memcpy", self._fill_zpage, handle, offset, data
        )
        yield Call(f"{who}: populate entry", self._populate, entry, offset, handle)
        return handle

    def store_insert(self, entry: MemObject) -> Steps:
        """zswap_frontswap_store (3.13): zswap_rb_insert under tree->lock, each duplicate
        dropped (``store_drop_dup``)."""
        who = "zswap_frontswap_store (3.13)"
        yield from self.tree_lock(f"{who}: spin_lock(&tree->lock)")
        while True:
            dup = yield Call(f"{who}: zswap_rb_insert", self._insert, entry)
            if dup is None:
                break
            yield from self.store_drop_dup(dup)
        yield from self.tree_unlock(f"{who}: spin_unlock(&tree->lock)")

    def store_drop_dup(self, dup: MemObject) -> Steps:
        """zswap_frontswap_store (3.13) on -EEXIST: zswap_rb_erase(dupentry), zswap_entry_put."""
        yield Call("zswap_frontswap_store (3.13): zswap_rb_erase(dupentry)", self._unlink, dup)
        yield from self.entry_put(dup, "zswap_frontswap_store (3.13)")

    def store_account(self) -> Steps:
        """zswap_frontswap_store (3.13): zswap_stored_pages++, zswap_pool_pages."""
        yield Call("zswap_frontswap_store (3.13): stored_pages++, pool_pages", self._account, 1)

    def load(self, offset: int, page: MemObject) -> Steps:
        """zswap_frontswap_load (3.13): find_get, decompress, put."""
        entry = yield from self.load_find_get(offset)
        if entry is None:
            return False
        yield from self.load_decompress(entry, page)
        yield from self.load_put(entry)
        return True

    def load_find_get(self, offset: int) -> Steps:
        """zswap_frontswap_load (3.13): zswap_entry_find_get under tree->lock (or None)."""
        who = "zswap_frontswap_load (3.13)"
        yield from self.tree_lock(f"{who}: spin_lock(&tree->lock)")
        entry = yield Call(f"{who}: zswap_entry_find_get", self._find_get, offset)
        if entry is None:
            yield from self.tree_unlock(f"{who}: spin_unlock (written back)")
            return None
        yield from self.tree_unlock(f"{who}: spin_unlock(&tree->lock)")
        return entry

    def load_decompress(self, entry: MemObject, page: MemObject) -> Steps:
        """zswap_frontswap_load (3.13): zbud_map, decompress into the page."""
        yield Call(
            "zswap_frontswap_load (3.13): zbud_map + decompress", self._decompress, entry, page
        )

    def load_put(self, entry: MemObject) -> Steps:
        """zswap_frontswap_load (3.13): zswap_entry_put under tree->lock (frees at zero)."""
        who = "zswap_frontswap_load (3.13)"
        yield from self.tree_lock(f"{who}: spin_lock(&tree->lock)")
        yield from self.entry_put(entry, who)
        yield from self.tree_unlock(f"{who}: spin_unlock(&tree->lock)")

    def invalidate_page(self, offset: int) -> Steps:
        """zswap_frontswap_invalidate_page (3.13): erase, drop the tree's reference."""
        yield from self.invalidate_erase_put(offset)

    def invalidate_erase_put(self, offset: int) -> Steps:
        """zswap_frontswap_invalidate_page (3.13): under tree->lock, zswap_rb_search,
        zswap_rb_erase, zswap_entry_put (which frees at zero)."""
        who = "zswap_frontswap_invalidate_page (3.13)"
        yield from self.tree_lock(f"{who}: spin_lock(&tree->lock)")
        entry = yield Call(f"{who}: zswap_rb_search", self._search, offset)
        if entry is None:
            yield from self.tree_unlock(f"{who}: spin_unlock (written back)")
            return None
        yield Call(f"{who}: zswap_rb_erase", self._unlink, entry)
        yield from self.entry_put(entry, who)
        yield from self.tree_unlock(f"{who}: spin_unlock(&tree->lock)")
        return None

    def invalidate_area(self) -> Steps:
        """zswap_frontswap_invalidate_area (3.13): free all, zbud_destroy_pool, kfree(tree)."""
        yield from self.swapoff_wait_reclaim()
        yield from self.invalidate_area_entries()
        yield from self.invalidate_area_containers()

    def swapoff_wait_reclaim(self) -> Steps:
        """(ghost) swapoff past try_to_unuse: no store-driven reclaim starts or runs."""
        yield Call("(ghost) try_to_unuse done: no store of this type runs now", self._close_pin)
        yield Await("(ghost) the last store-driven reclaim has returned", self._pin_idle)

    def invalidate_area_entries(self) -> Steps:
        """zswap_frontswap_invalidate_area (3.13): under tree->lock, zswap_free_entry of
        each entry (rbtree_postorder_for_each_entry_safe), tree->rbroot = RB_ROOT."""
        who = "zswap_frontswap_invalidate_area (3.13)"
        yield from self.tree_lock(f"{who}: spin_lock(&tree->lock)")
        entries = yield Call(f"{who}: rbtree_postorder_for_each_entry_safe", self._postorder)
        for entry in entries:
            yield from self.free_entry(entry)
        yield Call(f"{who}: tree->rbroot = RB_ROOT", self.heap.set, self.tree, "rb_node", None)
        yield from self.tree_unlock(f"{who}: spin_unlock(&tree->lock)")

    def invalidate_area_containers(self) -> Steps:
        """zswap_frontswap_invalidate_area (3.13): zbud_destroy_pool, kfree(tree)."""
        who = "zswap_frontswap_invalidate_area (3.13)"
        yield Call(f"{who}: zbud_destroy_pool (kfree(pool))", self.heap.free, self.pool)
        yield Call(f"{who}: kfree(tree); zswap_trees[type] = NULL", self._free_tree)

    def swapon(self) -> Steps:
        """zswap_frontswap_init (3.13) at swapon: a new tree and pool, the old ones
        freed by swapoff's zswap_frontswap_invalidate_area."""
        yield Call("zswap_frontswap_init (3.13): kzalloc tree; zbud_create_pool", self._init_type)

    def _init_type(self) -> None:
        self.pool = zbud.create_pool(self.heap)
        self.tree = self.heap.alloc(
            "zswap_tree", {"rb_node": None, "lock": None, "pool": self.pool}
        )
        self.heap.set(self.trees, "tree", self.tree)
        self.heap.set(self.pin, "closed", False)  # (ghost) stores of this type may run again

    def writeback(self) -> Steps:
        """zbud_reclaim_page(tree->pool, 8) as zswap_frontswap_store (3.13) runs it when full."""
        started = yield Call("(ghost) a store of this swap type starts reclaim", self._open_pin)
        if not started:
            return
        yield from zbud.zbud_reclaim_page(self.heap, self.pool, self.retries, self.evict)
        yield Call("(ghost) the store's reclaim returns", self._leave_pin)

    def writeback_find_get(self, handle: zbud.Handle) -> Steps:
        """zswap_writeback_entry (3.13): zhdr->swpentry, zswap_trees[type], then
        zswap_entry_find_get under tree->lock; (entry, offset), or None."""
        who = "zswap_writeback_entry (3.13)"
        offset = yield Call(
            f"{who}: zbud_map; zhdr->swpentry; zswap_trees[type]", self._header_313, handle
        )
        yield from self.tree_lock(f"{who}: spin_lock(&tree->lock)")
        entry = yield Call(f"{who}: zswap_entry_find_get", self._find_get, offset)
        if entry is None:
            yield from self.tree_unlock(f"{who}: spin_unlock (entry was invalidated)")
            return None
        yield from self.tree_unlock(f"{who}: spin_unlock(&tree->lock)")
        return entry, offset

    def writeback_write(self, entry: MemObject, offset: int, page: MemObject) -> Steps:
        """zswap_writeback_entry (3.13): decompress, SetPageUptodate, __swap_writepage."""
        yield Call(
            "zswap_writeback_entry (3.13): zbud_map + decompress; SetPageUptodate",
            self._decompress,
            entry,
            page,
        )
        yield from self.swap.swap_writepage(offset, page)

    def writeback_done(self, entry: MemObject, offset: int) -> Steps:
        """zswap_writeback_entry (3.13) after __swap_writepage: drop both references."""
        who = "zswap_writeback_entry (3.13)"
        yield from self.tree_lock(f"{who}: spin_lock(&tree->lock)")
        yield from self.entry_put(entry, f"{who}: drop local reference")
        # Case (1) refcount 1, still on the tree: drop the tree's reference too.
        # Case (2) invalidate ran meanwhile and the put above freed it: the search
        # finds another entry or none.  Only the pointer is compared.
        current = yield Call(f"{who}: zswap_rb_search(offset) == entry?", self._search, offset)
        if current is entry:
            yield from self.entry_put(entry, f"{who}: drop the tree's reference")
        yield from self.tree_unlock(f"{who}: spin_unlock(&tree->lock)")
        return 0

    def writeback_fail(self, entry: MemObject, ret: int) -> Steps:
        """The fail label of zswap_writeback_entry (3.13): put, which frees at zero."""
        who = "zswap_writeback_entry fail (3.13)"
        yield from self.tree_lock(f"{who}: spin_lock(&tree->lock)")
        yield from self.entry_put(entry, who)
        yield from self.tree_unlock(f"{who}: spin_unlock(&tree->lock)")
        return ret

    # -- single steps ------------------------------------------------------------------
    def _put_313(self, entry: MemObject) -> int:
        refcount: int = self.heap.get(entry, "refcount") - 1
        if refcount < 0:
            raise Violation(BUG_ON, f"BUG_ON(refcount < 0) in zswap_entry_put: {entry!r}")
        self.set_refcount(entry, refcount)
        if refcount == 0:
            self._unlink(entry)
        return refcount

    def _unlink(self, entry: MemObject) -> None:
        """zswap_rb_erase (3.13): erase only if linked, then RB_CLEAR_NODE."""
        if rbtree.node_in_tree(self.heap, entry):
            rbtree.run(rbtree.rb_erase(self.heap, self.tree, entry))
            rbtree.init_node(self.heap, entry)

    def _find_get(self, offset: int) -> MemObject | None:
        entry = self._search(offset)
        if entry is not None:
            self._get(entry)
        return entry

    def _header_313(self, handle: zbud.Handle) -> int:
        offset = self._header(handle)
        if self.heap.get(self.trees, "tree") is None:
            raise Violation(BUG_ON, "zswap_trees[type] is NULL: oops in BUG_ON(pool != tree->pool)")
        return offset

    def _postorder(self) -> tuple[MemObject, ...]:
        return tuple(rbtree.postorder(self.heap, self.tree))

    def _free_tree(self) -> None:
        self.heap.free(self.tree, "kfree(tree)")
        self.heap.set(self.trees, "tree", None)

    def _open_pin(self) -> bool:
        if self.heap.get(self.pin, "closed"):
            return False
        self.heap.set(self.pin, "running", self.heap.get(self.pin, "running") + 1)
        return True

    def _leave_pin(self) -> None:
        self.heap.set(self.pin, "running", self.heap.get(self.pin, "running") - 1)

    def _close_pin(self) -> None:
        self.heap.set(self.pin, "closed", True)

    def _pin_idle(self) -> bool:
        running: int = self.heap.get(self.pin, "running")
        return running == 0

    # -- the checker's views -------------------------------------------------------------
    def _entries(self) -> list[MemObject]:
        if self.tree.freed:
            return []
        return super()._entries()

    def roots(self) -> list[MemObject]:
        return [self.trees, self.stats, self.pin]
