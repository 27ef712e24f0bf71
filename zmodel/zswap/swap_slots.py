"""The swap layer's state and its single steps: slots, swap-cache pages, the device.

Each method here is one atomic step of the swap layer (run inside a ``Call``):
the state of a slot (``swap_map`` count, ``SWAP_HAS_CACHE``, the swap-cache page,
the device block, the frontswap bit, the ghost ``latest``) and how one step of
mm/swapfile.c or mm/swap_state.c (Linux 3.11) changes it.  The thread programs
that string these steps together, with their locks, are in zmodel.zswap.swap;
keeping the two apart keeps each module to one idea.
"""

from __future__ import annotations

from enum import Enum
from typing import TYPE_CHECKING

from zmodel.runtime import Heap, MemObject, Violation
from zmodel.zswap.faults import DATA_LOSS, STALE_DATA

if TYPE_CHECKING:
    from zmodel.zswap.designs.base import Design

OK, EEXIST, ENOENT = 0, -17, -2


class Alloc(Enum):
    """Why get_swap_page/add_to_swap handed out no fresh slot (else: the page)."""

    BUSY = "si->lock is held: spin"
    NODEV = "SWP_WRITEOK is clear: swapoff runs, the page stays in memory"
    IN_USE = "the slot is in use: a swapped-in page is stored again"
    RESERVED = "6.x: the slot's free is under way (swap_map == SWAP_HAS_CACHE, no folio): wait"
    MAPPED_BUSY = "a page a bypass fault mapped finds its slot taken: it stays mapped"


class Usage(Enum):
    """What is left of a slot after a put (swap_entry_free), beyond a use count."""

    FREE = "count and SWAP_HAS_CACHE gone: the slot is free"
    CACHE = "only SWAP_HAS_CACHE is left"
    TAKEN = "swapoff's unuse_pte took the user's pte: nothing to put"
    GONE = "swapoff is done with the device (3.x: p->max == 0)"


