"""The swap layer zswap lives in: slots, the swap cache, page locks, the device.

This is the machinery around zswap that the 2013 thread leans on when it says
"the per-entry serialization of the store/load/invalidate paths are all handled
at a higher level" (Seth, 2 Jan 2013).  It is modelled on Linux 3.11
(mm/swapfile.c, mm/swap_state.c, mm/page_io.c, mm/frontswap.c, mm/vmscan.c):

- a slot has a use count (``swap_map``) and the ``SWAP_HAS_CACHE`` bit;
  ``swapcache_prepare`` sets the bit, failing with -EEXIST if it is set and
  -ENOENT if the slot is free; the slot is freed (and zswap invalidated) when
  count and bit are both gone, under ``si->lock`` (swap_entry_free);
- a swap-cache page is locked (PG_locked) for store and load, so those two and
  the final free are mutually excluded per slot; writeback is not, since it
  starts from the allocator and only later takes a swap-cache page;
- the device keeps one data version per slot (not cleared on free: a stale
  block is exactly what a lost zswap entry would expose);
- the ghost field ``latest`` on each slot is the checker's record of the version
  the user last stored; it is not kernel state.

Simplifications, each said where it is made: the fault path's pte ownership is
folded into the slot count (a loaded page is then reclaimed clean, net effect:
count unchanged, cache bit dropped); I/O completes synchronously.  These
operations are the thread programs named in scenarios.

The 6.x designs (``frontswap = False``) are called directly, and use the 6.x
helpers of swap_cache_6x.py: ``read_swap_cache_async`` (``__read_swap_cache_async`` with
``skip_if_exists`` and the was-allocated result, mm/swap_state.c),
``delete_from_swap_cache``, ``folio_test_swapcache`` and ``folio_mark_dirty``
(an exclusive load leaves the only copy in a dirty swap-cache folio, which
``_reclaim_page`` keeps and a later store rewrites).  For them a slot's last
put leaves it reserved until ``free_swap_slot`` (slot_free.py), and with
``swapcache_bypass=on`` the device is SWP_SYNCHRONOUS_IO: a fault on a slot
with one user bypasses the swap cache (swapin_bypass.py).  Otherwise every
swapin goes through the swap cache.
"""

from __future__ import annotations

import weakref
from typing import TYPE_CHECKING, Any, assert_never

from zmodel.runtime import (
    Acquire,
    Await,
    Call,
    Choose,
    Heap,
    MemObject,
    Release,
    Steps,
    TryAcquire,
)
from zmodel.zswap.cpus import Cpus
from zmodel.zswap.scenario import Op, OpKind, Scenario
from zmodel.zswap.slot_free import SlotFree
from zmodel.zswap.swap_cache_6x import SwapCache6x
from zmodel.zswap.swap_slots import EEXIST, ENOENT, OK, Alloc, SwapSlots, Usage
from zmodel.zswap.swapin_bypass import SwapinBypass
from zmodel.zswap.swapoff import Swapoff

if TYPE_CHECKING:
    from zmodel.zswap.designs.base import Design

NEW, EXIST, NOMEM = "NEW", "EXIST", "NOMEM"
__all__ = ["EEXIST", "ENOENT", "EXIST", "NEW", "NOMEM", "OK", "SwapLayer"]


