"""The state of zswap-2013 and its single steps (a mixin of ``Zswap2013``).

One rbtree of entries and the entry LRU (``tree->lru``) under the tree lock, the
``int refcount``, the stats: each method is part of one atomic step (a ``Call``
of a path in zswap_2013.py) or a checker's view.  The LRU is a tuple on the
tree, head first, and each entry's membership is its ``lru`` field: ``"init"``,
``"on"``, or ``"poison"`` (after list_del).  list_del and list_add write the
neighbours' links, so a freed entry left on the list is a use-after-free as
soon as a neighbour moves.
"""

from __future__ import annotations

from typing import Any

from zmodel.runtime import Heap, MemObject, Violation
from zmodel.runtime.faults import BUG_ON
from zmodel.zswap import rbtree
from zmodel.zswap.designs.tree_311 import IntRefcount
from zmodel.zswap.zsmalloc import ZsPool


class Tree2013(IntRefcount):
    """zswap-2013's tree, entry LRU and stats, transition by transition."""

    heap: Heap
    tree: MemObject
    stats: MemObject
    zpool: ZsPool

    # -- single steps ---------------------------------------------------------------
    def _new_entry(self) -> MemObject:
        entry = self.heap.alloc("zswap_entry", {"refcount": 1, "lru": "init"})
        rbtree.init_node(self.heap, entry)
        return entry

    def _populate(self, entry: MemObject, offset: int, handle: MemObject) -> None:
        self.heap.set(entry, "offset", offset)
        self.heap.set(entry, "handle", handle)
        self.heap.set(entry, "length", 1)

    def _offset(self, entry: MemObject) -> int:
        offset: int = self.heap.get(entry, "offset")
        return offset

    def _search(self, offset: int) -> MemObject | None:
        return rbtree.run(rbtree.rb_search(self.heap, self.tree, offset, "offset"))

    def _insert(self, entry: MemObject) -> MemObject | None:
        dup = rbtree.run(rbtree.rb_insert(self.heap, self.tree, entry, "offset"))
        if dup is None:
            self._lru_add(entry, False)
        return dup

    def _erase(self, entry: MemObject) -> None:
        rbtree.run(rbtree.rb_erase(self.heap, self.tree, entry))
        # v4 has no RB_CLEAR_NODE; the model clears the node so that a second
        # erase is reported (tree-corruption) instead of relinking stale pointers.
        rbtree.init_node(self.heap, entry)

    def _touch(self, entry: MemObject) -> None:
        """A neighbour's prev/next pointer is written (a freed neighbour faults)."""
        self.heap.set(entry, "lru", self.heap.get(entry, "lru"))

    def _lru_del(self, entry: MemObject) -> None:
        """list_del, guarded like the v4 callers: skipped when ``lru.next == LIST_POISON1``."""
        state = self.heap.get(entry, "lru")
        if state == "on":
            lru = self.heap.get(self.tree, "lru")
            i = lru.index(entry)
            for neighbour in (lru[i - 1] if i else None, lru[i + 1] if i + 1 < len(lru) else None):
                if neighbour is not None:
                    self._touch(neighbour)
            self.heap.set(self.tree, "lru", lru[:i] + lru[i + 1 :])
        if state != "poison":
            self.heap.set(entry, "lru", "poison")

    def _lru_add(self, entry: MemObject, head: bool) -> None:
        """list_add (head) or list_add_tail: adding an entry already on the list corrupts it."""
        if self.heap.get(entry, "lru") == "on":
            raise Violation(BUG_ON, f"list_add of {entry!r}, already on tree->lru: list corrupted")
        lru = self.heap.get(self.tree, "lru")
        if lru:
            self._touch(lru[0] if head else lru[-1])
        self.heap.set(self.tree, "lru", (entry, *lru) if head else (*lru, entry))
        self.heap.set(entry, "lru", "on")

    def _lru_pop(self) -> MemObject | None:
        """list_first_entry(&tree->lru) and list_del, or None if the list is empty."""
        lru = self.heap.get(self.tree, "lru")
        if not lru:
            return None
        entry: MemObject = lru[0]
        self._lru_del(entry)
        return entry

    def _dequeue(self) -> MemObject | None:
        entry = self._lru_pop()
        if entry is not None:
            self._get(entry)
        return entry

    def _drop_dup(self, dup: MemObject) -> int:
        self._erase(dup)
        self._lru_del(dup)
        return self._put(dup)

    def _search_get_unlink(self, offset: int) -> MemObject | None:
        entry = self._search(offset)
        if entry is not None:
            self._get(entry)
            self._lru_del(entry)
        return entry

    def _put_relink(self, entry: MemObject) -> int:
        refcount = self._put(entry)
        if refcount:
            self._lru_add(entry, False)
        return refcount

    def _search_erase_put(self, offset: int) -> tuple[MemObject, int] | None:
        entry = self._search(offset)
        if entry is None:
            return None
        self._erase(entry)
        self._lru_del(entry)
        return entry, self._put(entry)

    def _flush_put(self, entry: MemObject) -> int:
        refcount = self._put(entry)
        if refcount == 1:
            self._erase(entry)  # "no invalidate yet, remove from rbtree"
        return refcount

    def _fill_page(self, page: MemObject, value: Any) -> None:
        # zswap_frontswap_load (v4) ignores zswap_comp_op's result: a torn object
        # lands in the page as garbage, and the data check reports it.
        self.heap.set(page, "data", value)
        self.heap.set(page, "uptodate", True)

    def _fill_flushed(self, entry: MemObject, page: MemObject, value: Any) -> None:
        if isinstance(value, tuple):
            raise Violation(BUG_ON, f"BUG_ON(ret): {entry!r} decompresses a torn object {value}")
        self._fill_page(page, value)

    def _release_entry(self, entry: MemObject) -> None:
        self.heap.free(entry, "zswap_entry_cache_free")
        self._account(-1)

    def _account(self, delta: int) -> None:
        self.heap.set(self.stats, "stored_pages", self.heap.get(self.stats, "stored_pages") + delta)

    def _all_entries(self) -> tuple[MemObject, ...]:
        return tuple(rbtree.postorder(self.heap, self.tree))

    def _reset(self) -> None:
        self.heap.set(self.tree, "rb_node", None)
        self.heap.set(self.tree, "lru", ())

    def _log_flush(self, written: int, frames: int) -> None:
        log = self.heap.get(self.tree, "flush_log")
        self.heap.set(self.tree, "flush_log", (*log, (written, frames)))

    # -- the checker's views ------------------------------------------------------------
    def _entries(self) -> list[MemObject]:
        return rbtree.nodes_peek(self.heap, self.tree)

    def holds(self, offset: int) -> Any:
        for entry in self._entries():
            if entry.fields.get("offset") == offset and "handle" in entry.fields:
                return self.zpool.peek_object(entry.fields["handle"])
        return None

    def offsets(self) -> set[int]:
        return {e.fields["offset"] for e in self._entries() if "offset" in e.fields}

    def roots(self) -> list[MemObject]:
        return [self.tree, self.stats]