class SwapSlots:
    """The slots of the one swap device and their single-step transitions."""

    heap: Heap
    si: MemObject  # swap_info_struct: p->lock and SWP_WRITEOK
    slots: dict[int, MemObject]
    serialize: bool  # the scenario option: per-slot serialisation of the swap layer
    bypass: bool  # the scenario option swapcache_bypass: ptes are tracked (swapin_bypass.py)
    design: Design

    # -- single steps ---------------------------------------------------------------
    def _si_unlocked(self) -> bool:
        return self.heap.get(self.si, "lock") is None

    def _add_to_swap(self, slot: MemObject) -> MemObject | Alloc:
        """get_swap_page + add_to_swap as one step, taken under si->lock.

        scan_swap_map runs with si->lock held, so a slot cannot be handed out
        between swap_entry_free and the frontswap_invalidate_page that follows it
        under the same lock.  While another thread holds the lock this step
        returns ``Alloc.BUSY`` and the store spins (an Await) until it is released.
        Folding lock, scan and unlock into one step loses no behaviour: the lock
        taking commutes with every step that does not touch the lock (Lipton's
        movers), and this step reads the lock, so it is ordered against those
        that do.
        """
        heap = self.heap
        if heap.get(self.si, "lock") is not None:
            return Alloc.BUSY
        if not heap.get(self.si, "writeok"):
            return Alloc.NODEV
        resident = self.bypass and heap.get(slot, "resident") is not None
        if self._reserved(slot):
            return Alloc.RESERVED
        if heap.get(slot, "count") or heap.get(slot, "has_cache"):
            # The kernel would give a mapped page another slot; a scenario names
            # its slot, so the page stays mapped (and the store has no effect).
            return Alloc.MAPPED_BUSY if resident else Alloc.IN_USE
        if self.bypass and not resident:
            # A page of a new mapping: a pte of its own (a mapped page keeps its
            # pte, which holds the entry again at try_to_unmap).
            ptes = heap.get(self.si, "ptes") + 1
            heap.set(self.si, "ptes", ptes)
            heap.set(slot, "pte", ptes)
        heap.set(slot, "count", 1)
        heap.set(slot, "has_cache", True)
        heap.set(slot, "taken", False)
        page = self._new_page(locked=True)
        heap.set(page, "uptodate", True)
        heap.set(slot, "cache", page)
        return page

    def _reserved(self, slot: MemObject) -> bool:
        """6.x: count 0 and SWAP_HAS_CACHE with no folio: freed, not yet free."""
        heap = self.heap
        return (
            not self.design.frontswap
            and not heap.get(slot, "count")
            and bool(heap.get(slot, "has_cache"))
            and heap.get(slot, "cache") is None
        )

    def _new_page(self, *, locked: bool) -> MemObject:
        tid = self.heap.tid
        return self.heap.alloc(
            "page",
            {"PG_locked": tid if locked else None, "data": None, "dirty": False, "uptodate": False},
        )

    def _new_cached_page(self, slot: MemObject) -> MemObject:
        page = self._new_page(locked=True)
        self.heap.set(slot, "cache", page)
        return page

    def _write_page(self, slot: MemObject, page: MemObject, value: str) -> None:
        self.heap.set(page, "data", value)
        self.heap.set(page, "uptodate", True)
        self.heap.set(page, "dirty", False)  # clear_page_dirty_for_io before writepage
        self.heap.set(slot, "latest", value)

    def _write_disk(self, slot: MemObject, page: MemObject) -> None:
        self.heap.set(slot, "disk", self.heap.get(page, "data"))

    def _read_disk(self, slot: MemObject, page: MemObject) -> None:
        self.heap.set(page, "data", self.heap.get(slot, "disk"))
        self.heap.set(page, "uptodate", True)

    def _check_data(self, off: int, page: MemObject) -> None:
        slot = self.slots[off]
        latest = self.heap.get(slot, "latest")
        if latest is None:
            return  # freed under the reader (serialize=off): do_swap_page's pte_same drops it
        got = self.heap.get(page, "data")
        if got is None:
            raise Violation(DATA_LOSS, f"slot {off}: no copy of {latest!r} anywhere")
        if got != latest:
            raise Violation(STALE_DATA, f"slot {off}: read {got!r}, latest stored is {latest!r}")

    def _cached(self, slot: MemObject) -> MemObject | None:
        page: MemObject | None = self.heap.get(slot, "cache")
        return page

    def _is_cached(self, slot: MemObject, page: MemObject) -> bool:
        return self.heap.get(slot, "cache") is page

    def _lookup_count(self, slot: MemObject) -> tuple[MemObject | None, int]:
        return self._cached(slot), int(self.heap.get(slot, "count"))

    def _settled(self, slot: MemObject) -> bool:
        """The -EEXIST race is over: the page is in the cache, or the bit is gone."""
        return self.heap.get(slot, "cache") is not None or not self.heap.get(slot, "has_cache")

    def _settled_or_freed(self, slot: MemObject) -> bool:
        return self._settled(slot) or self._reserved(slot)

    def _swapcache_prepare(self, slot: MemObject) -> int:
        heap = self.heap
        if heap.get(slot, "has_cache"):
            return EEXIST
        if not heap.get(slot, "count"):
            return ENOENT
        heap.set(slot, "has_cache", True)
        return OK

    def _usage_after_put(self, slot: MemObject) -> int | Usage:
        """The use count left, or what is left of the slot without one."""
        heap = self.heap
        if heap.get(slot, "count"):
            return int(heap.get(slot, "count"))
        if heap.get(slot, "has_cache"):
            return Usage.CACHE
        heap.set(slot, "latest", None)  # the slot is free: nothing to read back any more
        if not self.design.frontswap:
            # 6.x: __swap_entry_free_locked leaves swap_map = SWAP_HAS_CACHE; the
            # slot is reserved until free_swap_slot frees it (slot_free.py).
            heap.set(slot, "has_cache", True)
        return Usage.FREE

    def _put_count(self, slot: MemObject) -> int | Usage:
        """swap_info_get (the device is still there) and swap_entry_free's count--."""
        if self.design.frontswap and not self.heap.get(self.si, "live"):
            # 3.x after swapoff: p->max == 0, "Bad swap offset entry".  (6.x: the
            # caller's get_swap_device reference keeps the device.)
            return Usage.GONE
        count = self.heap.get(slot, "count")
        if count == 0:
            if self.heap.get(slot, "taken"):
                return Usage.TAKEN  # swapoff replaced the pte: nothing to free
            raise Violation("bug-on", "free of a swap slot that is not in use")
        self.heap.set(slot, "count", count - 1)
        usage = self._usage_after_put(slot)
        if usage is Usage.CACHE and not self.serialize:
            self.heap.set(slot, "latest", None)  # no user is left to read the slot back
        return usage

    def _put_cache(self, slot: MemObject) -> int | Usage:
        self.heap.set(slot, "has_cache", False)
        return self._usage_after_put(slot)

    def _uncache(self, slot: MemObject, page: MemObject) -> bool:
        if self.heap.get(slot, "cache") is not page:
            return False
        # The page itself is not freed: page lifetimes follow the page refcount,
        # which the model does not track (pages are exempt from leak checks).
        self.heap.set(slot, "cache", None)
        return True

    def _unmap(self, slot: MemObject) -> None:
        """try_to_unmap: a mapped page's pte holds the swap entry again (same pte)."""
        self.heap.set(slot, "resident", None)

    def _clear_pte(self, slot: MemObject) -> bool:
        """zap_pte_range clears the pte: True if it mapped a page (no swap entry to free)."""
        heap = self.heap
        present = heap.get(slot, "resident") is not None
        heap.set(slot, "resident", None)
        heap.set(slot, "pte", None)
        return present

    def _bit(self, slot: MemObject) -> bool:
        return bool(self.heap.get(slot, "frontswap"))

    def _set_bit(self, slot: MemObject, stored: bool, from_store: bool = False) -> None:
        heap = self.heap
        if stored:
            heap.set(slot, "frontswap", True)
        elif not from_store or heap.get(slot, "frontswap"):
            heap.set(slot, "frontswap", False)  # a failed dup clears the bit only
