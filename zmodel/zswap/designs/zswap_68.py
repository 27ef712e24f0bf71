"""zswap in Linux 6.8 (mm/zswap.c of 6.8.1): the last refcounted version.

Transcribed from the 6.8 source; every step label names the 6.8 function it
models.  The shape, against 3.13:

- one ``zswap_tree {rbroot, lock}`` per swap type, published in
  ``zswap_trees[type]`` by ``zswap_swapon`` and freed by ``zswap_swapoff``;
  entries keep the plain ``int refcount`` changed only under ``tree->lock``;
  ``zswap_entry_put`` frees at zero; ``zswap_invalidate_entry`` drops the tree's
  reference only if ``zswap_rb_erase`` really unlinked the entry;
- no frontswap: the swap layer calls zswap_store / zswap_load /
  zswap_invalidate / zswap_swapoff directly;
- the LRU is zswap's own ``list_lru`` with its own spinlock; lock order
  ``tree.lock -> lru lock`` (list_lru.py says how the lock is modelled);
- writeback is the shrinker: ``shrink_memcg_cb`` isolates the LRU head with
  the lru lock held, reads ``swpoffset`` and ``zswap_trees[type]``, drops the
  lru lock, then revalidates the entry under ``tree->lock`` and pins it;
  ``zswap_writeback_entry`` takes a swap-cache folio with
  ``__read_swap_cache_async(skip_if_exists=true)`` and re-checks the tree
  binding before decompressing (04fc7816089c, 6.4);
- exclusive loads: ``zswap.exclusive_loads`` is a module parameter in 6.8 whose
  boot default is ``CONFIG_ZSWAP_EXCLUSIVE_LOADS_DEFAULT_ON`` (Kconfig default
  n, mm/Kconfig of 6.8), so this design has it off unless the scenario says
  ``exclusive_loads=on`` (the configuration the 6.9 kernel made unconditional).
  Off, a loaded entry stays and is rotated on the LRU (``zswap_lru_del`` +
  ``zswap_lru_add``, only for a non-same-filled entry; the model has none).
  Enabled, a load invalidates the entry and marks the folio dirty whether or not
  the folio is in the swap cache (6.8 does not check; 25cd241408a2 in 6.9 adds
  the check, for SWP_SYNCHRONOUS_IO devices: ``swapcache_bypass=on``).  With
  13ddaf26be32's pin, which 6.8.1 has, the model finds no run that loses the
  data that way; without it (``zswap-6.8-nopin``) it does.
- the swap layer of 6.8: a freed slot is reserved (``SWAP_HAS_CACHE``) until
  ``free_swap_slot`` frees it, and zswap is invalidated only then, from
  ``swap_range_free`` (0827a1fb143f moved it into free_swap_slot in 6.9):
  with ``slot_cache=on`` a freed slot's entry stays in the tree and on the LRU
  until the slot cache drains (slot_free.py).

Known race (modelled, expected): ``shrink_memcg_cb`` dereferences the tree it
read from ``zswap_trees[type]`` after dropping the lru lock, and nothing pins
it: swapoff can free it in between (use-after-free on ``tree->lock``; fixed by
5878303c5353 "mm/zswap: fix race between lru writeback and swapoff", 6.9).

Simplifications: one swap type, one zswap_pool (never switched: ``pool_switch``
is refused, so its kref never drops and it is not freed), one memcg, no objcg
charging, no same-filled pages, the acomp_ctx mutex is per CPU and each thread
is its own CPU (never contended: omitted; ``cpus=`` is refused: 6.8 takes the
context as 6.12 does, so it has CVE-2025-21693 too, which the model shows on
zswap-6.12); the shrink work queued by a store over the limit is not a thread
of its own (a scenario's ``writeback`` is one shrinker pass:
``shrink_memcg`` with ``nr_to_walk = 1``); ``zswap_pool_total_size`` is read
live from the zpool instead of the copy ``zswap_update_total_size`` refreshes.
"""

from __future__ import annotations

from typing import Any, ClassVar

from zmodel.runtime import Acquire, Call, Choose, Heap, MemObject, Release, Violation
from zmodel.runtime.faults import BUG_ON
from zmodel.zswap import list_lru, rbtree, zpool
from zmodel.zswap.designs.base import Design, Steps
from zmodel.zswap.scenario import OpKind, Scenario
from zmodel.zswap.swap import SwapLayer

ENOMEM, EEXIST = -12, -17

