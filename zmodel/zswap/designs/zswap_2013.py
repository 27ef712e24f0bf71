"""zswap as reviewed in January 2013: "[PATCHv4 6/7] zswap: add flushing support".

The pre-merge series (29 Jan 2013), before zbud replaced zsmalloc.  Transcribed
from the patch step by step; each label names the v4 function it models.
- zsmalloc (3.11-era staging allocator, class spinlocks).  A full pool makes
  ``zs_malloc`` fail: the series' zswap_zs_ops.alloc callback (zswap_alloc_page)
  refuses a frame once ``zswap_pool_pages`` reaches the limit (``pool_pages``).
- An entry LRU per tree (``tree->lru``, oldest first).  The tree lock guards
  "the rbtree, the lru list, the refcount field of each entry in the tree".
- ``int refcount``, initialised to 1; ``zswap_entry_put`` only decrements and
  returns the new value, each caller interprets it.
- When ``zs_malloc`` fails, store calls ``zswap_flush_entries(type, 16)``
  synchronously and retries: this is how "flush could free an entry from the
  zswap_fs_store() path" (Seth, 2 Jan 2013).  Flush dequeues the LRU head,
  takes a reference, and ``zswap_flush_entry`` writes it back through
  ``zswap_get_swap_cache_page`` and ``__swap_writepage`` (no recursion into
  frontswap).  The scenario op ``writeback`` is one zswap_flush_entries call.

Entry LRU membership is the ``lru`` field: ``"init"`` (INIT_LIST_HEAD),
``"on"``, or ``"poison"`` (after list_del, ``lru.next == LIST_POISON1``, which the
code tests).  list_del and list_add write the neighbours' links, so a freed
entry left on the list is a use-after-free as soon as a neighbour moves.

Swapoff: the series was against 3.8, whose swapoff called
``frontswap_invalidate_area(type)`` with the frontswap map still in place, under
``swap_lock`` (4f89849da22d, in 3.11, clears the map first and calls it after
the unlock), so zswap's ``zswap_frontswap_invalidate_area`` runs
(``Design.swapoff_invalidates_area``).  The model calls it after ``p->max = 0``
without ``swap_lock`` (the model has no swap_lock; nothing else here takes it);
the rest of swapoff is the 3.x one of swapoff.py.

Simplifications: one swap type; compression is the identity; the object is the
page's data version (no header: the v4 object holds only compressed data);
``zswap_tmppage_alloc`` (16 preallocated pages) never runs dry with at most 8
threads; ``ZSWAP_MAX_OUTSTANDING_FLUSHES`` never trips, since I/O completes
synchronously; ``SetPageReclaim`` is a hint and not modelled.
"""

from __future__ import annotations

from fractions import Fraction
from typing import ClassVar

from zmodel.runtime import Acquire, Call, Choose, Heap, MemObject, Release
from zmodel.zswap.designs.base import Design, Steps
from zmodel.zswap.designs.tree_2013 import Tree2013
from zmodel.zswap.scenario import Scenario
from zmodel.zswap.swap import EXIST, NOMEM, SwapLayer
from zmodel.zswap.zsmalloc import STAGING_3_11, ZsPool

ENOMEM = -12
V4 = "(v4)"

#: Three stores fill one zspage (2 frames, 3 objects) under ``pool_pages=2``,
#: so a fourth store finds zs_malloc failing and flushes from the store path.
FULL = "pool_pages=2 :: store 1 A; store 2 B; store 3 C"

SUITE_2013 = (
    ("store-load", "store 1 A :: load 1"),
    ("load-vs-free", "store 1 A; store 2 B :: load 1 | free 2"),
    ("load-vs-writeback", "store 1 A :: load 1 | writeback"),
    ("writeback-vs-free", "store 1 A :: writeback | free 1"),
    ("writeback-vs-restore", "store 1 A :: writeback | store 1 B"),
    ("two-slots-writeback", "store 1 A; store 2 B :: writeback | free 1"),
    ("store-flush-vs-free", f"{FULL} :: store 4 D | free 1"),
    ("swapoff-vs-writeback", "store 1 A :: writeback | swapoff"),
    ("entry-alloc-failure", "alloc_failures=on :: store 1 A"),
)


