"""The state of zswap-3.11 and its single steps (a mixin of ``Zswap311``).

One rbtree of entries under ``tree->lock``, one zbud pool, the plain ``int
refcount`` and the stats: each method here is one atomic transition (a ``Call``
of a path in zswap_311.py) or a checker's view.  The paths, built from named
steps a change overrides, are in zswap_311.py; 3.13 and the zsmalloc designs
reuse these transitions.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from zmodel.runtime import Heap, MemObject, Violation
from zmodel.runtime.faults import BUG_ON
from zmodel.zswap import rbtree, zbud


class IntRefcount:
    """The plain ``int refcount`` of 3.11 (and of the 2013 series it came from): get
    and put change it by one under the tree lock; put returns the new value."""

    heap: Heap

    if TYPE_CHECKING:  # Design's, which checks the refcount range; no stub shadows it

        def set_refcount(self, entry: MemObject, value: int) -> None: ...

    def _get(self, entry: MemObject) -> None:
        self.set_refcount(entry, self.heap.get(entry, "refcount") + 1)

    def _put(self, entry: MemObject) -> int:
        refcount: int = self.heap.get(entry, "refcount") - 1
        self.set_refcount(entry, refcount)
        return refcount


class Tree311(IntRefcount):
    """zswap-3.11's tree, pool and stats, transition by transition."""

    heap: Heap
    tree: MemObject
    pool: MemObject
    stats: MemObject
    limit: int | None

    # -- single steps -------------------------------------------------------------
    def _is_full(self) -> bool:
        return self.limit is not None and self.heap.get(self.stats, "pool_pages") > self.limit

    def _new_entry(self) -> MemObject:
        entry = self.heap.alloc("zswap_entry", {"refcount": 1})
        rbtree.init_node(self.heap, entry)
        return entry

    def _fill_zpage(self, handle: zbud.Handle, offset: int, data: Any) -> None:
        page, bud = handle
        self.heap.set(page, f"{bud}_data", (offset, data))

    def _populate(self, entry: MemObject, offset: int, handle: zbud.Handle) -> None:
        self.heap.set(entry, "offset", offset)
        self.heap.set(entry, "handle", handle)
        self.heap.set(entry, "length", 1)

    def _insert(self, entry: MemObject) -> MemObject | None:
        return rbtree.run(rbtree.rb_insert(self.heap, self.tree, entry, "offset"))

    def _search(self, offset: int) -> MemObject | None:
        return rbtree.run(rbtree.rb_search(self.heap, self.tree, offset, "offset"))

    def _first(self) -> MemObject | None:
        return rbtree.rb_first(self.heap, self.tree)

    def _erase(self, entry: MemObject) -> zbud.Handle:
        rbtree.run(rbtree.rb_erase(self.heap, self.tree, entry))
        rbtree.init_node(self.heap, entry)
        handle: zbud.Handle = self.heap.get(entry, "handle")
        return handle

    def _erase_put(self, entry: MemObject) -> int:
        self._erase(entry)
        return self._put(entry)

    def _wb_finish(self, entry: MemObject) -> int:
        self._put(entry)  # drop the local reference
        refcount = self._put(entry)  # drop the initial reference from entry creation
        if refcount >= 0:
            self._erase(entry)  # "no invalidate yet, remove from rbtree"
        return refcount

    def _header(self, handle: zbud.Handle) -> int:
        offset, _data = zbud.zbud_map(self.heap, handle)
        return int(offset)

    def _decompress(self, entry: MemObject, page: MemObject) -> None:
        handle = self.heap.get(entry, "handle")
        stored = zbud.zbud_map(self.heap, handle)
        if stored is None:
            raise Violation(
                BUG_ON, f"BUG_ON(ret): decompressing {entry!r}, its zbud object is freed"
            )
        self.heap.set(page, "data", stored[1])
        self.heap.set(page, "uptodate", True)

    def _release_entry(self, entry: MemObject) -> None:
        self.heap.free(entry, "zswap_entry_cache_free")
        self._account(-1)

    def _account(self, delta: int) -> None:
        self.heap.set(self.stats, "stored_pages", self.heap.get(self.stats, "stored_pages") + delta)
        self.heap.set(self.stats, "pool_pages", zbud.pool_pages(self.heap, self.pool))

    # -- the checker's views --------------------------------------------------------
    def _entries(self) -> list[MemObject]:
        return rbtree.nodes_peek(self.heap, self.tree)

    def holds(self, offset: int) -> Any:
        for entry in self._entries():
            if entry.fields.get("offset") == offset:
                page, bud = entry.fields["handle"]
                stored = page.fields.get(f"{bud}_data")
                return None if stored is None else stored[1]
        return None

    def offsets(self) -> set[int]:
        return {e.fields["offset"] for e in self._entries() if "offset" in e.fields}

    def roots(self) -> list[MemObject]:
        return [self.tree, self.stats]