SUITE_68: tuple[tuple[str, str], ...] = (
    ("store-load", "store 1 A :: load 1"),
    ("alloc-failures", "alloc_failures=on :: store 1 A :: writeback | store 1 B"),
    ("load-vs-writeback", "store 1 A :: load 1 | writeback"),
    ("writeback-vs-free", "store 1 A :: writeback | free 1"),
    ("writeback-vs-restore", "store 1 A :: writeback | store 1 B"),
    ("writeback-vs-recycle", "store 1 A :: writeback | free 1; store 1 B"),
    ("two-slots-writeback", "store 1 A; store 2 B :: writeback | writeback | free 1"),
    ("full-pool-store", "pool_pages=0 :: store 1 A :: store 2 B | free 1"),
    ("swapoff-vs-writeback", "store 1 A :: writeback | swapoff"),
    ("re-swapon", "store 1 A :: free 1 | swapoff; swapon; store 1 B"),
    # Two faults on one pte of a zram-like device: the pin of 13ddaf26be32.
    ("bypass-two-faults", "swapcache_bypass=on :: store 1 A :: load 1 | load 1; store 1 B"),
    # An exclusive load into a private folio (25cd241408a2's data loss, 6.9).
    ("bypass-exclusive", "swapcache_bypass=on, exclusive_loads=on :: store 1 A :: load 1 | load 1"),
    # A freed slot waits in the slot cache; its entry stays for writeback to meet.
    ("slot-cache-writeback", "slot_cache=on :: store 1 A; store 2 B :: free 1 | writeback"),
    # zswap.enabled=N: the dup entry is dropped before the enabled check (6.8).
    ("zswap-off-vs-writeback", "store 1 A :: zswap_off; store 1 B | writeback"),
)