class Zswap2013(Tree2013, Design):
    name = "zswap-2013"
    kernel = "v4 Jan 2013 (pre-merge)"
    description = (
        "the series under review: zsmalloc, entry LRU, int refcount, flush from the store path"
    )
    frontswap = True
    op_reach: ClassVar[dict[str, tuple[str, ...]]] = {"writeback": ("zswap_flush_entry",)}
    refcount_range = (0, None)
    suite = SUITE_2013
    expected: ClassVar[dict[str, frozenset[str]]] = {
        # The v4 series was revised before merge, so these were fixed in review,
        # not by a kernel commit.  Minchan Kim's review of 1 Feb 2013
        # (<20130201072721.GC6262@blaptop>) asked for list_del_init and for the
        # reference flush's error path keeps; merged 3.11 moved the LRU into zbud
        # (no zswap list: the relink race is gone), allocates the entry before
        # the object (no entry-alloc-failure leak), and puts on the fail path
        # without freeing (the 3.11 leak, fixed in 3.13 by 0ab0abcf5115).  The
        # stale write-back survived until 04fc7816089c (6.4).
        # Load's unconditional list_add_tail relinks an entry flush has dequeued;
        # flush then frees it while it is on tree->lru, and the next dequeue
        # touches freed memory.
        "load-vs-writeback": frozenset({"use-after-free"}),
        # Flush's error path (the slot was freed: swapcache_prepare fails) keeps
        # its reference and puts the entry, no longer in the tree, back at the
        # LRU head: it is retried 16 times, then leaked (Dan: "I think a memory leak").
        "writeback-vs-free": frozenset({"leak"}),
        "two-slots-writeback": frozenset({"leak"}),
        "store-flush-vs-free": frozenset({"leak"}),
        "swapoff-vs-writeback": frozenset({"leak"}),
        # Flush writes back an entry a re-store superseded, into a fresh swap-cache page.
        "writeback-vs-restore": frozenset({"stale-data"}),
        # zswap_entry_cache_alloc fails after zs_malloc: "goto reject" leaks the object.
        "entry-alloc-failure": frozenset({"leak"}),
    }
    #: Compressed size: 2/3 of a page gives 3 objects in a 2-frame zspage, one spanning both.
    zpage_size: ClassVar[Fraction] = Fraction(2, 3)
    #: zswap_frontswap_store calls zswap_flush_entries(type, 16).
    flush_nr: ClassVar[int] = 16
    dequeue_label: ClassVar[str] = "list_first_entry(&tree->lru), list_del, zswap_entry_get"

    def __init__(self, heap: Heap, swap: SwapLayer, scenario: Scenario) -> None:
        super().__init__(heap, swap, scenario)
        # zswap_frontswap_init (v4): one tree, one zs_pool (zs_create_pool with zswap_zs_ops).
        self.zpool = ZsPool(
            heap, (self.zpage_size,), version=STAGING_3_11, limit=scenario.option("pool_pages")
        )
        self.zclass = self.zpool.size_class(self.zpage_size)
        self.tree = heap.alloc(
            "zswap_tree",
            # flush_log is a Q5 ghost: (entries written back, frames freed) per flush.
            {"rb_node": None, "lock": None, "pool": self.zpool.pool, "lru": (), "flush_log": ()},
            weak=("lru",),
            root=True,
        )
        self.stats = heap.alloc("zswap_stats", {"stored_pages": 0}, root=True)

    # -- frontswap ops ---------------------------------------------------------
    # Each path is a skeleton over named steps (``zmodel new-design`` lists them).
    def tree_lock(self, label: str) -> Steps:
        """spin_lock(&tree->lock) (v4): every tree lock of every path takes it here."""
        yield Acquire(self.tree, "lock", label)

    def tree_unlock(self, label: str) -> Steps:
        """spin_unlock(&tree->lock) (v4)."""
        yield Release(self.tree, "lock", label)

    def store(self, offset: int, page: MemObject) -> Steps:
        """zswap_frontswap_store (v4)."""
        handle = yield from self.store_compress(page)
        if handle is None:
            return False  # zswap_reject_zsmalloc_fail
        entry = yield from self.store_alloc_entry()
        if entry is None:
            return False  # "goto reject": the zsmalloc object is not freed
        yield Call(
            f"zswap_frontswap_store {V4}: populate entry", self._populate, entry, offset, handle
        )
        yield from self.store_insert(entry)
        yield Call(f"zswap_frontswap_store {V4}: atomic_inc(&zswap_stored_pages)", self._account, 1)
        return True

    def store_compress(self, page: MemObject) -> Steps:
        """zswap_frontswap_store (v4): zswap_comp_op, zs_malloc (on failure
        zswap_flush_entries and a retry), the object written; its handle, or None."""
        data = yield Call(f"zswap_frontswap_store {V4}: zswap_comp_op", self.heap.get, page, "data")
        handle = yield from self.zpool.zs_malloc(self.zclass, self.may_fail)
        if handle is None:
            # The compressed buffer moves to a tmppage (thread-local), then:
            yield from self.flush_entries(self.flush_nr)
            handle = yield from self.zpool.zs_malloc(self.zclass, self.may_fail)
            if handle is None:
                return None
        yield from self.zpool.zs_write(handle, data, f"zswap_frontswap_store {V4}")
        return handle

    def store_alloc_entry(self) -> Steps:
        """zswap_entry_cache_alloc (v4): refcount 1 (or None: it failed)."""
        if self.may_fail:
            ok = yield Choose(f"zswap_entry_cache_alloc {V4}", (True, False))
            if not ok:
                return None
        return (yield Call(f"zswap_entry_cache_alloc {V4}: refcount = 1", self._new_entry))

    def store_insert(self, entry: MemObject) -> Steps:
        """zswap_frontswap_store (v4): zswap_rb_insert and list_add_tail under
        tree->lock, each duplicate dropped (``store_drop_dup``)."""
        yield from self.tree_lock(f"zswap_frontswap_store {V4}: spin_lock(&tree->lock)")
        while True:
            dup = yield Call(
                f"zswap_frontswap_store {V4}: zswap_rb_insert; list_add_tail(&entry->lru)",
                self._insert,
                entry,
            )
            if dup is None:
                break
            yield from self.store_drop_dup(dup)
        yield from self.tree_unlock(f"zswap_frontswap_store {V4}: spin_unlock(&tree->lock)")

    def store_drop_dup(self, dup: MemObject) -> Steps:
        """zswap_frontswap_store (v4) on -EEXIST: rb_erase, list_del, put; free at zero."""
        refcount = yield Call(
            f"zswap_frontswap_store {V4}: rb_erase(dup), list_del(&dup->lru), put",
            self._drop_dup,
            dup,
        )
        if refcount == 0:
            yield from self.free_entry(dup, "zswap_frontswap_store")  # under tree->lock

    def load(self, offset: int, page: MemObject) -> Steps:
        """zswap_frontswap_load (v4)."""
        entry = yield from self.load_find_get(offset)
        if entry is None:
            return False
        yield from self.load_decompress(entry, page)
        refcount = yield from self.load_put(entry)
        if refcount == 0:
            # "We don't have to unlink from the rbtree because zswap_flush_entry()
            # or zswap_frontswap_invalidate page() has already done this for us"
            yield from self.free_entry(entry, "zswap_frontswap_load")
        return True

    def load_find_get(self, offset: int) -> Steps:
        """zswap_frontswap_load (v4): under tree->lock, zswap_rb_search,
        zswap_entry_get, list_del unless LIST_POISON1 (or None)."""
        who = f"zswap_frontswap_load {V4}"
        yield from self.tree_lock(f"{who}: spin_lock(&tree->lock)")
        entry = yield Call(
            f"{who}: zswap_rb_search; zswap_entry_get; list_del(lru) unless LIST_POISON1",
            self._search_get_unlink,
            offset,
        )
        if entry is None:
            yield from self.tree_unlock(f"{who}: spin_unlock (entry was flushed)")
            return None
        yield from self.tree_unlock(f"{who}: spin_unlock(&tree->lock)")
        return entry

    def load_decompress(self, entry: MemObject, page: MemObject) -> Steps:
        """zswap_frontswap_load (v4): zs_map_object, zswap_comp_op into the page."""
        who = f"zswap_frontswap_load {V4}"
        yield from self.zpool.zs_read((entry, "handle"), who, (self._fill_page, page))

    def load_put(self, entry: MemObject) -> Steps:
        """zswap_frontswap_load (v4): under tree->lock, zswap_entry_put and, if not
        zero, list_add_tail back on the LRU; the new count."""
        who = f"zswap_frontswap_load {V4}"
        yield from self.tree_lock(f"{who}: spin_lock(&tree->lock)")
        refcount = yield Call(
            f"{who}: zswap_entry_put; if non-zero list_add_tail(&entry->lru)",
            self._put_relink,
            entry,
        )
        yield from self.tree_unlock(f"{who}: spin_unlock(&tree->lock)")
        return refcount

    def invalidate_page(self, offset: int) -> Steps:
        """zswap_frontswap_invalidate_page (v4)."""
        found = yield from self.invalidate_erase_put(offset)
        if found is None:
            return  # "entry was flushed"
        entry, refcount = found
        if refcount:
            return  # "must be flushing"
        yield from self.free_entry(entry, "zswap_frontswap_invalidate_page")

    def invalidate_erase_put(self, offset: int) -> Steps:
        """zswap_frontswap_invalidate_page (v4): under tree->lock, search, rb_erase,
        list_del unless LIST_POISON1, put; (entry, new count), or None."""
        who = f"zswap_frontswap_invalidate_page {V4}"
        yield from self.tree_lock(f"{who}: spin_lock(&tree->lock)")
        found = yield Call(
            f"{who}: zswap_rb_search; rb_erase; list_del(lru) unless LIST_POISON1; put",
            self._search_erase_put,
            offset,
        )
        yield from self.tree_unlock(f"{who}: spin_unlock(&tree->lock)")
        return found

    def invalidate_area(self) -> Steps:
        """zswap_frontswap_invalidate_area (v4): frees every tree entry, ignoring refcounts."""
        who = f"zswap_frontswap_invalidate_area {V4}"
        yield from self.tree_lock(f"{who}: spin_lock(&tree->lock)")
        entries = yield Call(f"{who}: rb_first .. rb_next", self._all_entries)
        for entry in entries:
            yield from self.zpool.zs_free((entry, "handle"))
            yield Call(f"{who}: zswap_entry_cache_free", self.heap.free, entry)
        # Entries on the LRU but not in the tree are dropped here, never freed.
        yield Call(f"{who}: tree->rbroot = RB_ROOT; INIT_LIST_HEAD(&tree->lru)", self._reset)
        yield from self.tree_unlock(f"{who}: spin_unlock(&tree->lock)")

    def writeback(self) -> Steps:
        """One zswap_flush_entries call, as the store path makes it."""
        yield from self.flush_entries(self.flush_nr)

    # -- flush -------------------------------------------------------------------
    def flush_entries(self, nr: int) -> Steps:
        """zswap_flush_entries (v4): dequeue the LRU head, flush it; on error put it back."""
        written = frames = 0
        for _ in range(nr):
            entry = yield from self.flush_dequeue()
            if entry is None:
                break
            ret, wrote, freed = yield from self.flush_entry(entry)
            written, frames = written + wrote, frames + freed
            if ret:
                yield from self.flush_putback(entry)
        yield Call(
            f"zswap_flush_entries {V4}: return (Q5 record)", self._log_flush, written, frames
        )

    def flush_dequeue(self) -> Steps:
        """zswap_flush_entries (v4): under tree->lock, the LRU head dequeued (and, with
        the refcount, got); None if the list is empty."""
        who = f"zswap_flush_entries {V4}"
        yield from self.tree_lock(f"{who}: spin_lock(&tree->lock)")
        entry = yield Call(f"{who}: {self.dequeue_label}", self._dequeue)
        if entry is None:
            yield from self.tree_unlock(f"{who}: spin_unlock (list_empty)")
            return None
        yield from self.tree_unlock(f"{who}: spin_unlock(&tree->lock)")
        return entry

    def flush_putback(self, entry: MemObject) -> Steps:
        """zswap_flush_entries (v4) on error: list_add at the LRU head under tree->lock."""
        who = f"zswap_flush_entries {V4}"
        yield from self.tree_lock(f"{who}: spin_lock (put back on the lru)")
        yield Call(f"{who}: list_add(&entry->lru, &tree->lru)", self._lru_add, entry, True)
        yield from self.tree_unlock(f"{who}: spin_unlock(&tree->lock)")

    def flush_entry(self, entry: MemObject) -> Steps:
        """zswap_flush_entry (v4): ``(ret, wrote back, frames freed)``."""
        who = f"zswap_flush_entry {V4}"
        offset = yield Call(f"{who}: swp_entry(entry->type, entry->offset)", self._offset, entry)
        status, page = yield from self.swap.get_swap_cache_page(offset)
        if status == NOMEM:
            return ENOMEM, 0, 0  # the reference taken by flush_entries is kept
        if status == EXIST:
            return 0, 0, (yield from self.flush_page_exists(entry))
        yield from self.flush_write(entry, offset, page)
        return 0, 1, (yield from self.flush_done(entry))

    def flush_page_exists(self, entry: MemObject) -> Steps:
        """zswap_flush_entry (v4), the page already in the swap cache: put under
        tree->lock, free at zero; the frames freed."""
        who = f"zswap_flush_entry {V4}"
        yield from self.tree_lock(f"{who}: page exists: spin_lock(&tree->lock)")
        refcount = yield Call(f"{who}: zswap_entry_put", self._put, entry)
        yield from self.tree_unlock(f"{who}: spin_unlock(&tree->lock)")
        if refcount:
            return 0
        # "if the refcount is zero, invalidate must have come in"
        return (yield from self.free_entry(entry, "zswap_flush_entry"))

    def flush_write(self, entry: MemObject, offset: int, page: MemObject) -> Steps:
        """zswap_flush_entry (v4): decompress into the new page, __swap_writepage."""
        who = f"zswap_flush_entry {V4}"
        yield from self.zpool.zs_read((entry, "handle"), who, (self._fill_flushed, entry, page))
        yield from self.swap.swap_writepage(offset, page)

    def flush_done(self, entry: MemObject) -> Steps:
        """zswap_flush_entry (v4) after the write: put under tree->lock, rb_erase if 1,
        free unless a load holds it; the frames freed."""
        who = f"zswap_flush_entry {V4}"
        yield from self.tree_lock(f"{who}: spin_lock(&tree->lock)")
        refcount = yield Call(f"{who}: zswap_entry_put; rb_erase if 1", self._flush_put, entry)
        yield from self.tree_unlock(f"{who}: spin_unlock(&tree->lock)")
        if refcount > 1:
            return 0  # "load in progress, load will free"
        return (yield from self.free_entry(entry, "zswap_flush_entry"))

    def free_entry(self, entry: MemObject, who: str) -> Steps:
        """The open-coded free of v4: zs_free, zswap_entry_cache_free, stored_pages--."""
        frames = yield from self.zpool.zs_free((entry, "handle"))
        yield Call(f"{who} {V4}: zswap_entry_cache_free", self._release_entry, entry)
        return frames
