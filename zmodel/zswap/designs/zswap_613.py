"""zswap in Linux 6.13 (mm/zswap.c of 6.13.2): the CVE-2025-21693 fix, zswap_store_page.

The first release with 12dcb0ef5406 ("mm: zswap: properly synchronize freeing
resources during CPU hotunplug") and 779b9955f643 ("mm: zswap: move
allocations during CPU init outside the lock"), both merged for 6.13 (Fixes:
1ec3b5fe6eec, the acomp conversion of 5.x).  Transcribed from the 6.13.2 tree
(Makefile 6.13.2; its zswap.c differs from 6.13's only in zswap_store_page's
accounting, which the model leaves out).  What changed from 6.12 in the
modelled paths:

- ``zswap_compress`` / ``zswap_decompress`` take the context with
  ``acomp_ctx_get_cpu_lock`` (re-check ``req`` under the mutex, retry on the
  CPU the task is on now), and ``zswap_cpu_comp_dead`` frees under the mutex
  and sets ``req = NULL``; ``zswap_cpu_comp_prepare`` allocates first and
  publishes under the mutex (acomp_ctx.py, ``CtxSync.MUTEX``);
- ``zswap_store`` (large folios: a loop of ``zswap_store_page``; the model's
  folios are one page) takes ``pool = zswap_pool_current_get()`` once for the
  folio and puts it at the end; ``zswap_store_page`` compresses with that
  pool, ``xa_store``s the entry, frees an old one, and only then takes the
  entry's own pool reference and sets ``entry->pool``, ``swpentry`` and
  ``referenced`` before ``zswap_lru_add`` ("we finish initializing the entry
  while it's already in xarray": the folio lock excludes stores and
  invalidations, the LRU excludes writeback);
- ``zswap_invalidate`` returns at once when the tree is empty (``xa_empty``).

Simplifications as in zswap_612.py.
"""

from __future__ import annotations

from typing import ClassVar

from zmodel.runtime import Call, Choose, MemObject
from zmodel.zswap import xarray, zpool
from zmodel.zswap.acomp_ctx import CtxSync
from zmodel.zswap.designs.base import Steps
from zmodel.zswap.designs.zswap_612 import SUITE_612, Zswap612

RETRY = "acomp_ctx_get_cpu_lock: mutex_unlock, retry"


