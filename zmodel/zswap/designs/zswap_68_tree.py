"""zswap-6.8's state as single steps, and the checker's views: a mixin of ``Zswap68``.

Each method is one atomic step's body (the caller holds ``tree->lock`` where the
kernel does): ``zswap_rb_search``, ``zswap_rb_erase`` (unlink only if on the
tree), ``zswap_rb_insert`` with the lru add, the plain ``int refcount``'s get
and put (a put to zero on an entry still on the tree is 6.8's
``WARN_ON_ONCE(!RB_EMPTY_NODE)``), the entry's allocation and fill, the limit,
the LRU rotation, swapoff's postorder walk and ``kfree(tree)``.  The views
(``holds``, ``offsets``, ``roots``) only peek.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from zmodel.runtime import MemObject, Violation
from zmodel.runtime.faults import BUG_ON
from zmodel.zswap import list_lru, rbtree, zpool


class Tree68:
    """6.8's single steps (zswap_rb_*, the refcount, the entry, the limit) and views."""

    if TYPE_CHECKING:  # what the mixin uses of Zswap68 (declared, never defined here)
        from zmodel.runtime import Heap
        from zmodel.zswap.swap import SwapLayer
        from zmodel.zswap.zswap_pools import ZswapPools

        heap: Heap
        swap: SwapLayer
        pools: ZswapPools
        tree: MemObject
        trees: MemObject
        globals: MemObject
        limit: int | None

        def set_refcount(self, entry: MemObject, value: int) -> None: ...
        def _lru_of(self, entry: MemObject) -> MemObject: ...
        def _memcpy(self, ctx: MemObject | None, handle: MemObject, data: Any) -> None: ...

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
        list_lru.add(self.heap, self._lru_of(entry), entry)

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

    def _postorder(self) -> tuple[MemObject, ...]:
        return tuple(rbtree.postorder(self.heap, self.tree))

    def _free_tree(self) -> None:
        self.heap.free(self.tree, "kfree(tree)")
        self.heap.set(self.trees, "tree", None)

    # -- single steps ----------------------------------------------------------------------
    def _populate(
        self, ctx: MemObject | None, entry: MemObject, offset: int, handle: MemObject, data: Any
    ) -> None:
        self._memcpy(ctx, handle, data)
        self.heap.set(entry, "offset", offset)
        self.heap.set(entry, "handle", handle)
        self.heap.set(entry, "length", 1)

    def _over_limit(self) -> bool:
        """zswap_is_full, then zswap_pool_reached_full / zswap_can_accept (6.8)."""
        if self.limit is None:
            return False
        total = self.pools.total_pages()
        if self.limit < total:  # zswap_is_full: max_pages < pool pages
            self.heap.set(self.globals, "pool_reached_full", True)
            return True
        if self.heap.get(self.globals, "pool_reached_full"):
            if not self.limit * 90 // 100 > total:  # zswap_can_accept, accept_thr 90%
                return True
            self.heap.set(self.globals, "pool_reached_full", False)
        return False

    def _lru_del(self, entry: MemObject) -> None:
        list_lru.delete(self.heap, self._lru_of(entry), entry)

    def _decompress(self, entry: MemObject, page: MemObject) -> None:
        self.heap.get(self.heap.get(entry, "pool"), "zpool")  # zswap_find_zpool(entry)
        self.heap.set(page, "data", zpool.read(self.heap, self.heap.get(entry, "handle")))
        self.heap.set(page, "uptodate", True)

    def _exclusive(self, entry: MemObject, page: MemObject) -> bool:
        erased = self._unlink(entry)
        self.swap.folio_mark_dirty(page)
        return erased

    def _rotate(self, entry: MemObject) -> None:
        # zswap_lru_del is a no-op on an isolated entry; zswap_lru_add (re-)links it
        lru = self._lru_of(entry)
        list_lru.delete(self.heap, lru, entry)
        list_lru.add(self.heap, lru, entry)

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
        return [self.trees, self.globals, self.pools.head, *self.pools.pools]
