"""The tree and refcount steps of zswap-6.8 (mm/zswap.c of 6.8.1), a mixin of ``Zswap68``.

Each method is one atomic step's body (the caller holds ``tree->lock`` where the
kernel does): ``zswap_rb_search``, ``zswap_rb_erase`` (unlink only if on the
tree), ``zswap_rb_insert`` with the lru add, the plain ``int refcount``'s get
and put (a put to zero on an entry still on the tree is 6.8's
``WARN_ON_ONCE(!RB_EMPTY_NODE)``), and swapoff's postorder walk and ``kfree(tree)``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from zmodel.runtime import MemObject, Violation
from zmodel.runtime.faults import BUG_ON
from zmodel.zswap import list_lru, rbtree


class Tree68:
    """zswap_rb_* and the entry refcount of 6.8, as single steps."""

    if TYPE_CHECKING:  # what the mixin uses of Zswap68 (declared, never defined here)
        from zmodel.runtime import Heap

        heap: Heap
        tree: MemObject
        trees: MemObject

        def set_refcount(self, entry: MemObject, value: int) -> None: ...
        def _lru_of(self, entry: MemObject) -> MemObject: ...

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