class SwapLayer(SwapSlots, SwapCache6x, SlotFree, SwapinBypass, Swapoff):
    # The mixins declare what they use from each other under TYPE_CHECKING only,
    # so their order here does not matter.
    __shared_world__ = True

    def __init__(self, heap: Heap, scenario: Scenario) -> None:
        self.heap = heap
        self.scenario = scenario
        self.may_fail = bool(scenario.option("alloc_failures"))
        self.serialize = bool(scenario.option("serialize"))
        # SWP_SYNCHRONOUS_IO: do_swap_page may bypass the swap cache (swapin_bypass.py).
        self.bypass = bool(scenario.option("swapcache_bypass"))
        # p->lock of the one swap device (swap_info_struct), SWP_WRITEOK, whether
        # the device is still there (6.x: si->users is live; 3.x: p->max != 0)
        # and how many get_swap_device references are held.
        self.si = heap.alloc(
            "swap_info",
            {
                "lock": None,
                "writeok": True,
                "live": True,
                "users": 0,
                "swapon_mutex": None,
                "swapfile": True,  # S_SWAPFILE on the swap file: until swapoff is done
                "ptes": 0,  # pte tokens handed out (swapcache_bypass=on only)
            },
            root=True,
        )
        self.slots: dict[int, MemObject] = {
            off: heap.alloc(
                "swap_slot",
                {
                    "count": 0,
                    "has_cache": False,
                    "cache": None,
                    "disk": None,
                    "frontswap": False,
                    "latest": None,
                    # swapoff's unuse_pte replaced the user's pte: it holds no slot.
                    "taken": False,
                    # swapcache_bypass=on only: the token of the pte holding the
                    # entry, the page a bypass fault mapped, the pte lock.
                    "pte": None,
                    "resident": None,
                    "ptl": None,
                },
                root=True,
            )
            for off in scenario.slots
        }
        self.slots_cache = self.new_slots_cache(heap) if scenario.option("slot_cache") else None
        ncpus = scenario.option("cpus")
        self.cpus = Cpus(heap, ncpus, 1 + len(scenario.threads)) if ncpus else None
        self.design: Design  # set by attach(): the design this layer calls up into

    def attach(self, design: Design) -> None:
        # A proxy: the design holds this layer, and with a strong reference back
        # every run's object graph would be a cycle only the cyclic collector frees
        # (it was a third of a search's CPU; tests/test_no_reference_cycles.py).
        # The run's executor holds the design (its end check), and a design's
        # code runs in a frame that holds it.
        self.design = weakref.proxy(design)

    # -- operations (scenario ops) -------------------------------------------
    def run(self, op: Op) -> Steps:
        match op.kind:
            case OpKind.STORE:
                assert op.slot is not None and op.value is not None
                yield from self.store(op.slot, op.value)
            case OpKind.LOAD:
                assert op.slot is not None
                yield from self.load(op.slot)
            case OpKind.FREE:
                assert op.slot is not None
                if self.bypass:
                    yield from self.zap(op.slot)
                else:
                    yield from self.free(op.slot)
            case OpKind.WRITEBACK:
                yield from self.design.writeback()
            case OpKind.SWAPOFF:
                yield from self.swapoff()
            case OpKind.SWAPON:
                yield from self.swapon()
            case OpKind.SHRINK:
                assert op.count is not None
                yield from self.design.shrink(op.count)
            case OpKind.CPU_OFFLINE:
                assert op.cpu is not None and self.cpus is not None
                yield from self.cpus.cpu_offline(op.cpu, self.design)
            case OpKind.CPU_ONLINE:
                assert op.cpu is not None and self.cpus is not None
                yield from self.cpus.cpu_online(op.cpu, self.design)
            case OpKind.POOL_SWITCH:
                yield from self.design.pool_switch()
            case OpKind.ZSWAP_OFF:
                yield from self.design.set_enabled(False)
            case OpKind.ZSWAP_ON:
                yield from self.design.set_enabled(True)
            case _:
                assert_never(op.kind)

    def store(self, off: int, value: str) -> Steps:
        """Swap-out of a page holding ``value`` to slot ``off``.

        A free slot is allocated (get_swap_page + add_to_swap).  A slot in use
        models a page that was swapped in, kept in the swap cache, redirtied with
        ``value`` and swapped out again to the same slot (the frontswap "dup").
        """
        slot = self.slots[off]
        while True:
            yield from self.drain_if_held(off, "get_swap_page")
            page = yield Call("get_swap_page/add_to_swap", self._add_to_swap, slot)
            if page is Alloc.BUSY:
                yield Await("get_swap_page: spin on si->lock", self._si_unlocked)
            elif page is Alloc.RESERVED:
                # The kernel's allocator would pass this slot by; the store that
                # names it waits for its free (or for the slot cache to hold it).
                yield Await("get_swap_page: slot reserved: wait for its free", self._freed, off)
            else:
                break
        if page is Alloc.NODEV or page is Alloc.MAPPED_BUSY:
            return  # swapoff ran, or no slot for a mapped page: it stays in memory
        if page is Alloc.IN_USE:
            page = yield from self._swapin_page(off, fill=False)
            if page is None:
                return
        yield Call("set_page_dirty: page now holds " + value, self._write_page, slot, page, value)
        # pageout -> swap_writepage (page locked, in the swap cache)
        stored = yield from self.frontswap_store(off, page)
        if not stored:
            yield Call("__swap_writepage: write to the swap device", self._write_disk, slot, page)
        yield Release(page, "PG_locked", "swap_writepage: unlock_page")
        if self.bypass:
            yield Call("shrink_folio_list: try_to_unmap (pte: the entry)", self._unmap, slot)
        yield from self._reclaim_page(off, page)

    def load(self, off: int) -> Steps:
        """A swap-in fault: read_swap_cache_async + swap_readpage, then the page is dropped."""
        if not (yield from self.get_swap_device("do_swap_page")):
            return  # swapoff took the slot over: the pte maps a page, no fault
        if self.bypass and (yield from self.bypass_swapin(off)):
            yield from self.put_swap_device("do_swap_page")
            return
        page = yield from self._swapin_page(off, fill=True)
        if page is not None:
            yield Release(page, "PG_locked", "do_swap_page: unlock_page")
        yield from self.put_swap_device("do_swap_page")
        if page is not None:
            yield from self._reclaim_page(off, page)

    def free(self, off: int) -> Steps:
        """free_swap_and_cache (3.11): the last pte reference to the slot goes."""
        slot = self.slots[off]
        if not (yield from self.get_swap_device("free_swap_and_cache_nr")):
            return  # swapoff is done with the device: the pte maps a page now
        yield Acquire(self.si, "lock", "free_swap_and_cache: swap_info_get (spin_lock(&p->lock))")
        usage = yield Call("swap_entry_free: count--", self._put_count, slot)
        if usage is Usage.TAKEN or usage is Usage.GONE:
            # swapoff's unuse_pte replaced this pte, or (3.x) swapoff is done and
            # swap_info_get finds p->max == 0 ("Bad swap offset entry"): the user
            # holds no slot any more.
            yield Release(self.si, "lock", "free_swap_and_cache: spin_unlock(&p->lock)")
            yield from self.put_swap_device("free_swap_and_cache_nr")
            return
        if (usage is Usage.FREE and self.design.frontswap) or (
            usage is Usage.CACHE and not self.serialize
        ):
            # serialize=off (seed question Q6): zswap is invalidated as soon as the
            # last user goes, even while a swap-cache page (a load, a store, a
            # writeback) still holds the slot: the "higher level" per-entry
            # serialisation of the 2013 thread is taken away.
            yield from self._invalidate(off)
        page = None
        if usage is Usage.CACHE:
            page = yield Call("free_swap_and_cache: find_get_page", self._cached, slot)
            if page is not None:
                got = yield TryAcquire(page, "PG_locked", "free_swap_and_cache: trylock_page")
                page = page if got else None
        yield Release(self.si, "lock", "free_swap_and_cache: spin_unlock(&p->lock)")
        if usage is Usage.FREE and not self.design.frontswap:
            yield from self.free_swap_slot(off)  # __swap_entry_free (6.x)
        if page is not None:
            yield from self._delete_from_swap_cache(off, page)
            yield Release(page, "PG_locked", "free_swap_and_cache: unlock_page")
        yield from self.put_swap_device("free_swap_and_cache_nr")

    def zap(self, off: int) -> Steps:
        """zap_pte_range (swapcache_bypass=on): clear the user's pte under its lock.

        A pte that maps a page a bypass fault brought in is just unmapped; one
        that holds the swap entry goes through free_swap_and_cache_nr.
        """
        slot = self.slots[off]
        yield Acquire(slot, "ptl", "zap_pte_range: pte_offset_map_lock")
        present = yield Call("zap_pte_range: ptep_get_and_clear_full", self._clear_pte, slot)
        if not present:
            yield from self.free(off)
        yield Release(slot, "ptl", "zap_pte_range: pte_unmap_unlock")

    # -- frontswap (3.x) or the direct zswap calls (6.x) -------------------------
    def frontswap_store(self, off: int, page: MemObject) -> Steps:
        """__frontswap_store (3.11): a failed dup only clears the bit, never invalidates."""
        if not self.design.frontswap:
            stored: bool = yield from self.design.store(off, page)
            return stored
        slot = self.slots[off]
        stored = yield from self.design.store(off, page)
        yield Call("__frontswap_store: set/clear frontswap_map", self._set_bit, slot, stored, True)
        return stored

    def frontswap_load(self, off: int, page: MemObject) -> Steps:
        if self.design.frontswap:
            bit = yield Call("__frontswap_load: __frontswap_test", self._bit, self.slots[off])
            if not bit:
                return False
        loaded: bool = yield from self.design.load(off, page)
        return loaded

    def _invalidate(self, off: int) -> Steps:
        """frontswap_invalidate_page (3.11) / zswap_invalidate (6.x): slot freed."""
        slot = self.slots[off]
        if self.design.frontswap:
            bit = yield Call("__frontswap_invalidate_page: __frontswap_test", self._bit, slot)
            if not bit:
                return
            yield from self.design.invalidate_page(off)
            yield Call("__frontswap_invalidate_page: __frontswap_clear", self._set_bit, slot, False)
        else:
            yield from self.design.invalidate_page(off)

    # -- the swap cache ----------------------------------------------------------
    def get_swap_cache_page(self, off: int) -> Steps:
        """zswap_get_swap_cache_page (3.11).

        Returns ``(NEW, locked page)``, ``(EXIST, page)`` or ``(NOMEM, None)``.
        """
        slot = self.slots[off]
        allocated = False
        while True:
            found = yield Call("zswap_get_swap_cache_page: find_get_page", self._cached, slot)
            if found is not None:
                return EXIST, found
            if not allocated:
                if not (yield from self._alloc("zswap_get_swap_cache_page: alloc_page")):
                    return NOMEM, None
                allocated = True
            err = yield from self.swapcache_prepare(off, "zswap_get_swap_cache_page")
            if err == EEXIST:
                yield Await("zswap_get_swap_cache_page: -EEXIST, retry", self._settled, slot)
                continue
            if err != OK:
                return NOMEM, None  # "swp entry is obsolete ?"
            page = yield Call("__add_to_swap_cache (page locked)", self._new_cached_page, slot)
            return NEW, page

    def swapcache_prepare(self, off: int, who: str) -> Steps:
        slot = self.slots[off]
        yield Acquire(self.si, "lock", f"{who}: swapcache_prepare: spin_lock(&p->lock)")
        err = yield Call(f"{who}: swapcache_prepare", self._swapcache_prepare, slot)
        yield Release(self.si, "lock", f"{who}: swapcache_prepare: spin_unlock(&p->lock)")
        return err

    def swap_writepage(self, off: int, page: MemObject) -> Steps:
        """__swap_writepage (3.11): write the page to the device, unlock at submission."""
        yield Call("__swap_writepage: submit_bio", self._write_disk, self.slots[off], page)
        yield Release(page, "PG_locked", "__swap_writepage: unlock_page")

    def _swapin_page(self, off: int, *, fill: bool) -> Steps:
        """read_swap_cache_async (3.11): a locked, uptodate swap-cache page, or None."""
        slot = self.slots[off]
        while True:
            page = yield Call("lookup_swap_cache", self._cached, slot)
            if page is not None:
                yield Acquire(page, "PG_locked", "lock_page (swap cache page)")
                still = yield Call("lock_page: PageSwapCache?", self._is_cached, slot, page)
                if still:
                    break
                yield Release(page, "PG_locked", "unlock_page (raced: page left swap cache)")
                continue
            if not (yield from self._alloc("read_swap_cache_async: alloc_page")):
                return None
            err = yield from self.swapcache_prepare(off, "read_swap_cache_async")
            if err == EEXIST:
                yield Await("read_swap_cache_async: -EEXIST, retry", self._settled_or_freed, slot)
                if not self.design.frontswap and (
                    yield Call("read_swap_cache_async: swap_swapcount == 0?", self._reserved, slot)
                ):
                    return None  # 6.x: the slot was freed (reserved): "skip ... unused swap slot"
                continue
            if err != OK:
                return None  # the slot was freed under us: the fault finds the pte changed
            page = yield Call("__add_to_swap_cache (page locked)", self._new_cached_page, slot)
            break
        if fill:
            uptodate = yield Call("PageUptodate", self.heap.get, page, "uptodate")
            if not uptodate:
                loaded = yield from self.frontswap_load(off, page)
                if not loaded:
                    yield Call(
                        "swap_readpage: read from the swap device", self._read_disk, slot, page
                    )
            yield Call("check: page data is the latest stored", self._check_data, off, page)
        return page

    def _reclaim_page(self, off: int, page: MemObject) -> Steps:
        """shrink_page_list (3.11): a clean swap-cache page is dropped if trylock works."""
        got = yield TryAcquire(page, "PG_locked", "shrink_page_list: trylock_page")
        if not got:
            return
        dirty = yield Call("shrink_page_list: PageDirty", self.heap.get, page, "dirty")
        if not dirty:
            yield from self._delete_from_swap_cache(off, page)
        yield Release(page, "PG_locked", "shrink_page_list: unlock_page")

    def _delete_from_swap_cache(self, off: int, page: MemObject) -> Steps:
        """delete_from_swap_cache + swapcache_free (3.11); may free the slot."""
        slot = self.slots[off]
        cached = yield Call("__delete_from_swap_cache", self._uncache, slot, page)
        if not cached:
            return
        yield Acquire(self.si, "lock", "swapcache_free: spin_lock(&p->lock)")
        usage = yield Call("swap_entry_free: clear SWAP_HAS_CACHE", self._put_cache, slot)
        if usage is Usage.FREE and self.design.frontswap:
            yield from self._invalidate(off)
        yield Release(self.si, "lock", "swapcache_free: spin_unlock(&p->lock)")
        if usage is Usage.FREE and not self.design.frontswap:
            yield from self.free_swap_slot(off)  # put_swap_folio (6.x)

    def _alloc(self, label: str) -> Steps:
        if not self.may_fail:
            return True
        ok: bool = yield Choose(label, (True, False))
        return ok

    # -- the checker's view at quiescence -------------------------------------------
    def authoritative(self, off: int) -> Any:
        """What a load of ``off`` would read now (peek only, no footprint)."""
        slot = self.slots[off]
        page = self.heap.peek(slot, "cache")
        if page is not None and not page.freed and self.heap.peek(page, "uptodate"):
            return self.heap.peek(page, "data")
        if not self.design.frontswap or self.heap.peek(slot, "frontswap"):
            held = self.design.holds(off)
            if held is not None:
                return held
        return self.heap.peek(slot, "disk")

    def live_slots(self) -> list[int]:
        return [off for off, slot in self.slots.items() if self.heap.peek(slot, "count")]

    def free_slots(self) -> list[int]:
        return [
            off
            for off, slot in self.slots.items()
            if not self.heap.peek(slot, "count") and not self.heap.peek(slot, "has_cache")
        ]
