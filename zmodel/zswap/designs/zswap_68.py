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

Pools (zswap_pools.py with ``kref=True``): each entry holds a reference to its
pool (``entry->pool = zswap_pool_current_get()``, put by ``zswap_free_entry``);
each pool owns its ``list_lru`` (the writeback paths are in
zswap_68_writeback.py); ``pool_switch`` makes a new current pool and puts the
old one, released with its last user, the shrink work a store over the limit
queues among them.

Per-CPU contexts (``cpus=N``; acomp_ctx.py): ``zswap_store`` takes
``raw_cpu_ptr(entry->pool->acomp_ctx)`` then its mutex, and ``__zswap_load``
the same; ``zswap_cpu_comp_dead`` frees the request and buffer without the
mutex.  6.8 takes the context exactly as 6.12 does, so it has CVE-2025-21693
too (the race came with 1ec3b5fe6eec, 5.11, and was fixed in 6.13 by
12dcb0ef5406): the hotplug scenarios' expected use-after-free.

Simplifications: one swap type, one memcg, no objcg charging, no same-filled
pages; without ``cpus=`` each thread is its own CPU and the contexts are not
modelled (never contended, never freed); a pool's release work
(``__zswap_pool_release``) runs in the thread whose put reached zero, after it
drops the tree lock it held (a kworker would run it later);
``zswap_pool_total_size`` is the live sum over the listed pools instead of the
copy ``zswap_update_total_size`` refreshes.
"""

from __future__ import annotations

from typing import ClassVar

from zmodel.runtime import Acquire, Call, Choose, Heap, MemObject, Release
from zmodel.zswap import rbtree, zpool
from zmodel.zswap.acomp_ctx import AcompCtxs, CtxSync
from zmodel.zswap.designs.base import Design, Steps
from zmodel.zswap.designs.pool_paths import PoolPaths
from zmodel.zswap.designs.zswap_68_tree import Tree68
from zmodel.zswap.designs.zswap_68_writeback import EEXIST, ENOMEM, Writeback68
from zmodel.zswap.scenario import OPTIONAL_OPS, OpKind, Scenario
from zmodel.zswap.swap import SwapLayer
from zmodel.zswap.zswap_pools import ZswapPools

__all__ = ["EEXIST", "ENOMEM", "SUITE_68", "Zswap68"]

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
    # CVE-2025-21693 (6.8 takes the context as 6.12 does): expected use-after-free.
    ("hotplug-vs-store", "cpus=2 :: store 1 A | cpu_offline 0"),
    ("hotplug-vs-load", "cpus=2 :: store 1 A :: load 1 | cpu_offline 0"),
    # The old pool lives while an entry (or the shrink work) holds it.
    ("pool-switch-vs-writeback", "store 1 A :: pool_switch | writeback"),
    ("pool-switch-vs-free", "store 1 A :: pool_switch | free 1"),
    ("pool-switch-vs-load", "cpus=2 :: store 1 A :: pool_switch | load 1"),
    ("shrink-work-vs-switch", "pool_pages=0 :: store 1 A :: store 2 B | pool_switch; free 1"),
)


class Zswap68(Tree68, Writeback68, PoolPaths, Design):
    name = "zswap-6.8"
    kernel = "6.8.1"
    description = (
        "6.8: rbtree + refcount, zswap-owned list_lru shrinker, exclusive loads, no frontswap"
    )
    frontswap = False
    ops: ClassVar[frozenset[OpKind]] = OPTIONAL_OPS  # every one the model has
    version = "6.8"
    #: How __zswap_load / zswap_store and the hotplug callbacks synchronise (as 6.12).
    ctx_sync: ClassVar[CtxSync] = CtxSync.NONE
    refcount_range = (0, None)  # zswap_entry_put: WARN_ON_ONCE(refcount < 0)
    suite = SUITE_68
    expected: ClassVar[dict[str, frozenset[str]]] = {
        # shrink_memcg_cb locks a tree that swapoff has kfree'd (fixed in 6.9 by
        # 5878303c5353, "mm/zswap: fix race between lru writeback and swapoff").
        "swapoff-vs-writeback": frozenset({"use-after-free"}),
        # CVE-2025-21693: the task migrates between raw_cpu_ptr and the use of the
        # context, its old CPU goes down, zswap_cpu_comp_dead frees req and buffer
        # (no lock) under it.  Fixed in 6.13 by 12dcb0ef5406 (see zswap-6.13).
        "hotplug-vs-store": frozenset({"use-after-free"}),
        "hotplug-vs-load": frozenset({"use-after-free"}),
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
        # The old pool is released by the put of its last entry.
        "pool-switch-vs-free": (
            "zswap_invalidate (6.8): zswap_invalidate_entry: __zswap_pool_empty:"
            " WARN_ON(pool == current); list_del_rcu",
        ),
        # The shrink work holds the old pool; the work's put may be the last.
        "shrink-work-vs-switch": (
            "shrink_worker (6.8): __zswap_pool_empty: WARN_ON(pool == current); list_del_rcu",
        ),
    }
    #: zswap.exclusive_loads (6.8 module parameter): its boot default.
    exclusive_loads: ClassVar[bool] = False
    knobs: ClassVar[frozenset[str]] = frozenset(
        {"exclusive_loads", "swapcache_bypass", "slot_cache", "cpus"}
    )

    def __init__(self, heap: Heap, swap: SwapLayer, scenario: Scenario) -> None:
        super().__init__(heap, swap, scenario)
        # zswap_swapon (6.8): kzalloc the tree and publish it in zswap_trees[type].
        self.tree = heap.alloc("zswap_tree", {"rb_node": None, "lock": None})
        self.trees = heap.alloc("zswap_trees", {"tree": self.tree}, root=True)
        cpus = swap.cpus
        self.ctxs = AcompCtxs(heap, cpus, self.ctx_sync, self.may_fail) if cpus else None
        self.pools = ZswapPools(heap, self.ctxs, self.may_fail, None, kref=True)
        self.globals = heap.alloc(
            "zswap_globals", {"pool_reached_full": False, "zswap_enabled": True}, root=True
        )
        self.limit: int | None = scenario.option("pool_pages")
        knob = scenario.option("exclusive_loads")
        self.exclusive = self.exclusive_loads if knob is None else bool(knob)

    # -- refcount (caller holds tree->lock) ---------------------------------------------
    def entry_put(self, entry: MemObject, who: str) -> Steps:
        """zswap_entry_put (6.8): frees at zero (WARN_ON_ONCE if still on the tree).
        Returns the pool whose reference the free dropped to zero, or None."""
        refcount = yield Call(f"{who}: zswap_entry_put", self._put, entry)
        if refcount == 0:
            return (yield from self.free_entry(entry, who))
        return None

    def free_entry(self, entry: MemObject, who: str) -> Steps:
        """zswap_free_entry (6.8): zswap_lru_del, zpool_free, zswap_pool_put, cache free.
        Returns the pool if that put was its last (released by the caller, unlocked)."""
        yield Call(f"{who}: zswap_free_entry: zswap_lru_del", self._lru_del, entry)
        pool: MemObject | None = yield Call(
            f"{who}: zswap_free_entry: zpool_free; zswap_pool_put; zswap_entry_cache_free",
            self._free,
            entry,
        )
        return pool

    def release(self, freed: tuple[MemObject | None, ...], who: str) -> Steps:
        """__zswap_pool_empty and the release work of each pool a put took to zero."""
        for i in range(len(freed)):
            yield from self.pools.release_if(freed[i], who)

    # -- the lock scope -------------------------------------------------------------------
    def tree_lock(self, label: str, tree: MemObject | None = None) -> Steps:
        """spin_lock(&tree->lock) (6.8): every tree lock of every path takes it here
        (``tree``: the one shrink_memcg_cb read from zswap_trees[type]; else the current)."""
        yield Acquire(self.tree if tree is None else tree, "lock", label)

    def tree_unlock(self, label: str, tree: MemObject | None = None) -> Steps:
        """spin_unlock(&tree->lock) (6.8)."""
        yield Release(self.tree if tree is None else tree, "lock", label)

    # -- the paths the swap layer calls -------------------------------------------------
    def store(self, offset: int, page: MemObject) -> Steps:
        """zswap_store (6.8).  Folio locked and in the swap cache."""
        yield from self.store_drop_dup(offset)
        if not (yield from self.store_may_store()):
            return False
        entry = yield from self.store_alloc_entry()
        if entry is None:
            return False
        if not (yield from self.store_compress(entry, offset, page)):
            return False
        yield from self.store_insert(entry)
        return True

    def store_drop_dup(self, offset: int) -> Steps:
        """zswap_store (6.8): "If this is a duplicate, it must be removed before attempting
        to store it": zswap_rb_search and zswap_invalidate_entry under tree->lock."""
        who = "zswap_store (6.8)"
        yield from self.tree_lock(f"{who}: spin_lock(&tree->lock)")
        dup = yield Call(
            f"{who}: zswap_rb_search; zswap_invalidate_entry: zswap_rb_erase",
            self._erase_at,
            offset,
        )
        freed: tuple[MemObject | None, ...] = ()
        if dup is not None:
            freed += ((yield from self.entry_put(dup, f"{who}: zswap_invalidate_entry(dup)")),)
        yield from self.tree_unlock(f"{who}: spin_unlock(&tree->lock)")
        yield from self.release(freed, who)

    def store_may_store(self) -> Steps:
        """zswap_store (6.8): zswap_enabled, then zswap_is_full / zswap_can_accept; over
        the limit, the ``shrink:`` label queues the shrink work.  False: reject."""
        who = "zswap_store (6.8)"
        # zswap.enabled is read only when a scenario writes it (else it is constant).
        if self.toggles and not (yield Call(f"{who}: zswap_enabled?", self._enabled)):
            return False
        full = yield Call(f"{who}: zswap_is_full / zswap_can_accept", self._over_limit)
        if full:
            yield from self.queue_shrink_work(who)
            return False  # goto reject
        return True

    def store_alloc_entry(self) -> Steps:
        """zswap_store (6.8): zswap_entry_cache_alloc, entry->pool = zswap_pool_current_get()
        (None: the allocation failed, or no pool: freepage)."""
        who = "zswap_store (6.8)"
        if self.may_fail:
            ok = yield Choose(f"{who}: zswap_entry_cache_alloc", (True, False))
            if not ok:
                return None
        entry: MemObject | None = yield Call(
            f"{who}: zswap_entry_cache_alloc (refcount 1, RB_CLEAR_NODE);"
            " entry->pool = zswap_pool_current_get()",
            self._new_entry,
        )
        return entry

    def store_compress(self, entry: MemObject, offset: int, page: MemObject) -> Steps:
        """zswap_store (6.8) from ``/* compress */`` to ``/* populate entry */``: under this
        CPU's context mutex (``cpus=``) compress, zpool_malloc and memcpy; on failure
        ``put_pool`` and ``freepage``.  False if the entry was dropped."""
        who = "zswap_store (6.8)"
        ctx = None
        if self.ctxs is not None:
            ctx = yield from self.acomp_ctx_lock(entry, who)
        data = yield Call(f"{who}: crypto_acomp_compress", self._compress, ctx, page)
        zpool_of = self.heap.peek(self.heap.peek(entry, "pool"), "zpool")  # held: constant
        handle = yield from zpool.zpool_malloc(self.heap, zpool_of, self.may_fail, who)
        if handle is not None:
            yield Call(
                f"{who}: zpool_map_handle; memcpy; populate entry",
                self._populate,
                ctx,
                entry,
                offset,
                handle,
                data,
            )
        if ctx is not None:
            yield from self.acomp_ctx_unlock(ctx, who)
        if handle is None:
            pool = yield Call(
                f"{who}: put_pool: zswap_pool_put; freepage: zswap_entry_cache_free",
                self._put_entry_pool,
                entry,
            )
            yield from self.pools.release_if(pool, f"{who}: put_pool")
            return False
        return True

    def store_insert(self, entry: MemObject) -> Steps:
        """zswap_store (6.8) ``/* map */``: zswap_rb_insert and zswap_lru_add under tree->lock.

        The lru add is observable only through the lru lock, and nothing can see
        the tree in between (tree->lock is held): one step is exact."""
        who = "zswap_store (6.8)"
        yield from self.tree_lock(f"{who}: spin_lock(&tree->lock)")
        yield Call(f"{who}: zswap_rb_insert; zswap_lru_add", self._insert_publish, entry)
        yield from self.tree_unlock(f"{who}: spin_unlock(&tree->lock)")

    def load(self, offset: int, page: MemObject) -> Steps:
        """zswap_load (6.8).  Folio locked (in the swap cache here)."""
        entry = yield from self.load_find_get(offset)
        if entry is None:
            return False
        label = "zswap_load (6.8): __zswap_load: zpool_map_handle; decompress"
        yield from self.decompress(entry, page, label)
        yield from self.load_done(entry, page)
        return True

    def load_find_get(self, offset: int) -> Steps:
        """zswap_load (6.8): zswap_entry_find_get under tree->lock (None: no entry)."""
        who = "zswap_load (6.8)"
        yield from self.tree_lock(f"{who}: spin_lock(&tree->lock)")
        entry: MemObject | None = yield Call(f"{who}: zswap_entry_find_get", self._find_get, offset)
        if entry is None:
            yield from self.tree_unlock(f"{who}: spin_unlock (no entry)")
            return None
        yield from self.tree_unlock(f"{who}: spin_unlock(&tree->lock)")
        return entry

    def load_done(self, entry: MemObject, page: MemObject) -> Steps:
        """zswap_load (6.8) after the decompression, under tree->lock: exclusive loads
        invalidate the entry (``load_invalidate``), else it is rotated on the LRU; then
        the local reference is dropped (``load_put``)."""
        who = "zswap_load (6.8)"
        yield from self.tree_lock(f"{who}: spin_lock(&tree->lock)")
        freed: tuple[MemObject | None, ...] = ()
        if self.exclusive:
            freed += ((yield from self.load_invalidate(entry, page)),)
        else:
            yield Call(f"{who}: zswap_lru_del; zswap_lru_add (rotate)", self._rotate, entry)
        freed += ((yield from self.load_put(entry)),)
        yield from self.tree_unlock(f"{who}: spin_unlock(&tree->lock)")
        yield from self.release(freed, who)

    def load_invalidate(self, entry: MemObject, page: MemObject) -> Steps:
        """zswap_load (6.8) with exclusive loads: zswap_invalidate_entry, folio_mark_dirty
        (tree->lock held); the pool a free took to zero, or None."""
        who = "zswap_load (6.8)"
        erased = yield Call(
            f"{who}: zswap_invalidate_entry: zswap_rb_erase; folio_mark_dirty",
            self._exclusive,
            entry,
            page,
        )
        if not erased:
            return None
        return (yield from self.entry_put(entry, f"{who}: zswap_invalidate_entry"))

    def load_put(self, entry: MemObject) -> Steps:
        """zswap_load (6.8): "drop local reference", zswap_entry_put (tree->lock held)."""
        return (yield from self.entry_put(entry, "zswap_load (6.8): drop local reference"))

    def invalidate_page(self, offset: int) -> Steps:
        """zswap_invalidate (6.8), from swap_range_free when the slot is freed."""
        yield from self.invalidate_erase_put(offset)

    def invalidate_erase_put(self, offset: int) -> Steps:
        """zswap_invalidate (6.8): zswap_rb_search and zswap_invalidate_entry under
        tree->lock, then the release of a pool the free took to zero."""
        who = "zswap_invalidate (6.8)"
        yield from self.tree_lock(f"{who}: spin_lock(&tree->lock)")
        entry = yield Call(
            f"{who}: zswap_rb_search; zswap_invalidate_entry: zswap_rb_erase",
            self._erase_at,
            offset,
        )
        freed: tuple[MemObject | None, ...] = ()
        if entry is not None:
            freed += ((yield from self.entry_put(entry, f"{who}: zswap_invalidate_entry")),)
        yield from self.tree_unlock(f"{who}: spin_unlock(&tree->lock)")
        yield from self.release(freed, f"{who}: zswap_invalidate_entry")

    def invalidate_area(self) -> Steps:
        """zswap_swapoff (6.8): free every entry (refcounts ignored), kfree(tree)."""
        who = "zswap_swapoff (6.8)"
        yield from self.tree_lock(f"{who}: spin_lock(&tree->lock)")
        freed = yield from self.swapoff_free_entries()
        yield from self.tree_unlock(f"{who}: spin_unlock(&tree->lock)")
        yield from self.release(freed, who)
        yield Call(f"{who}: kfree(tree); zswap_trees[type] = NULL", self._free_tree)

    def swapoff_free_entries(self) -> Steps:
        """zswap_swapoff (6.8) under tree->lock: rbtree_postorder_for_each_entry_safe
        zswap_free_entry, then an empty root; the pools those frees took to zero."""
        who = "zswap_swapoff (6.8)"
        entries = yield Call(f"{who}: rbtree_postorder_for_each_entry_safe", self._postorder)
        freed: tuple[MemObject | None, ...] = ()
        for entry in entries:
            freed += ((yield from self.free_entry(entry, who)),)
        yield Call(f"{who}: tree->rbroot = RB_ROOT", self.heap.set, self.tree, "rb_node", None)
        return freed

    def swapon(self) -> Steps:
        """zswap_swapon (6.8) at swapon: kzalloc a tree, publish it in zswap_trees[type]."""
        yield Call("zswap_swapon (6.8): kzalloc tree; zswap_trees[type] = tree", self._init_type)

    def _init_type(self) -> None:
        self.tree = self.heap.alloc("zswap_tree", {"rb_node": None, "lock": None})
        self.heap.set(self.trees, "tree", self.tree)

    # -- single steps ----------------------------------------------------------------------
    def _new_entry(self) -> MemObject | None:
        entry = super()._new_entry()  # PoolPaths: the entry and zswap_pool_current_get
        if entry is not None:
            self.heap.set(entry, "refcount", 1)
            rbtree.init_node(self.heap, entry)
        return entry
