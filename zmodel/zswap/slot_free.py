"""How a 6.x slot is freed: the reserved state, ``free_swap_slot`` and the slot cache.

In 6.8 and 6.12 the last put of a slot does not free it.  Under the cluster
lock ``__swap_entry_free_locked`` leaves ``swap_map[offset] = SWAP_HAS_CACHE``
(the slot is *reserved*: no user, no folio, and the allocator will not hand it
out), and the caller calls ``free_swap_slot`` after dropping the lock
(``__swap_entry_free``, ``put_swap_folio``, ``swapcache_clear``; mm/swapfile.c):

- 6.12 first calls ``zswap_invalidate`` there (mm/swap_slots.c of 6.12; moved
  there by 0827a1fb143f, "mm/zswap: invalidate zswap entry when swap entry
  free", 6.9).  6.8 invalidates only when the slot is really freed:
  ``swap_entry_free -> swap_range_free -> zswap_invalidate`` under ``si->lock``;
- with the per-CPU slot cache in use (scenario option ``slot_cache=on``), the
  entry goes into the CPU's ``slots_ret`` under ``cache->free_lock``, and a full
  array is first handed back with ``swapcache_free_entries``.  Without it (the
  option off, or while swapoff has the cache disabled) ``swapcache_free_entries(&entry, 1)``
  frees it at once;
- ``swapcache_free_entries``: under ``si->lock``, per entry, ``swap_entry_free``:
  ``VM_BUG_ON(count != SWAP_HAS_CACHE)``, ``swap_map = 0``, ``swap_range_free``.

So with the cache on, a freed slot's zswap entry stays in the tree and on the
LRU (6.8) until the cache drains, where 6.12 drops it at once; what each
version's writeback and swapoff then meet is what ``slot_cache=on`` explores.
The 3.x designs free a slot in one critical section of ``p->lock`` and have no
slot cache (mm/swap_slots.c is 4.11): this module is not used for them.

Simplifications: one return cache (one CPU's) with room for one entry, where the
kernel has one per CPU with SWAP_SLOTS_CACHE_SIZE = 64: a smaller cache drains
sooner, which only adds runs in which the deferred free completes.  It drains
when a second entry comes, when a store wants a slot it holds (the kernel
would give that store another slot; a scenario names its slots), and when
swapoff disables the cache (``disable_swap_slots_cache_lock`` drains every CPU,
before ``try_to_unuse``; ``reenable_swap_slots_cache_unlock`` after).  The
allocation side (``cache->slots``) is not modelled: a store takes its slot from
the swap map.  The cluster lock is ``si->lock``, as elsewhere in the model.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from zmodel.runtime import Acquire, Call, Heap, MemObject, Release, Steps, Violation
from zmodel.runtime.faults import BUG_ON

if TYPE_CHECKING:
    from zmodel.zswap.designs.base import Design


class SlotFree:
    """free_swap_slot and the return side of the slot cache (a mixin of SwapLayer)."""

    heap: Heap
    si: MemObject
    slots: dict[int, MemObject]
    design: Design
    slots_cache: MemObject | None  # the one CPU's swap_slots_cache, or None (option off)

    # Provided by SwapLayer and SwapSlots.  (declared for mypy only: a runtime
    # stub here would shadow the real method of a mixin later in SwapLayer's MRO)
    if TYPE_CHECKING:

        def _invalidate(self, off: int) -> Steps:
            raise NotImplementedError

        def _reserved(self, slot: MemObject) -> bool:
            raise NotImplementedError

    def new_slots_cache(self, heap: Heap) -> MemObject:
        return heap.alloc(
            "swap_slots_cache",
            # enabled: use_swap_slot_cache; ret: the offset in slots_ret, or None.
            {"free_lock": None, "enabled": True, "ret": None},
            root=True,
        )

    def free_swap_slot(self, off: int) -> Steps:
        """free_swap_slot (6.8, 6.12) of a reserved slot; no lock held."""
        if self.design.invalidate_in_free_swap_slot:
            yield from self._invalidate(off)  # 6.12: "Large folio swap slot is not covered."
        cache = self.slots_cache
        if cache is None:
            yield from self.swapcache_free_entries((off,), "free_swap_slot: direct_free")
            return
        enabled = yield Call("free_swap_slot: use_swap_slot_cache", self.heap.get, cache, "enabled")
        if enabled:
            yield Acquire(cache, "free_lock", "free_swap_slot: spin_lock_irq(&cache->free_lock)")
            pushed, old = yield Call(
                "free_swap_slot: use_swap_slot_cache?; n_ret >= SWAP_SLOTS_CACHE_SIZE?;"
                " slots_ret[n_ret++] = entry",
                self._push_ret,
                off,
            )
            if old is not None:
                yield from self.swapcache_free_entries((old,), "free_swap_slot: cache full")
            yield Release(cache, "free_lock", "free_swap_slot: spin_unlock_irq(&cache->free_lock)")
            if pushed:
                return
        # "Swap slots cache may be deactivated before acquiring lock"
        yield from self.swapcache_free_entries((off,), "free_swap_slot: direct_free")

    def drain_slots_cache(self, who: str) -> Steps:
        """drain_slots_cache_cpu(SLOTS_CACHE_RET): hand ``slots_ret`` back, under free_lock."""
        cache = self.slots_cache
        if cache is None:
            return
        yield Acquire(cache, "free_lock", f"{who}: drain_slots_cache_cpu: spin_lock_irq(free_lock)")
        old = yield Call(f"{who}: drain_slots_cache_cpu: n_ret = 0", self._pop_ret)
        if old is not None:
            yield from self.swapcache_free_entries((old,), f"{who}: drain_slots_cache_cpu")
        yield Release(cache, "free_lock", f"{who}: drain_slots_cache_cpu: spin_unlock_irq")

    def drain_if_held(self, off: int, who: str) -> Steps:
        """A store wants slot ``off``: return it first if the slot cache holds it."""
        cache = self.slots_cache
        if cache is None:
            return
        held = yield Call(f"{who}: the slot cache holds slot {off}?", self._holds_ret, off)
        if held:
            yield from self.drain_slots_cache(who)

    def disable_slots_cache(self) -> Steps:
        """disable_swap_slots_cache_lock (swapoff): stop caching, drain every CPU."""
        cache = self.slots_cache
        if cache is None:
            return
        yield Call(
            "swapoff: disable_swap_slots_cache_lock: swap_slot_cache_enabled = false",
            self.heap.set,
            cache,
            "enabled",
            False,
        )
        yield from self.drain_slots_cache("swapoff: disable_swap_slots_cache_lock")

    def reenable_slots_cache(self) -> Steps:
        cache = self.slots_cache
        if cache is not None:
            yield Call(
                "swapoff: reenable_swap_slots_cache_unlock", self.heap.set, cache, "enabled", True
            )

    def swapcache_free_entries(self, offs: tuple[int, ...], who: str) -> Steps:
        """swapcache_free_entries (6.8, 6.12): swap_entry_free of each, under si->lock."""
        yield Acquire(self.si, "lock", f"{who}: swapcache_free_entries: spin_lock(&p->lock)")
        for off in offs:
            yield Call(
                f"{who}: swap_entry_free: swap_map = 0; swap_range_free",
                self._swap_entry_free,
                self.slots[off],
            )
            if not self.design.invalidate_in_free_swap_slot:
                yield from self._invalidate(off)  # 6.8: swap_range_free -> zswap_invalidate
        yield Release(self.si, "lock", f"{who}: swapcache_free_entries: spin_unlock(&p->lock)")

    # -- single steps ----------------------------------------------------------------
    def _freed(self, off: int) -> bool:
        """A reserved slot is free again, or waits in the slot cache (a store drains it)."""
        if not self._reserved(self.slots[off]):
            return True
        cache = self.slots_cache
        return cache is not None and self.heap.get(cache, "ret") == off

    def _push_ret(self, off: int) -> tuple[bool, int | None]:
        """(pushed, the entry a full array handed back): re-checks enabled under the lock."""
        cache = self.slots_cache
        assert cache is not None
        if not self.heap.get(cache, "enabled"):
            return False, None
        old: int | None = self.heap.get(cache, "ret")
        self.heap.set(cache, "ret", off)
        return True, old

    def _pop_ret(self) -> int | None:
        cache = self.slots_cache
        assert cache is not None
        old: int | None = self.heap.get(cache, "ret")
        self.heap.set(cache, "ret", None)
        return old

    def _holds_ret(self, off: int) -> bool:
        cache = self.slots_cache
        assert cache is not None
        return bool(self.heap.get(cache, "ret") == off)

    def _swap_entry_free(self, slot: MemObject) -> None:
        heap = self.heap
        if heap.get(slot, "count") or not heap.get(slot, "has_cache") or heap.get(slot, "cache"):
            raise Violation(BUG_ON, "swap_entry_free: VM_BUG_ON(count != SWAP_HAS_CACHE)")
        heap.set(slot, "has_cache", False)
