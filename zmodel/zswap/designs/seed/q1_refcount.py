"""Q1, "doesn't the refcount at least need to be an atomic_t?" (Dan, 3 Jan 2013).

Seth's answer (4 Jan 2013): "An entry's refcount is only ever changed under the
tree lock, so making them atomic_t would be redundantly atomic."  Dan's reply:
"you also need to evaluate and act on the refcount (not just read it) while your
treelock is held."  zswap-3.11 itself is the first design of the question (a
plain ``int`` changed only under ``tree->lock``); the two variants here move the
load path's reference outside the lock, one as a plain int, one as an atomic_t:

- ``q1-unlocked-int``: ``zswap_frontswap_load``'s get and put are ``refcount++``
  and ``refcount--`` on the plain int after ``spin_unlock``, each a load step and
  a store step (what a compiler may emit).  Writeback's get and put stay under
  the lock, so an update can be lost between the two steps.
- ``q1-atomic-unlocked``: the same, but each get or put is one atomic step
  (``atomic_inc``, ``atomic_dec_return``).  No update is lost; what remains is
  that the lookup and the get are not under one lock, so the entry can be freed
  between them, unless something else keeps it alive.

Simplification: only the load path is changed (writeback, invalidate and store
keep 3.11's locked get/put); that is the smallest change that asks the question.
"""

from __future__ import annotations

from typing import ClassVar

from zmodel.runtime import Acquire, Call, MemObject, Release
from zmodel.zswap.designs.base import Steps
from zmodel.zswap.designs.zswap_311 import Zswap311

LOAD = "zswap_frontswap_load"

#: Scenarios shared by the Q1 designs (3.11 itself runs them too in the doc).
SUITE_Q1 = (
    # Writeback takes and drops its reference under the lock while the load does so
    # outside it: the lost update.
    ("load-vs-writeback", "store 1 A :: load 1 | writeback"),
    # The swap layer normally keeps the slot's free away from a load in progress;
    # without it the entry can be freed between the lookup and the get.
    ("load-vs-free-unserialized", "serialize=off :: store 1 A :: load 1 | free 1"),
)


class Q1UnlockedInt(Zswap311):
    """3.11 whose load changes the plain int refcount outside tree->lock."""

    name = "q1-unlocked-int"
    description = "Q1: 3.11 whose load does refcount++/-- on the plain int outside tree->lock"
    suite = SUITE_Q1
    expected: ClassVar[dict[str, frozenset[str]]] = {
        # A seed question's variant, never a kernel: found by the model, not in
        # kernel history (3.11's own windows keep 3.11's citations).
        # A lost update: the load frees the entry while it is still in the tree, or
        # leaves a count nobody will drop.
        "load-vs-writeback": frozenset({"use-after-free", "leak"}),
        "load-vs-free-unserialized": frozenset({"use-after-free", "leak"}),
    }

    def load(self, offset: int, page: MemObject) -> Steps:
        """zswap_frontswap_load (3.11), L1-L5, with the get moved after the unlock."""
        yield Acquire(self.tree, "lock", f"{LOAD}: spin_lock(&tree->lock)")
        entry = yield Call(f"{LOAD}: zswap_rb_search", self._search, offset)
        yield Release(self.tree, "lock", f"{LOAD}: spin_unlock (Q1: before the get)")
        if entry is None:
            return False
        yield from self.refcount_add(entry, +1, "zswap_entry_get")
        yield Call(f"{LOAD}: zbud_map + decompress", self._decompress, entry, page)
        refcount = yield from self.refcount_add(entry, -1, "zswap_entry_put")
        if refcount == 0:
            yield from self.free_entry(entry)  # L5: "already unlinked" by writeback/invalidate
        return True

    def refcount_add(self, entry: MemObject, delta: int, fn: str) -> Steps:
        """``refcount += delta`` on a plain int with no lock: a load, then a store."""
        value = yield Call(f"{fn}: load entry->refcount (Q1: no tree->lock)", self._read_rc, entry)
        sign = "+" if delta > 0 else "-"
        yield Call(
            f"{fn}: store entry->refcount {sign} 1 (Q1: no tree->lock)",
            self.set_refcount,
            entry,
            value + delta,
        )
        return value + delta

    def _read_rc(self, entry: MemObject) -> int:
        value: int = self.heap.get(entry, "refcount")
        return value


class Q1AtomicUnlocked(Q1UnlockedInt):
    """The same load, with an atomic_t: each get or put is one read-modify-write step."""

    name = "q1-atomic-unlocked"
    description = "Q1: 3.11 whose load uses an atomic_t refcount, lookup and get not under one lock"
    expected: ClassVar[dict[str, frozenset[str]]] = {
        # A seed question's variant, never a kernel: found by the model, not in
        # kernel history (3.11's own windows keep 3.11's citations).
        # No lost update; but invalidate can free the entry between lookup and get.
        "load-vs-free-unserialized": frozenset({"use-after-free"}),
    }

    def refcount_add(self, entry: MemObject, delta: int, fn: str) -> Steps:
        op = "atomic_inc" if delta > 0 else "atomic_dec_return"
        value: int = yield Call(
            f"{fn}: {op}(&entry->refcount) (Q1: atomic_t, no tree->lock)",
            self._atomic_add,
            entry,
            delta,
        )
        return value

    def _atomic_add(self, entry: MemObject, delta: int) -> int:
        value: int = self.heap.get(entry, "refcount") + delta
        self.set_refcount(entry, value)
        return value
