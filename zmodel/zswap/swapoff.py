"""swapoff: try_to_unuse, waiting for the device's users, then zswap's per-type teardown.

Modelled on ``SYSCALL_DEFINE1(swapoff)`` and ``try_to_unuse`` of mm/swapfile.c at
3.11, 3.13 and 6.12 (6.8 has 6.12's shape), in the order the kernel runs them:

1. ``p->flags &= ~SWP_WRITEOK`` under ``p->lock``: no slot is handed out any more
   (a store then keeps its page in memory).
2. ``try_to_unuse``: while ``si->inuse_pages`` is not zero, find the next slot
   whose ``swap_map`` is not zero (a use count *or* ``SWAP_HAS_CACHE`` alone), and
   either bring its page in through the swap cache and replace the user's pte by
   the page (``unuse_pte``: the user holds no slot any more), or, for a slot held
   only by the swap cache, ``folio_lock`` + ``folio_free_swap``.  A slot between
   ``swapcache_prepare`` and ``add_to_swap_cache`` (its bit set, no folio yet) is
   waited for.  A page allocation that fails makes swapoff fail (-ENOMEM):
   ``reinsert_swap_info`` makes the device writable again.
3. Wait for every user of the device:

   * 6.x: ``percpu_ref_kill(&p->users); synchronize_rcu(); wait_for_completion``.
     ``get_swap_device`` (free_swap_and_cache_nr, do_swap_page,
     __read_swap_cache_async) fails from then on; those that got in are waited
     for.  Then ``zswap_swapoff(type)``.
   * 3.x: ``spin_lock(&swap_lock); spin_lock(&p->lock); ... p->max = 0`` and
     unlock: a free_swap_and_cache that holds ``p->lock`` finishes first, and any
     later one fails ``swap_info_get`` ("Bad swap offset entry").  Then
     ``frontswap_invalidate_area(type)``, which in 3.11 comes after
     ``frontswap_map_set(p, NULL)`` and so returns at once: zswap's
     ``invalidate_area`` is never reached in 3.11, and the tree and pool stay
     (``Design.swapoff_invalidates_area``).

Simplifications: the mm walk of ``unuse_mm`` is folded into the per-slot loop (the
model has one pte per slot, the scenario's user); ``shmem_unuse``, the mmlist,
``drain_mmlist`` and swap extents are left out (the slot cache is drained and
re-enabled around try_to_unuse, slot_free.py), as
is the wait for ``SWP_SCANNING`` (get_swap_page is one step under ``p->lock``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from zmodel.runtime import Acquire, Await, Call, Heap, MemObject, Release, Steps

if TYPE_CHECKING:
    from zmodel.zswap.designs.base import Design


class Swapoff:
    """swapoff and the device-user references it waits for (a mixin of SwapLayer)."""

    heap: Heap
    si: MemObject
    slots: dict[int, MemObject]
    design: Design

    # Provided by SwapLayer.  (declared for mypy only: a runtime
    # stub here would shadow the real method of a mixin later in SwapLayer's MRO)
    if TYPE_CHECKING:

        def _swapin_page(self, off: int, *, fill: bool) -> Steps:
            raise NotImplementedError

        def _delete_from_swap_cache(self, off: int, page: MemObject) -> Steps:
            raise NotImplementedError

        def disable_slots_cache(self) -> Steps:
            raise NotImplementedError

        def reenable_slots_cache(self) -> Steps:
            raise NotImplementedError

    # -- get_swap_device / put_swap_device (5.x+) --------------------------------------
    def get_swap_device(self, who: str) -> Steps:
        """``get_swap_device`` (6.x): ``percpu_ref_tryget_live(&si->users)``.

        3.x has no such reference: there ``p->lock`` and ``p->max`` do its work,
        so the call takes no step and always succeeds.
        """
        if self.design.frontswap:
            return True
        ok: bool = yield Call(f"{who}: get_swap_device", self._tryget_device)
        return ok

    def put_swap_device(self, who: str) -> Steps:
        if not self.design.frontswap:
            yield Call(f"{who}: put_swap_device", self._put_device)

    def _tryget_device(self) -> bool:
        heap = self.heap
        if not heap.get(self.si, "live"):
            return False
        heap.set(self.si, "users", heap.get(self.si, "users") + 1)
        return True

    def _put_device(self) -> None:
        self.heap.set(self.si, "users", self.heap.get(self.si, "users") - 1)

    def _no_users(self) -> bool:
        return bool(self.heap.get(self.si, "users") == 0)

    # -- swapoff -----------------------------------------------------------------------
    def swapoff(self) -> Steps:
        heap = self.heap
        yield Acquire(self.si, "lock", "swapoff: spin_lock(&p->lock)")
        yield Call("swapoff: p->flags &= ~SWP_WRITEOK", heap.set, self.si, "writeok", False)
        yield Release(self.si, "lock", "swapoff: spin_unlock(&p->lock)")
        yield from self.disable_slots_cache()
        unused = yield from self.try_to_unuse()
        if not unused:
            yield Call("swapoff: -ENOMEM: reinsert_swap_info", heap.set, self.si, "writeok", True)
        yield from self.reenable_slots_cache()
        if not unused:
            return
        if self.design.frontswap:
            yield Acquire(self.si, "swapon_mutex", "swapoff: mutex_lock(&swapon_mutex)")
            yield Acquire(self.si, "lock", "swapoff: spin_lock(&p->lock)")
            yield Call("swapoff: p->max = 0", heap.set, self.si, "live", False)
            yield Release(self.si, "lock", "swapoff: spin_unlock(&p->lock)")
            # 3.11: frontswap_map_set(p, NULL) came first: nothing reaches zswap.
            if self.design.swapoff_invalidates_area:
                yield from self.design.invalidate_area()
        else:
            yield Call("swapoff: percpu_ref_kill(&p->users)", heap.set, self.si, "live", False)
            yield Await("swapoff: synchronize_rcu; wait_for_completion(&p->comp)", self._no_users)
            yield Acquire(self.si, "swapon_mutex", "swapoff: mutex_lock(&swapon_mutex)")
            yield from self.design.invalidate_area()
        yield Call("swapoff: inode->i_flags &= ~S_SWAPFILE", heap.set, self.si, "swapfile", False)
        yield Release(self.si, "swapon_mutex", "swapoff: mutex_unlock(&swapon_mutex)")

    def swapon(self) -> Steps:
        """sys_swapon of the device swapoff took down: enable_swap_info under
        swapon_mutex, which runs zswap's per-type init again (frontswap_init ->
        zswap_frontswap_init in 3.x, zswap_swapon in 6.x).  The device being on,
        or a swapoff still running (its swap file still S_SWAPFILE), is -EBUSY.
        The swap map is made anew: every slot is free, as swapoff left it."""
        yield Acquire(self.si, "swapon_mutex", "sys_swapon: mutex_lock(&swapon_mutex)")
        off = yield Call("sys_swapon: S_SWAPFILE clear (else -EBUSY)", self._device_off)
        if off:
            yield from self.design.swapon()
            yield Call("enable_swap_info: SWP_WRITEOK, p->max", self._enable_device)
        yield Release(self.si, "swapon_mutex", "sys_swapon: mutex_unlock(&swapon_mutex)")

    def try_to_unuse(self) -> Steps:
        """try_to_unuse (3.13, 6.12): True once no slot is in use, False on -ENOMEM."""
        while True:
            off = yield Call("try_to_unuse: si->inuse_pages; find_next_to_unuse", self._next_in_use)
            if off is None:
                return True
            slot = self.slots[off]
            mapped = yield Call("unuse_pte_range: pte maps the swap entry?", self._mapped, slot)
            if mapped:
                page = yield from self._swapin_page(off, fill=True)
                if page is None:
                    if (yield Call("unuse_pte_range: swapin failed", self._mapped, slot)):
                        return False  # the page allocation failed: -ENOMEM
                    continue  # the slot was freed meanwhile
                yield Call("unuse_pte: set_pte_at(page); swap_free", self._take_over, slot)
                yield from self._delete_from_swap_cache(off, page)
                yield Release(page, "PG_locked", "try_to_unuse: folio_unlock")
                continue
            page = yield Call("try_to_unuse: filemap_get_folio", self.heap.get, slot, "cache")
            if page is None:
                # SWAP_HAS_CACHE with no folio yet: a swapin between swapcache_prepare
                # and add_to_swap_cache, or a free between its two halves.
                yield Await("try_to_unuse: retry until the slot settles", self._unsettled, slot)
                continue
            yield Acquire(page, "PG_locked", "try_to_unuse: folio_lock")
            unused = yield Call("try_to_unuse: folio_free_swap: !folio_swapped?", self._idle, slot)
            if unused:
                yield from self._delete_from_swap_cache(off, page)
            yield Release(page, "PG_locked", "try_to_unuse: folio_unlock")

    # -- single steps --------------------------------------------------------------------
    def _next_in_use(self) -> int | None:
        heap = self.heap
        for off in sorted(self.slots):
            slot = self.slots[off]
            if heap.get(slot, "count") or heap.get(slot, "has_cache"):
                return off
        return None

    def _mapped(self, slot: MemObject) -> bool:
        return bool(self.heap.get(slot, "count"))

    def _idle(self, slot: MemObject) -> bool:
        return not self.heap.get(slot, "count")

    def _unsettled(self, slot: MemObject) -> bool:
        """Something changed for try_to_unuse: a folio appeared, or the slot is free
        or mapped again."""
        heap = self.heap
        return (
            heap.get(slot, "cache") is not None
            or not heap.get(slot, "has_cache")
            or bool(heap.get(slot, "count"))
        )

    def _device_off(self) -> bool:
        return not self.heap.get(self.si, "swapfile")

    def _enable_device(self) -> None:
        heap = self.heap
        heap.set(self.si, "writeok", True)
        heap.set(self.si, "live", True)
        heap.set(self.si, "swapfile", True)

    def _take_over(self, slot: MemObject) -> None:
        """unuse_pte: the pte now maps the page; the user's reference to the slot is gone."""
        self.heap.set(slot, "count", 0)
        self.heap.set(slot, "taken", True)
        self.heap.set(slot, "pte", None)  # swapcache_bypass=on: the pte maps the page now
