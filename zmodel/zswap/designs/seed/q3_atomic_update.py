"""Q3, "update both the data (zpage) and meta-data ('tree' in zswap) atomically".

Dan, 2 Jan 2013: "IIRC, to avoid races in zcache, it was necessary to update both
the data (zpage) and meta-data ('tree' in zswap, and tmem-data-structure in
zcache) atomically."  zswap-3.11 does not make the two one step: a store writes
the zpage (S5) before it takes ``tree->lock`` to insert the entry (S7), and the
entry and its zpage are freed after the lock is dropped (L5, I3, W5).  What it
keeps is an order: the data is complete before the entry is published, and the
zpage dies with the entry (``zswap_free_entry`` does both, at the last
reference).  The two variants break one half of that order each:

- ``q3-publish-before-data``: ``zswap_frontswap_store`` inserts the entry into
  the tree and drops the lock *before* it writes the zpage (``zswap_header`` and
  the compressed data);
- ``q3-free-zpage-first``: ``zswap_frontswap_invalidate_page`` frees the zpage
  (``zbud_free``) while the entry is still in the tree, and the entry struct is
  freed later, at its last reference, without its data.  A reference then pins
  metadata whose data is gone.

Simplification: each variant changes one path (store, invalidate); the others
keep 3.11's order.
"""

from __future__ import annotations

from typing import ClassVar

from zmodel.runtime import Acquire, Call, MemObject, Release, Violation
from zmodel.runtime.faults import USE_AFTER_FREE
from zmodel.zswap import zbud
from zmodel.zswap.designs.base import Steps
from zmodel.zswap.designs.zswap_311 import Zswap311

STORE = "zswap_frontswap_store"
INVALIDATE = "zswap_frontswap_invalidate_page"

SUITE_Q3 = (
    # A writeback reaches the new zpage through zbud's LRU while the store runs.
    ("store-vs-writeback", "store 1 A | writeback"),
    # Without the swap layer's per-slot serialisation a load, or a writeback past its
    # swapcache_prepare, holds a reference to the entry while the slot is freed.
    ("load-vs-free-unserialized", "serialize=off :: store 1 A :: load 1 | free 1"),
    ("writeback-vs-free-unserialized", "serialize=off :: store 1 A :: writeback | free 1"),
)


class Q3PublishBeforeData(Zswap311):
    """3.11 whose store publishes the entry in the tree before writing its zpage."""

    name = "q3-publish-before-data"
    description = "Q3: 3.11 whose store inserts the entry in the tree before writing its zpage"
    suite = SUITE_Q3
    expected: ClassVar[dict[str, frozenset[str]]] = {
        # A seed question's variant, never a kernel: found by the model, not in
        # kernel history (3.11's own windows keep 3.11's citations).
        # 3.11's own window: zbud_alloc puts the page on zbud's LRU before the header
        # is written.  The variant adds no other violation: see docs/seed-questions.md.
        "store-vs-writeback": frozenset({"uninitialised-read"}),
        "writeback-vs-free-unserialized": frozenset({"leak"}),  # the 2013 leak
    }

    def store(self, offset: int, page: MemObject) -> Steps:
        """zswap_frontswap_store (3.11) with S5 (zbud_map, memcpy) moved after S7."""
        full = yield Call(f"{STORE}: zswap_is_full", self._is_full)
        if full:
            ret = yield from zbud.zbud_reclaim_page(self.heap, self.pool, self.retries, self.evict)
            if ret != 0:
                return False
        entry = yield Call("zswap_entry_cache_alloc (refcount = 1)", self._new_entry)
        data = yield Call("zswap_comp_op: compress the page", self.heap.get, page, "data")
        handle = yield from zbud.zbud_alloc(self.heap, self.pool, self.may_fail)
        if handle is None:
            yield Call(f"{STORE}: zswap_entry_cache_free", self.heap.free, entry)
            return False
        yield Call(f"{STORE}: populate entry", self._populate, entry, offset, handle)
        yield Acquire(self.tree, "lock", f"{STORE}: spin_lock(&tree->lock)")
        while True:
            dup = yield Call(
                "zswap_rb_insert (Q3: before the zpage is written)", self._insert, entry
            )
            if dup is None:
                break
            refcount = yield Call(f"{STORE}: rb_erase(dup); put", self._erase_put, dup)
            if refcount == 0:
                yield from self.free_entry(dup)
        yield Release(self.tree, "lock", f"{STORE}: spin_unlock(&tree->lock)")
        yield Call(
            "zbud_map: zhdr->swpentry, memcpy data (Q3: after the entry is in the tree)",
            self._fill_zpage,
            handle,
            offset,
            data,
        )
        yield Call(f"{STORE}: stored_pages++, pool_pages", self._account, 1)
        return True


class Q3FreeZpageFirst(Zswap311):
    """3.11 whose invalidate frees the zpage before the entry leaves the tree."""

    name = "q3-free-zpage-first"
    description = "Q3: 3.11 whose invalidate frees the zpage (zbud_free) before rb_erase"
    suite = SUITE_Q3
    expected: ClassVar[dict[str, frozenset[str]]] = {
        # A seed question's variant, never a kernel: found by the model, not in
        # kernel history (3.11's own windows keep 3.11's citations).
        "store-vs-writeback": frozenset({"uninitialised-read"}),  # as 3.11
        # A reference pins the entry, not its zpage.
        "load-vs-free-unserialized": frozenset({"use-after-free"}),
        "writeback-vs-free-unserialized": frozenset({"use-after-free", "leak"}),
    }

    def invalidate_page(self, offset: int) -> Steps:
        """zswap_frontswap_invalidate_page (3.11), I1-I3, with zbud_free moved before I2."""
        yield Acquire(self.tree, "lock", f"{INVALIDATE}: spin_lock")
        entry = yield Call(f"{INVALIDATE}: zswap_rb_search", self._search, offset)
        if entry is None:
            yield Release(self.tree, "lock", f"{INVALIDATE}: spin_unlock")
            return
        handle = yield Call(f"{INVALIDATE}: entry->handle", self.heap.get, entry, "handle")
        # zbud_free's steps are labelled by zbud; this is where the variant calls it.
        yield from zbud.zbud_free(self.heap, self.pool, handle)
        yield Call(
            f"{INVALIDATE}: entry->handle = 0 (Q3: zpage freed, entry still in the tree)",
            self.heap.set,
            entry,
            "handle",
            None,
        )
        refcount = yield Call(f"{INVALIDATE}: rb_erase; zswap_entry_put", self._erase_put, entry)
        yield Release(self.tree, "lock", f"{INVALIDATE}: spin_unlock")
        if refcount != 0:
            return  # a reference holder frees the entry, and finds no zpage to free
        yield from self.free_entry(entry)

    def free_entry(self, entry: MemObject) -> Steps:
        """zswap_free_entry (3.11), skipping zbud_free when invalidate already did it."""
        handle = yield Call("zswap_free_entry: entry->handle", self.heap.get, entry, "handle")
        if handle is not None:
            yield from zbud.zbud_free(self.heap, self.pool, handle)
        yield Call("zswap_free_entry: zswap_entry_cache_free", self._release_entry, entry)

    def _decompress(self, entry: MemObject, page: MemObject) -> None:
        """zbud_map + decompress: through a zero handle, the zpage is gone."""
        if self.heap.get(entry, "handle") is None:
            raise Violation(
                USE_AFTER_FREE,
                f"zbud_map of a zero handle: invalidate freed {entry!r}'s zpage under a reference",
            )
        super()._decompress(entry, page)
