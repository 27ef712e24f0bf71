"""The swap-cache-bypass fault of SWP_SYNCHRONOUS_IO devices (zram and the like).

``do_swap_page`` (mm/memory.c, 6.8 and 6.12) skips the swap cache when the
device is ``SWP_SYNCHRONOUS_IO`` and the slot's ``__swap_count`` is 1: it reads
the slot into a private folio (``swap_read_folio``, so ``zswap_load`` runs on a
folio that is not in the swap cache), takes the pte lock, checks
``pte_same(*pte, orig_pte)``, maps the folio and ``swap_free``s the entry.  The
slot is freed then, the data lives in the mapped page, and a later swap-out of
that page may get the same slot again.

The pin.  Two faults on the same pte (two threads of one process) can both
bypass.  Before 13ddaf26be32 ("mm/swap: fix race when skipping swapcache", 6.8)
nothing stopped that: one maps its folio, frees the entry, the page is changed
and swapped out to the same entry, and the other's ``pte_same`` passes on the
unchanged pte value (ABA) and maps its stale folio.  From 6.8 the fault takes
``swapcache_prepare(entry)`` as a per-entry pin (``SWAP_HAS_CACHE`` without a
folio): a second fault, a writeback's ``__read_swap_cache_async`` and
swapoff's ``try_to_unuse`` meet -EEXIST; the fault that gets -EEXIST waits a
tick and returns, to fault again.  ``swapcache_clear`` drops the pin after the
pte lock (and may free the slot).  ``Design.swapcache_bypass_pin`` says which.

What the model keeps per slot for this, only when ``swapcache_bypass=on``:
``pte``, a token naming the pte that holds the slot's swap entry (a new one per
page a store swaps out fresh, the same one when a mapped page is swapped out
again, ``None`` once a zap cleared it), and ``resident``, the page a bypass
fault mapped (the pte maps a page, not the entry).  ``pte_same`` compares
tokens: equal tokens are equal pte values, as in the kernel's ABA.  The data
check moves to the moment the fault maps its folio, since a bypassed page is
never read back through the slot.  The pte lock (``ptl``) is taken by the fault
and by ``free`` (zap_pte_range calls free_swap_and_cache_nr under it).

Simplifications: ``swap_read_folio`` is synchronous (zram); the memcg charge,
the shadow entry and ``ksm_might_need_to_copy`` are left out; a fault that meets
-EEXIST waits until the pin is gone instead of refaulting on a timer (the same
states, without a busy loop); a large folio is not modelled (6.12's mTHP swapin
bypasses only for folios zswap does not hold).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from zmodel.runtime import Acquire, Await, Call, Heap, MemObject, Release, Steps
from zmodel.zswap.swap_slots import OK, Usage

if TYPE_CHECKING:
    from zmodel.zswap.designs.base import Design


class SwapinBypass:
    """do_swap_page's SWP_SYNCHRONOUS_IO branch (a mixin of SwapLayer)."""

    heap: Heap
    si: MemObject
    slots: dict[int, MemObject]
    design: Design

    # Provided by SwapLayer and its other mixins.  (declared for mypy only: a runtime
    # stub here would shadow the real method of a mixin later in SwapLayer's MRO)
    if TYPE_CHECKING:

        def _alloc(self, label: str) -> Steps:
            raise NotImplementedError

        def swapcache_prepare(self, off: int, who: str) -> Steps:
            raise NotImplementedError

        def frontswap_load(self, off: int, page: MemObject) -> Steps:
            raise NotImplementedError

        def free_swap_slot(self, off: int) -> Steps:
            raise NotImplementedError

        def _new_page(self, *, locked: bool) -> MemObject:
            raise NotImplementedError

        def _check_data(self, off: int, page: MemObject) -> None:
            raise NotImplementedError

        def _put_count(self, slot: MemObject) -> int | Usage:
            raise NotImplementedError

        def _put_cache(self, slot: MemObject) -> int | Usage:
            raise NotImplementedError

        def _read_disk(self, slot: MemObject, page: MemObject) -> None:
            raise NotImplementedError

    # -- the fault ----------------------------------------------------------------------
    def bypass_swapin(self, off: int) -> Steps:
        """The SWP_SYNCHRONOUS_IO branch of do_swap_page; False: take the swap-cache path.

        Called with a get_swap_device reference held.
        """
        who = "do_swap_page (SWP_SYNCHRONOUS_IO)"
        slot = self.slots[off]
        while True:
            orig, folio, count = yield Call(
                "do_swap_page: orig_pte; swap_cache_get_folio; __swap_count(entry) == 1",
                self._fault_view,
                slot,
            )
            if orig is None:
                return True  # pte_unmap_same: the pte maps a page (or nothing): no swap fault
            if folio is not None or count != 1:
                return False
            if not self.design.swapcache_bypass_pin:
                break
            err = yield from self.swapcache_prepare(off, who)
            if err == OK:
                break
            # "Relax a bit to prevent rapid repeated page faults": goto out, refault.
            yield Await(
                f"{who}: schedule_timeout_uninterruptible(1); refault",
                self._refault_changes,
                slot,
                orig,
            )
        if not (yield from self._alloc(f"{who}: vma_alloc_folio")):
            yield from self._clear_pin(off, who)
            return True  # VM_FAULT_OOM
        page = yield Call(f"{who}: vma_alloc_folio; __folio_set_locked", self._private_folio)
        loaded = yield from self.frontswap_load(off, page)
        if not loaded:
            yield Call(
                f"{who}: swap_read_folio: swap_read_folio_bdev_sync", self._read_disk, slot, page
            )
        yield Acquire(slot, "ptl", f"{who}: pte_offset_map_lock")
        mapped = yield Call(
            f"{who}: pte_same(orig_pte)? set_pte_at (check: data is the latest stored)",
            self._map,
            off,
            orig,
            page,
        )
        if mapped:
            yield from self._swap_free(off, who)
        yield Release(slot, "ptl", f"{who}: pte_unmap_unlock")
        yield Release(page, "PG_locked", f"{who}: folio_unlock")
        yield from self._clear_pin(off, who)
        return True

    def _swap_free(self, off: int, who: str) -> Steps:
        """swap_free (6.8) / swap_free_nr (6.12): the pte no longer holds the entry."""
        yield from self._entry_free(off, f"{who}: swap_free", "(1)", self._put_count)

    def _clear_pin(self, off: int, who: str) -> Steps:
        """out: swapcache_clear (after the pte lock): drop SWAP_HAS_CACHE, maybe free."""
        if self.design.swapcache_bypass_pin:
            put = self._put_cache
            yield from self._entry_free(off, f"{who}: swapcache_clear", "(SWAP_HAS_CACHE)", put)

    def _entry_free(
        self, off: int, who: str, usage: str, put: Callable[[MemObject], int | Usage]
    ) -> Steps:
        """__swap_entry_free_locked(usage) under the cluster lock; free_swap_slot at 0."""
        yield Acquire(self.si, "lock", f"{who}: lock_cluster_or_swap_info")
        left = yield Call(f"{who}: __swap_entry_free_locked{usage}", put, self.slots[off])
        yield Release(self.si, "lock", f"{who}: unlock_cluster_or_swap_info")
        if left is Usage.FREE:
            yield from self.free_swap_slot(off)

    # -- single steps -------------------------------------------------------------------
    def _fault_view(self, slot: MemObject) -> tuple[int | None, MemObject | None, int]:
        heap = self.heap
        pte = heap.get(slot, "pte") if heap.get(slot, "resident") is None else None
        return pte, heap.get(slot, "cache"), int(heap.get(slot, "count"))

    def _private_folio(self) -> MemObject:
        return self._new_page(locked=True)

    def _refault_changes(self, slot: MemObject, orig: int) -> bool:
        """A refault would see something new: the pin is gone, a folio is cached,
        or the pte changed (mapped, zapped, another entry)."""
        heap = self.heap
        return (
            not heap.get(slot, "has_cache")
            or heap.get(slot, "cache") is not None
            or heap.get(slot, "resident") is not None
            or heap.get(slot, "pte") != orig
            or heap.get(slot, "count") != 1
        )

    def _map(self, off: int, orig: int, page: MemObject) -> bool:
        """pte_same under the pte lock, then set_pte_at: the folio is mapped."""
        slot = self.slots[off]
        heap = self.heap
        if heap.get(slot, "resident") is not None or heap.get(slot, "pte") != orig:
            return False  # out_nomap: the folio is dropped
        self._check_data(off, page)
        heap.set(slot, "resident", page)
        return True