class Zswap68(Design):
    name = "zswap-6.8"
    kernel = "6.8.1"
    description = (
        "6.8: rbtree + refcount, zswap-owned list_lru shrinker, exclusive loads, no frontswap"
    )
    frontswap = False
    ops: ClassVar[frozenset[OpKind]] = frozenset(
        {OpKind.SHRINK, OpKind.SWAPON, OpKind.ZSWAP_OFF, OpKind.ZSWAP_ON}
    )
    refcount_range = (0, None)  # zswap_entry_put: WARN_ON_ONCE(refcount < 0)
    suite = SUITE_68
    expected: ClassVar[dict[str, frozenset[str]]] = {
        # shrink_memcg_cb locks a tree that swapoff has kfree'd (fixed in 6.9 by
        # 5878303c5353, "mm/zswap: fix race between lru writeback and swapoff").
        "swapoff-vs-writeback": frozenset({"use-after-free"}),
    }
    reach: ClassVar[dict[str, tuple[str, ...]]] = {
        # The second fault meets the first one's pin.
        "bypass-two-faults": (
            "do_swap_page (SWP_SYNCHRONOUS_IO): schedule_timeout_uninterruptible(1); refault",
        ),
        "bypass-exclusive": (
            "do_swap_page (SWP_SYNCHRONOUS_IO): schedule_timeout_uninterruptible(1); refault",
        ),
        # Writeback meets the entry of a slot the cache holds: -ENOMEM, put back.
        "slot-cache-writeback": ("shrink_memcg_cb (6.8): zswap_lru_putback (LRU_RETRY)",),
    }
    #: zswap.exclusive_loads (6.8 module parameter): its boot default.
    exclusive_loads: ClassVar[bool] = False
    knobs: ClassVar[frozenset[str]] = frozenset(
        {"exclusive_loads", "swapcache_bypass", "slot_cache"}
    )

    def __init__(self, heap: Heap, swap: SwapLayer, scenario: Scenario) -> None:
        super().__init__(heap, swap, scenario)
        # zswap_swapon (6.8): kzalloc the tree and publish it in zswap_trees[type].
        self.tree = heap.alloc("zswap_tree", {"rb_node": None, "lock": None})
        self.trees = heap.alloc("zswap_trees", {"tree": self.tree}, root=True)
        # The current zswap_pool: its zpool and its list_lru.
        self.zpool = zpool.create(heap)
        self.lru = list_lru.create(heap)
        self.pool = heap.alloc("zswap_pool", {"zpool": self.zpool, "list_lru": self.lru}, root=True)
        self.globals = heap.alloc(
            "zswap_globals", {"pool_reached_full": False, "zswap_enabled": True}, root=True
        )
        self.limit: int | None = scenario.option("pool_pages")
        knob = scenario.option("exclusive_loads")
        self.exclusive = self.exclusive_loads if knob is None else bool(knob)

    # -- refcount (caller holds tree->lock) ---------------------------------------------
    def entry_put(self, entry: MemObject, who: str) -> Steps:
        """zswap_entry_put (6.8): frees at zero (WARN_ON_ONCE if still on the tree)."""
        refcount = yield Call(f"{who}: zswap_entry_put", self._put, entry)
        if refcount == 0:
            yield from self.free_entry(entry, who)

    def free_entry(self, entry: MemObject, who: str) -> Steps:
        """zswap_free_entry (6.8): zswap_lru_del, zpool_free, pool put, cache free."""
        yield Call(f"{who}: zswap_free_entry: zswap_lru_del", self._lru_del, entry)
        yield Call(
            f"{who}: zswap_free_entry: zpool_free; zswap_entry_cache_free", self._free, entry
        )

    # -- the paths the swap layer calls -------------------------------------------------
    def store(self, offset: int, page: MemObject) -> Steps:
        """zswap_store (6.8).  Folio locked and in the swap cache."""
        who = "zswap_store (6.8)"
        # "If this is a duplicate, it must be removed before attempting to store it"
        yield Acquire(self.tree, "lock", f"{who}: spin_lock(&tree->lock)")
        dup = yield Call(
            f"{who}: zswap_rb_search; zswap_invalidate_entry: zswap_rb_erase",
            self._erase_at,
            offset,
        )
        if dup is not None:
            yield from self.entry_put(dup, f"{who}: zswap_invalidate_entry(dupentry)")
        yield Release(self.tree, "lock", f"{who}: spin_unlock(&tree->lock)")
        # zswap.enabled is read only when a scenario writes it (else it is constant).
        if self.toggles and not (yield Call(f"{who}: zswap_enabled?", self._enabled)):
            return False
        full = yield Call(f"{who}: zswap_is_full / zswap_can_accept", self._over_limit)
        if full:
            return False  # goto shrink: queue_work(shrink_wq) (not a thread here); reject
        if self.may_fail:
            ok = yield Choose(f"{who}: zswap_entry_cache_alloc", (True, False))
            if not ok:
                return False
        entry = yield Call(
            f"{who}: zswap_entry_cache_alloc (refcount 1, RB_CLEAR_NODE)", self._new_entry
        )
        data = yield Call(f"{who}: crypto_acomp_compress", self.heap.get, page, "data")
        handle = yield from zpool.zpool_malloc(self.heap, self.zpool, self.may_fail, who)
        if handle is None:
            yield Call(f"{who}: zswap_entry_cache_free (reject_alloc_fail)", self.heap.free, entry)
            return False
        yield Call(
            f"{who}: zpool_map_handle; memcpy; populate entry",
            self._fill,
            entry,
            offset,
            handle,
            data,
        )
        yield Acquire(self.tree, "lock", f"{who}: spin_lock(&tree->lock)")
        # The lru add is observable only through the lru lock, and nothing can
        # see the tree in between (tree->lock is held): one step is exact.
        yield Call(f"{who}: zswap_rb_insert; zswap_lru_add", self._insert_publish, entry)
        yield Release(self.tree, "lock", f"{who}: spin_unlock(&tree->lock)")
        return True

    def load(self, offset: int, page: MemObject) -> Steps:
        """zswap_load (6.8).  Folio locked (in the swap cache here)."""
        who = "zswap_load (6.8)"
        yield Acquire(self.tree, "lock", f"{who}: spin_lock(&tree->lock)")
        entry = yield Call(f"{who}: zswap_entry_find_get", self._find_get, offset)
        if entry is None:
            yield Release(self.tree, "lock", f"{who}: spin_unlock (no entry)")
            return False
        yield Release(self.tree, "lock", f"{who}: spin_unlock(&tree->lock)")
        yield Call(
            f"{who}: __zswap_load: zpool_map_handle; decompress", self._decompress, entry, page
        )
        yield Acquire(self.tree, "lock", f"{who}: spin_lock(&tree->lock)")
        if self.exclusive:
            erased = yield Call(
                f"{who}: zswap_invalidate_entry: zswap_rb_erase; folio_mark_dirty",
                self._exclusive,
                entry,
                page,
            )
            if erased:
                yield from self.entry_put(entry, f"{who}: zswap_invalidate_entry")
        else:
            yield Call(f"{who}: zswap_lru_del; zswap_lru_add (rotate)", self._rotate, entry)
        yield from self.entry_put(entry, f"{who}: drop local reference")
        yield Release(self.tree, "lock", f"{who}: spin_unlock(&tree->lock)")
        return True

    def set_enabled(self, enabled: bool) -> Steps:
        """zswap_enabled_param_set (6.8) at run time."""
        yield Call(
            f"zswap_enabled_param_set: zswap_enabled = {enabled}", self._set_enabled, enabled
        )

    def _set_enabled(self, enabled: bool) -> None:
        self.heap.set(self.globals, "zswap_enabled", enabled)

    def _enabled(self) -> bool:
        return bool(self.heap.get(self.globals, "zswap_enabled"))

    def invalidate_page(self, offset: int) -> Steps:
        """zswap_invalidate (6.8), from swap_range_free when the slot is freed."""
        who = "zswap_invalidate (6.8)"
        yield Acquire(self.tree, "lock", f"{who}: spin_lock(&tree->lock)")
        entry = yield Call(
            f"{who}: zswap_rb_search; zswap_invalidate_entry: zswap_rb_erase",
            self._erase_at,
            offset,
        )
        if entry is not None:
            yield from self.entry_put(entry, f"{who}: zswap_invalidate_entry")
        yield Release(self.tree, "lock", f"{who}: spin_unlock(&tree->lock)")

    def invalidate_area(self) -> Steps:
        """zswap_swapoff (6.8): free every entry (refcounts ignored), kfree(tree)."""
        who = "zswap_swapoff (6.8)"
        yield Acquire(self.tree, "lock", f"{who}: spin_lock(&tree->lock)")
        entries = yield Call(f"{who}: rbtree_postorder_for_each_entry_safe", self._postorder)
        for entry in entries:
            yield from self.free_entry(entry, who)
        yield Call(f"{who}: tree->rbroot = RB_ROOT", self.heap.set, self.tree, "rb_node", None)
        yield Release(self.tree, "lock", f"{who}: spin_unlock(&tree->lock)")
        yield Call(f"{who}: kfree(tree); zswap_trees[type] = NULL", self._free_tree)

    def swapon(self) -> Steps:
        """zswap_swapon (6.8) at swapon: kzalloc a tree, publish it in zswap_trees[type]."""
        yield Call("zswap_swapon (6.8): kzalloc tree; zswap_trees[type] = tree", self._init_type)

    def _init_type(self) -> None:
        self.tree = self.heap.alloc("zswap_tree", {"rb_node": None, "lock": None})
        self.heap.set(self.trees, "tree", self.tree)

    def writeback(self) -> Steps:
        """One shrink_memcg (6.8) pass: list_lru_walk_one(nr_to_walk = 1) -> shrink_memcg_cb."""
        who = "shrink_memcg_cb (6.8)"
        picked = yield Call(
            f"list_lru_walk_one (6.8): lru lock; {who}: swpoffset, tree = zswap_trees[type], "
            "list_lru_isolate; unlock",
            self._isolate_head,
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
        if result:
            yield Call(f"{who}: zswap_lru_putback (LRU_RETRY)", self._putback, entry)
        else:
            erased = yield Call(
                f"{who}: zswap_invalidate_entry: zswap_rb_erase", self._unlink, entry
            )
            if erased:
                yield from self.entry_put(entry, f"{who}: zswap_invalidate_entry")
        yield from self.entry_put(entry, f"{who}: drop local reference")
        yield Release(tree, "lock", f"{who}: spin_unlock(&tree->lock)")

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
        yield Call(f"{who}: __zswap_load; folio_mark_uptodate", self._decompress, entry, folio)
        yield from self.swap.swap_writepage(offset, folio)
        return 0

    # -- single steps ----------------------------------------------------------------------
    def _new_entry(self) -> MemObject:
        entry = self.heap.alloc("zswap_entry", {"refcount": 1})
        rbtree.init_node(self.heap, entry)
        return entry

    def _fill(self, entry: MemObject, offset: int, handle: MemObject, data: Any) -> None:
        zpool.write(self.heap, handle, data)
        self.heap.set(entry, "offset", offset)
        self.heap.set(entry, "handle", handle)
        self.heap.set(entry, "length", 1)

    def _over_limit(self) -> bool:
        """zswap_is_full, then zswap_pool_reached_full / zswap_can_accept (6.8)."""
        if self.limit is None:
            return False
        total = zpool.total_pages(self.heap, self.zpool)
        if self.limit < total:  # zswap_is_full: max_pages < pool pages
            self.heap.set(self.globals, "pool_reached_full", True)
            return True
        if self.heap.get(self.globals, "pool_reached_full"):
            if not self.limit * 90 // 100 > total:  # zswap_can_accept, accept_thr 90%
                return True
            self.heap.set(self.globals, "pool_reached_full", False)
        return False

    def _search(self, offset: int) -> MemObject | None:
        return rbtree.run(rbtree.rb_search(self.heap, self.tree, offset, "offset"))

    def _unlink(self, entry: MemObject) -> bool:
        """zswap_rb_erase (6.8): True if the entry was on the tree."""
        if not rbtree.node_in_tree(self.heap, entry):
            return False
        rbtree.run(rbtree.rb_erase(self.heap, self.tree, entry))
        rbtree.init_node(self.heap, entry)
        return True

    def _erase_at(self, offset: int) -> MemObject | None:
        entry = self._search(offset)
        if entry is not None and self._unlink(entry):
            return entry
        return None

    def _insert_publish(self, entry: MemObject) -> None:
        dup = rbtree.run(rbtree.rb_insert(self.heap, self.tree, entry, "offset"))
        if dup is not None:
            # "if a duplicate is found again here it means that something went
            # wrong in the swap cache": a WARN, reported as a bug-on.
            raise Violation(BUG_ON, f"WARN_ON(1) in zswap_store: duplicate {dup!r} at insert")
        list_lru.add(self.heap, self.lru, entry)

    def _get(self, entry: MemObject) -> None:
        self.set_refcount(entry, self.heap.get(entry, "refcount") + 1)

    def _find_get(self, offset: int) -> MemObject | None:
        entry = self._search(offset)
        if entry is not None:
            self._get(entry)
        return entry

    def _put(self, entry: MemObject) -> int:
        refcount: int = self.heap.get(entry, "refcount") - 1
        self.set_refcount(entry, refcount)  # WARN_ON_ONCE(refcount < 0): a refcount violation
        if refcount == 0 and rbtree.node_in_tree(self.heap, entry):
            raise Violation(BUG_ON, f"WARN_ON_ONCE(!RB_EMPTY_NODE) freeing {entry!r}")
        return refcount

    def _lru_del(self, entry: MemObject) -> None:
        list_lru.delete(self.heap, self.lru, entry)

    def _free(self, entry: MemObject) -> None:
        zpool.free(self.heap, self.zpool, self.heap.get(entry, "handle"))
        self.heap.free(entry, "zswap_entry_cache_free")

    def _decompress(self, entry: MemObject, page: MemObject) -> None:
        self.heap.set(page, "data", zpool.read(self.heap, self.heap.get(entry, "handle")))
        self.heap.set(page, "uptodate", True)

    def _exclusive(self, entry: MemObject, page: MemObject) -> bool:
        erased = self._unlink(entry)
        self.swap.folio_mark_dirty(page)
        return erased

    def _rotate(self, entry: MemObject) -> None:
        if list_lru.delete(self.heap, self.lru, entry):
            list_lru.add(self.heap, self.lru, entry)
        else:  # zswap_lru_del is a no-op on an isolated entry; zswap_lru_add re-links it
            list_lru.add(self.heap, self.lru, entry)

    def _putback(self, entry: MemObject) -> None:
        list_lru.putback(self.heap, self.lru, entry)

    def _isolate_head(self) -> tuple[MemObject, int, MemObject] | None:
        entry = list_lru.head(self.heap, self.lru)
        if entry is None:
            return None
        offset: int = self.heap.get(entry, "offset")
        tree: MemObject | None = self.heap.get(self.trees, "tree")
        if tree is None:
            raise Violation(BUG_ON, "zswap_trees[type] is NULL in shrink_memcg_cb")
        list_lru.delete(self.heap, self.lru, entry)  # list_lru_isolate
        return entry, offset, tree

    def _postorder(self) -> tuple[MemObject, ...]:
        return tuple(rbtree.postorder(self.heap, self.tree))

    def _free_tree(self) -> None:
        self.heap.free(self.tree, "kfree(tree)")
        self.heap.set(self.trees, "tree", None)

    # -- the checker's views ----------------------------------------------------------------
    def _entries(self) -> list[MemObject]:
        return [] if self.tree.freed else rbtree.nodes_peek(self.heap, self.tree)

    def holds(self, offset: int) -> Any:
        for entry in self._entries():
            if entry.fields.get("offset") == offset:
                handle = entry.fields.get("handle")
                return None if handle is None or handle.freed else handle.fields.get("data")
        return None

    def offsets(self) -> set[int]:
        return {e.fields["offset"] for e in self._entries() if "offset" in e.fields}

    def roots(self) -> list[MemObject]:
        return [self.trees, self.pool, self.globals]
