"""Q4: zswap-2013 without its per-entry refcount.

Seth, 2 Jan 2013: "Without the flushing mechanism, a simple lock guarding the
tree was enough in zswap. ... However, once the flushing code was introduced
and could free an entry from the zswap_fs_store() path, it became necessary to
add a per-entry refcount to make sure that the entry isn't freed while another
code path was operating on it."

This variant keeps the flush of "[PATCHv4 6/7] zswap: add flushing support" but
guards entries as the code before that patch did: the tree lock alone.  Every
``zswap_entry_get`` / ``zswap_entry_put`` is gone, and whoever unlinks an
entry frees it:
- load: search and take it off the LRU under the lock, decompress unlocked,
  put it back on the LRU under the lock (pre-flush load held no reference);
- invalidate and the duplicate store: erase, unlink, free (pre-flush code);
- flush: dequeue without a reference; if the page is already in the swap
  cache, "ignore for now" and leave the entry in the tree; else write it back,
  then erase it and free it.
"""

from __future__ import annotations

from typing import ClassVar

from zmodel.runtime import Call, MemObject
from zmodel.zswap.designs.base import Steps
from zmodel.zswap.designs.zswap_2013 import SUITE_2013, V4, Zswap2013
from zmodel.zswap.swap import EXIST, NOMEM

ENOMEM = -12


class Zswap2013NoRefcount(Zswap2013):
    name = "zswap-2013-norefcount"
    kernel = "v4 Jan 2013 (pre-merge), refcount removed"
    description = "Q4: zswap-2013 with flush but no per-entry refcount (a plain tree lock)"
    suite = SUITE_2013
    dequeue_label = "list_first_entry(&tree->lru), list_del (no reference taken)"
    expected: ClassVar[dict[str, frozenset[str]]] = {
        # Q4's hypothetical variant (the series without get/put), never a kernel:
        # found by the model; the refcount of the real series prevents these.
        # Flush holds an entry with nothing pinning it.  An invalidate (the slot
        # freed) erases and frees it under flush: flush reads the freed entry, or,
        # if the invalidate came after the writeback but before flush's erase,
        # erases it a second time (tree-corruption; a double free would follow).
        "writeback-vs-free": frozenset({"use-after-free", "tree-corruption"}),
        "two-slots-writeback": frozenset({"use-after-free", "tree-corruption"}),
        "store-flush-vs-free": frozenset({"use-after-free", "tree-corruption"}),
        "swapoff-vs-writeback": frozenset({"use-after-free", "tree-corruption"}),
        # A re-store replaces and frees the entry flush is writing back.
        "writeback-vs-restore": frozenset({"use-after-free"}),
        # Same as zswap-2013: the LRU relink race does not involve the refcount.
        "load-vs-writeback": frozenset({"use-after-free"}),
        "entry-alloc-failure": frozenset({"leak"}),
    }

    # zswap-2013's skeletons; the steps that took or dropped a reference are these.
    def load_find_get(self, offset: int) -> Steps:
        """zswap_frontswap_load (v4) without get: search, list_del under tree->lock."""
        who = f"zswap_frontswap_load {V4}, no refcount"
        yield from self.tree_lock(f"{who}: spin_lock(&tree->lock)")
        entry = yield Call(
            f"{who}: zswap_rb_search; list_del(lru) unless LIST_POISON1",
            self._search_unlink,
            offset,
        )
        if entry is None:
            yield from self.tree_unlock(f"{who}: spin_unlock (entry was flushed)")
            return None
        yield from self.tree_unlock(f"{who}: spin_unlock(&tree->lock)")
        return entry

    def load_decompress(self, entry: MemObject, page: MemObject) -> Steps:
        """zswap_frontswap_load (v4): decompress, nothing pinning the entry."""
        who = f"zswap_frontswap_load {V4}, no refcount"
        yield from self.zpool.zs_read((entry, "handle"), who, (self._fill_page, page))

    def load_put(self, entry: MemObject) -> Steps:
        """zswap_frontswap_load (v4) without put: back on the LRU under tree->lock;
        None (no count: the load never frees)."""
        who = f"zswap_frontswap_load {V4}, no refcount"
        yield from self.tree_lock(f"{who}: spin_lock(&tree->lock)")
        yield Call(f"{who}: list_add_tail(&entry->lru, &tree->lru)", self._lru_add, entry, False)
        yield from self.tree_unlock(f"{who}: spin_unlock(&tree->lock)")
        return None

    def invalidate_erase_put(self, offset: int) -> Steps:
        """zswap_frontswap_invalidate_page (v4) without put: search, rb_erase, list_del
        under tree->lock; (entry, 0): the remover frees it."""
        who = f"zswap_frontswap_invalidate_page {V4}, no refcount"
        yield from self.tree_lock(f"{who}: spin_lock(&tree->lock)")
        entry = yield Call(
            f"{who}: zswap_rb_search; rb_erase; list_del(lru) unless LIST_POISON1",
            self._search_erase,
            offset,
        )
        yield from self.tree_unlock(f"{who}: spin_unlock(&tree->lock)")
        return None if entry is None else (entry, 0)

    def flush_entry(self, entry: MemObject) -> Steps:
        """zswap_flush_entry (v4) without put: write back, erase, free."""
        who = f"zswap_flush_entry {V4}, no refcount"
        offset = yield Call(f"{who}: swp_entry(entry->type, entry->offset)", self._offset, entry)
        status, page = yield from self.swap.get_swap_cache_page(offset)
        if status == NOMEM:
            return ENOMEM, 0, 0
        if status == EXIST:
            return 0, 0, 0  # "page is already in the swap cache, ignore for now"
        yield from self.flush_write(entry, offset, page)
        return 0, 1, (yield from self.flush_done(entry))

    def flush_write(self, entry: MemObject, offset: int, page: MemObject) -> Steps:
        """zswap_flush_entry (v4): decompress into the new page, __swap_writepage."""
        who = f"zswap_flush_entry {V4}, no refcount"
        yield from self.zpool.zs_read((entry, "handle"), who, (self._fill_flushed, entry, page))
        yield from self.swap.swap_writepage(offset, page)

    def flush_done(self, entry: MemObject) -> Steps:
        """zswap_flush_entry (v4) without put: rb_erase under tree->lock, free."""
        who = f"zswap_flush_entry {V4}, no refcount"
        yield from self.tree_lock(f"{who}: spin_lock(&tree->lock)")
        yield Call(f"{who}: rb_erase", self._erase, entry)
        yield from self.tree_unlock(f"{who}: spin_unlock(&tree->lock)")
        return (yield from self.free_entry(entry, "zswap_flush_entry"))

    # -- single steps without the refcount ------------------------------------------
    def _dequeue(self) -> MemObject | None:
        return self._lru_pop()

    def _drop_dup(self, dup: MemObject) -> int:
        self._erase(dup)
        self._lru_del(dup)
        return 0  # the store frees it, under the tree lock

    def _search_unlink(self, offset: int) -> MemObject | None:
        entry = self._search(offset)
        if entry is not None:
            self._lru_del(entry)
        return entry

    def _search_erase(self, offset: int) -> MemObject | None:
        entry = self._search(offset)
        if entry is not None:
            self._erase(entry)
            self._lru_del(entry)
        return entry