class Zswap613(Zswap612):
    name = "zswap-6.13"
    kernel = "6.13"
    description = "6.13: 6.12 with the CPU-hotunplug fix (CVE-2025-21693) and zswap_store_page"
    version = "6.13"
    ctx_sync: ClassVar[CtxSync] = CtxSync.MUTEX
    suite = SUITE_612  # with the hotplug and pool scenarios 6.12 fails
    expected: ClassVar[dict[str, frozenset[str]]] = {}
    reach: ClassVar[dict[str, tuple[str, ...]]] = {
        **Zswap612.reach,
        "bypass-vs-writeback": (
            "zswap_writeback_entry (6.13): __read_swap_cache_async: swapcache_prepare",
        ),
        # A task took the dying CPU's context: acomp_ctx_get_cpu_lock finds req NULL.
        "hotplug-vs-store": (f"zswap_store_page (6.13): zswap_compress: {RETRY}",),
        "hotplug-vs-load": (f"zswap_load (6.13): zswap_decompress: {RETRY}",),
        # The old pool is released once its last entry goes.
        "pool-switch-vs-writeback": (
            "zswap_writeback_entry (6.13): zswap_entry_free: __zswap_pool_empty:"
            " WARN_ON(pool == current); list_del_rcu",
        ),
    }

    def store(self, offset: int, page: MemObject) -> Steps:
        """zswap_store (6.13) of a one-page folio.  Folio locked and in the swap cache."""
        who = "zswap_store (6.13)"
        if self.toggles and not (yield Call(f"{who}: zswap_enabled?", self._enabled)):
            return (yield from self.check_old(offset, who))
        if (yield from self.store_check_limits(who)):
            return (yield from self.check_old(offset, who))
        pool = yield Call(f"{who}: zswap_pool_current_get", self.pools.current_get)
        if pool is None:
            return (yield from self.check_old(offset, who))
        stored = yield from self.store_page(offset, page, pool)
        yield from self.pools.put(pool, f"{who}: put_pool")
        if not stored:
            return (yield from self.check_old(offset, who))
        return True

    def store_page(self, offset: int, page: MemObject, pool: MemObject) -> Steps:
        """zswap_store_page (6.13): True once the entry is in the xarray and on the LRU.

        Built from named steps: ``store_page_alloc_entry``, ``compress``,
        ``store_page_publish``, ``store_page_finish``, ``store_lru_add``."""
        who = "zswap_store_page (6.13)"
        entry = yield from self.store_page_alloc_entry(who)
        if entry is None:
            return False
        if not (yield from self.compress(entry, page, offset, who, pool)):
            yield Call(f"{who}: compress_failed: zswap_entry_cache_free", self.heap.free, entry)
            return False
        if not (yield from self.store_page_publish(offset, entry, pool, who)):
            return False
        yield from self.store_page_finish(entry, pool, offset, who)
        yield from self.store_lru_add(entry, who)
        return True

    def store_page_alloc_entry(self, who: str) -> Steps:
        """zswap_store_page (6.13): zswap_entry_cache_alloc (or None); no pool yet."""
        if self.may_fail:
            ok = yield Choose(f"{who}: zswap_entry_cache_alloc", (True, False))
            if not ok:
                return None
        return (yield Call(f"{who}: zswap_entry_cache_alloc", self.heap.alloc, "zswap_entry"))

    def store_page_publish(self, offset: int, entry: MemObject, pool: MemObject, who: str) -> Steps:
        """xa_store in zswap_store_page (6.13), the old entry freed; False (store_failed:
        zpool_free, cache free) if the xarray node allocation fails."""
        if self.may_fail:
            ok = yield Choose(f"{who}: xa_store (xarray node allocation)", (True, False))
            if not ok:
                yield Call(
                    f"{who}: store_failed: zpool_free; zswap_entry_cache_free",
                    self._unstored,
                    entry,
                    pool,
                )
                return False
        old = yield Call(f"{who}: xa_store", xarray.xa_store, self.heap, self.xa, offset, entry)
        if old is not None:
            yield from self.entry_free(old, f"{who}: old")
        return True

    def store_page_finish(self, entry: MemObject, pool: MemObject, offset: int, who: str) -> Steps:
        """zswap_store_page (6.13) after xa_store: zswap_pool_get, entry->pool,
        swpentry, referenced = true (the fields 6.12 fills before publishing)."""
        yield Call(
            f"{who}: zswap_pool_get(pool); entry->pool, swpentry = ...; referenced = true",
            self._finish,
            entry,
            pool,
            offset,
        )

    def invalidate_page(self, offset: int) -> Steps:
        """zswap_invalidate (6.13): ``if (xa_empty(tree)) return;`` then as 6.12."""
        who = "zswap_invalidate (6.13)"
        if (yield Call(f"{who}: xa_empty", xarray.xa_empty, self.heap, self.xa)):
            return
        yield from self.invalidate_erase(offset, who)

    # -- single steps ------------------------------------------------------------------
    def _finish(self, entry: MemObject, pool: MemObject, offset: int) -> None:
        self.pools.get(pool)
        self.heap.set(entry, "pool", pool)
        self.heap.set(entry, "offset", offset)
        self.heap.set(entry, "referenced", True)

    def _unstored(self, entry: MemObject, pool: MemObject) -> None:
        zpool.free(self.heap, self.heap.get(pool, "zpool"), self.heap.get(entry, "handle"))
        self.heap.free(entry, "zswap_entry_cache_free")
