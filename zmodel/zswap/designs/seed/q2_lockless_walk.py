"""Q2, "how can you 'free' any entry of an rbtree while another thread is walking the rbtree?"

Dan, 3 Jan 2013: "Deleting an entry from an rbtree causes rebalancing... afaik
there is no equivalent RCU implementation for rbtrees".  Seth, 4 Jan 2013: it
"can't happen since a thread must obtain the tree lock before accessing or
changing the tree."  zswap-3.11 is Seth's answer (every walk under
``tree->lock``); ``q2-lockless-walk`` is the design Dan feared:

- ``zswap_frontswap_load`` walks the rbtree *without* ``tree->lock``, one model
  step per node visited (``zswap_rb_search`` stepped through the rbtree
  module's generator: each step loads a child pointer, the next dereferences
  it), then takes the lock only for the get;
- the writers keep the lock, but their rebalancing is exposed to the walker:
  ``rb_insert`` in ``zswap_frontswap_store`` and ``rb_erase`` in
  ``zswap_frontswap_invalidate_page`` run one step per link, recolouring and
  rotation.  (Under the lock nobody else could tell; a lockless reader can.)

Two things can go wrong for the walker: a rotation moves the node it is looking
for out of its path (it misses a present key, the load falls back to the swap
device, which holds nothing: data-loss), and a node it has a pointer to is
erased and freed before it dereferences it (use-after-free).

Simplifications: writeback's and swapoff's erases stay one step each (the Q2
scenarios race the walker against store and free only, so this removes no
interleaving they exercise); a rotation is one step (the kernel's individual
``WRITE_ONCE`` stores within a rotation are not separated).
"""

from __future__ import annotations

from typing import ClassVar

from zmodel.runtime import Acquire, Call, MemObject, Release
from zmodel.zswap import rbtree, zbud
from zmodel.zswap.designs.base import Steps
from zmodel.zswap.designs.seed.stepping import stepped
from zmodel.zswap.designs.zswap_311 import Zswap311

LOAD = "zswap_frontswap_load"
STORE = "zswap_frontswap_store"
INVALIDATE = "zswap_frontswap_invalidate_page"
LOCKLESS = "(Q2: no tree->lock, a step per node)"
EXPOSED = "(Q2: a step per rotation)"

SUITE_Q2 = (
    # Erasing 1 rotates 3 above 2: a walker for 4 that has reached 2 finds no right child.
    ("walk-vs-erase-rotation", "store 1 A; store 2 B; store 3 C; store 4 D :: load 4 | free 1"),
    # Erasing 2 (the root) frees it while a walker for 1 holds a pointer to it.
    ("walk-vs-erase-free", "store 1 A; store 2 B; store 3 C; store 4 D :: load 1 | free 2"),
    # Inserting 3 rotates 2 above 1: a walker for 2 that has reached 1 finds nothing.
    ("walk-vs-insert-rotation", "store 1 A; store 2 B :: load 2 | store 3 C"),
)


class Q2LocklessWalk(Zswap311):
    """3.11 whose load searches the rbtree without the tree lock."""

    name = "q2-lockless-walk"
    description = "Q2: 3.11 whose load walks the rbtree without tree->lock while erase rebalances"
    suite = SUITE_Q2
    expected: ClassVar[dict[str, frozenset[str]]] = {
        # A seed question's variant, never a kernel: found by the model, not in
        # kernel history (3.11's own windows keep 3.11's citations).
        "walk-vs-erase-rotation": frozenset({"data-loss"}),
        "walk-vs-erase-free": frozenset({"use-after-free"}),
        "walk-vs-insert-rotation": frozenset({"data-loss"}),
    }

    def load(self, offset: int, page: MemObject) -> Steps:
        """zswap_frontswap_load (3.11) with L1's search done locklessly."""
        entry = yield from stepped(
            "zswap_rb_search",
            LOCKLESS,
            rbtree.rb_search(self.heap, self.tree, offset, "offset"),
            names={"visit": "load the pointer to the next node", "": "dereference the node"},
            ending=_search_result,
        )
        if entry is None:
            return False  # "entry was written back": swap_readpage reads the device instead
        yield Acquire(self.tree, "lock", f"{LOAD}: spin_lock(&tree->lock) (Q2: only for the get)")
        yield Call(f"{LOAD}: zswap_entry_get", self._get, entry)
        yield Release(self.tree, "lock", f"{LOAD}: spin_unlock(&tree->lock)")
        yield Call(f"{LOAD}: zbud_map + decompress", self._decompress, entry, page)
        yield Acquire(self.tree, "lock", f"{LOAD}: spin_lock(&tree->lock)")
        refcount = yield Call(f"{LOAD}: zswap_entry_put", self._put, entry)
        yield Release(self.tree, "lock", f"{LOAD}: spin_unlock(&tree->lock)")
        if refcount == 0:
            yield from self.free_entry(entry)
        return True

    def store(self, offset: int, page: MemObject) -> Steps:
        """zswap_frontswap_store (3.11), S1-S8, with S7's insert and erase stepped."""
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
        yield Call("zbud_map: zhdr->swpentry, memcpy data", self._fill_zpage, handle, offset, data)
        yield Call(f"{STORE}: populate entry", self._populate, entry, offset, handle)
        yield Acquire(self.tree, "lock", f"{STORE}: spin_lock(&tree->lock)")
        while True:
            dup = yield from stepped(
                "zswap_rb_insert", EXPOSED, rbtree.rb_insert(self.heap, self.tree, entry, "offset")
            )
            if dup is None:
                break
            yield from self.erase(dup)
            refcount = yield Call(f"{STORE}: zswap_entry_put(dup)", self._put, dup)
            if refcount == 0:
                yield from self.free_entry(dup)
        yield Release(self.tree, "lock", f"{STORE}: spin_unlock(&tree->lock)")
        yield Call(f"{STORE}: stored_pages++, pool_pages", self._account, 1)
        return True

    def invalidate_page(self, offset: int) -> Steps:
        """zswap_frontswap_invalidate_page (3.11), I1-I3, with I2's erase stepped."""
        yield Acquire(self.tree, "lock", f"{INVALIDATE}: spin_lock")
        entry = yield Call(f"{INVALIDATE}: zswap_rb_search", self._search, offset)
        if entry is None:
            yield Release(self.tree, "lock", f"{INVALIDATE}: spin_unlock")
            return
        yield from self.erase(entry)
        refcount = yield Call(f"{INVALIDATE}: zswap_entry_put", self._put, entry)
        yield Release(self.tree, "lock", f"{INVALIDATE}: spin_unlock")
        if refcount != 0:
            return
        yield from self.free_entry(entry)

    def erase(self, entry: MemObject) -> Steps:
        """rb_erase, a step per unlink, recolouring and rotation.

        As in 3.11 (``RB_CLEAR_NODE`` after erase came with 3.13's
        ``zswap_rb_erase``), the erased node keeps its stale pointers, so a walker
        standing on it carries on through them.
        """
        yield from stepped("rb_erase", EXPOSED, rbtree.rb_erase(self.heap, self.tree, entry))


def _search_result(entry: object) -> str:
    return "dereference it: no match, return NULL" if entry is None else "key matches: return it"
