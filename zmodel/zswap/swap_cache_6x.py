"""The 6.x swap-cache interface the frontswap-less designs call (a mixin of SwapLayer).

``__read_swap_cache_async`` (6.8, 6.12: ``skip_if_exists``, the was-allocated
result, a get_swap_device reference held throughout), ``delete_from_swap_cache``,
``folio_test_swapcache`` and ``folio_mark_dirty`` (mm/swap_state.c, mm/swapfile.c).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from zmodel.runtime import Await, Call, Heap, MemObject, Steps
from zmodel.zswap.swap_slots import EEXIST, OK


class SwapCache6x:
    """What zswap_writeback_entry and zswap_load of 6.x use of the swap cache."""

    heap: Heap
    slots: dict[int, MemObject]

    # Provided by SwapLayer and its other mixins.  (declared for mypy only: a runtime
    # stub here would shadow the real method of a mixin later in SwapLayer's MRO)
    if TYPE_CHECKING:

        def get_swap_device(self, who: str) -> Steps:
            raise NotImplementedError

        def put_swap_device(self, who: str) -> Steps:
            raise NotImplementedError

        def swapcache_prepare(self, off: int, who: str) -> Steps:
            raise NotImplementedError

        def _alloc(self, label: str) -> Steps:
            raise NotImplementedError

        def _delete_from_swap_cache(self, off: int, page: MemObject) -> Steps:
            raise NotImplementedError

        def _lookup_count(self, slot: MemObject) -> tuple[MemObject | None, int]:
            raise NotImplementedError

        def _settled(self, slot: MemObject) -> bool:
            raise NotImplementedError

        def _new_cached_page(self, slot: MemObject) -> MemObject:
            raise NotImplementedError

        def _is_cached(self, slot: MemObject, page: MemObject) -> bool:
            raise NotImplementedError

    def read_swap_cache_async(self, off: int, who: str, *, skip_if_exists: bool) -> Steps:
        """__read_swap_cache_async (6.8, 6.12): returns ``(folio, allocated)``.

        ``allocated`` True: a new folio, locked, in the swap cache.  False with a
        folio: it was already cached (returned unlocked).  ``(None, False)``: the
        slot is unused, the folio allocation failed, or SWAP_HAS_CACHE is set with
        no folio cached yet and ``skip_if_exists`` asks not to wait (-EEXIST: the
        writeback path must not wait on a swapin that may be reclaiming through
        zswap itself).

        It holds a get_swap_device() reference throughout, as 6.8 and 6.12 do; a
        folio it adds stays locked and in the swap cache after the reference is
        put, which holds off try_to_unuse.  The lookup and the
        swap_swapcount check are one step; the folio is allocated once (6.12's
        loop keeps it across -EEXIST retries; 6.8 frees and reallocates it).
        """
        if not (yield from self.get_swap_device(f"{who}: __read_swap_cache_async")):
            return None, False
        result = yield from self._read_swap_cache_async(off, who, skip_if_exists)
        yield from self.put_swap_device(f"{who}: __read_swap_cache_async")
        return result

    def _read_swap_cache_async(self, off: int, who: str, skip_if_exists: bool) -> Steps:
        slot = self.slots[off]
        allocated = False
        while True:
            found, count = yield Call(
                f"{who}: __read_swap_cache_async: filemap_get_folio; swap_swapcount",
                self._lookup_count,
                slot,
            )
            if found is not None:
                return found, False
            if not count:
                return None, False  # "Just skip read ahead for unused swap slot"
            if not allocated:
                if not (yield from self._alloc(f"{who}: __read_swap_cache_async: folio_alloc")):
                    return None, False
                allocated = True
            err = yield from self.swapcache_prepare(off, f"{who}: __read_swap_cache_async")
            if err == OK:
                break
            if err != EEXIST or skip_if_exists:
                return None, False
            yield Await(
                f"{who}: __read_swap_cache_async: -EEXIST, schedule_timeout_uninterruptible",
                self._settled,
                slot,
            )
        page = yield Call(
            f"{who}: __read_swap_cache_async: add_to_swap_cache (folio locked)",
            self._new_cached_page,
            slot,
        )
        return page, True

    def delete_from_swap_cache(self, off: int, page: MemObject) -> Steps:
        """delete_from_swap_cache (6.x): drop the folio and SWAP_HAS_CACHE; may free the slot."""
        yield from self._delete_from_swap_cache(off, page)

    def folio_test_swapcache(self, off: int, page: MemObject) -> bool:
        """folio_test_swapcache: one read, for use inside a design's step."""
        return self._is_cached(self.slots[off], page)

    def folio_mark_dirty(self, page: MemObject) -> None:
        """folio_mark_dirty: for use inside a design's step.

        A dirty swap-cache page is kept by ``_reclaim_page`` and is what a later
        load or the end-state check reads: it is the authoritative copy.
        """
        self.heap.set(page, "dirty", True)
