"""zs_reclaim_page: zsmalloc's own writeback, 6.2-6.4 (9997bc017549 to 6.5's removal).

Reclaim frees a whole zspage, so it must evict every object in it.  Read from
"zsmalloc: Implement writeback mechanism for zsmalloc" (v5, Nov 2022) with the
deferred-handle fix ("zsmalloc: fix a race with deferred_handles storing",
Jan 2023: restore_freelist on failure):
1. under ``pool->lock``: the LRU tail zspage; ``list_del``; ``under_reclaim =
   true`` ("zs_free may free objects, but not the zspage and handles");
   ``remove_zspage`` ("Lock out object allocations and object compaction");
2. unlocked: ``lock_zspage``, then ``find_alloced_obj`` / ``evict`` for every
   allocated object, stopping at the first failure;
3. under ``pool->lock``: ``under_reclaim = false``; ``__free_zspage`` if
   ``inuse == 0`` (freeing the deferred handles), else ``restore_freelist``,
   ``putback_zspage`` and back to the LRU head; up to ``retries`` times.

``pin=False`` is the Q5 variant "evicts a zspage's objects one by one without
pinning it": no ``under_reclaim``, no ``remove_zspage``.  It snapshots the
allocated handles under the lock (as zbud encodes its two handles before
unlocking) and evicts them, trusting the last ``zs_free`` to free the zspage;
after a successful pass it does not touch the zspage again.

Each attempt is logged on the pool for Q5 (``reclaim_log``): (evictions, frames
freed), or (evictions, zspage) for the unpinned variant, which cannot know
whether the zspage went; the analysis resolves it at quiescence.
"""

from __future__ import annotations

from typing import Any

from zmodel.runtime import Acquire, Call, MemObject, Release
from zmodel.zswap.zsmalloc import EAGAIN, EINVAL, WRITEBACK_6_4, Evict, Handle, Steps, ZsPool


def zs_reclaim_page(zpool: ZsPool, retries: int, evict: Evict, *, pin: bool = True) -> Steps:
    """zs_reclaim_page (6.2-6.4): 0 when it freed a zspage, -EINVAL or -EAGAIN."""
    if zpool.version != WRITEBACK_6_4:
        raise ValueError("zs_reclaim_page exists only in the 6.2-6.4 zsmalloc")
    v = WRITEBACK_6_4 if pin else "unpinned"
    pool = zpool.pool
    yield Acquire(pool, "lock", f"zs_reclaim_page ({v}): spin_lock(&pool->lock)")
    empty = yield Call(f"zs_reclaim_page ({v}): list_empty(&pool->lru)", _lru_empty, zpool)
    if empty or retries == 0:
        yield Release(pool, "lock", f"zs_reclaim_page ({v}): spin_unlock (-EINVAL)")
        return EINVAL
    for _ in range(retries):
        if pin:
            zspage = yield Call(
                "zs_reclaim_page (6.2-6.4): list_last_entry(&pool->lru), list_del, "
                "under_reclaim = true, remove_zspage",
                _start_reclaim,
                zpool,
            )
            yield Release(pool, "lock", "zs_reclaim_page (6.2-6.4): spin_unlock")
            evicted, ret = yield from _evict_scan(zpool, zspage, evict)
        else:
            zspage, handles = yield Call(
                "zs_reclaim_page (unpinned): list_last_entry, list_del, snapshot handles",
                _start_unpinned,
                zpool,
            )
            yield Release(pool, "lock", "zs_reclaim_page (unpinned): spin_unlock")
            evicted, ret = 0, 0
            for handle in handles:
                evicted += 1
                ret = yield from evict(handle)
                if ret:
                    break
            if not ret:
                # "The last zs_free has freed the zspage": it is not touched again.
                yield Call("zs_reclaim_page (unpinned): done", _log, zpool, evicted, zspage)
                return 0
        yield Acquire(pool, "lock", f"zs_reclaim_page ({v}): spin_lock(&pool->lock)")
        if pin:
            freed = yield Call(
                "zs_reclaim_page (6.2-6.4): under_reclaim = false; __free_zspage if "
                "inuse == 0, else restore_freelist, putback_zspage, LRU head",
                _finish_reclaim,
                zpool,
                zspage,
                evicted,
            )
        else:
            freed = yield Call(
                "zs_reclaim_page (unpinned): an eviction failed: back to the LRU head",
                _putback_unpinned,
                zpool,
                zspage,
                evicted,
            )
        if freed:
            yield Release(pool, "lock", f"zs_reclaim_page ({v}): spin_unlock (freed)")
            return 0
    yield Release(pool, "lock", f"zs_reclaim_page ({v}): spin_unlock (-EAGAIN)")
    return EAGAIN


def _evict_scan(zpool: ZsPool, zspage: MemObject, evict: Evict) -> Steps:
    """The find_alloced_obj / evict loop: ``(evictions, last return value)``."""
    idx, evicted, ret = 0, 0, 0
    while True:
        found = yield Call(
            "zs_reclaim_page (6.2-6.4): find_alloced_obj", _find_alloced, zpool, zspage, idx
        )
        if found is None:
            return evicted, ret
        idx, handle = found
        evicted += 1
        ret = yield from evict(handle)
        if ret:
            return evicted, ret
        idx += 1


# -- single steps ---------------------------------------------------------------


def _lru_empty(zpool: ZsPool) -> bool:
    return not zpool.heap.get(zpool.pool, "lru")


def _take_lru_tail(zpool: ZsPool) -> MemObject:
    lru = zpool.heap.get(zpool.pool, "lru")
    zpool.heap.set(zpool.pool, "lru", lru[:-1])
    zspage: MemObject = lru[-1]
    return zspage


def _start_reclaim(zpool: ZsPool) -> MemObject:
    heap = zpool.heap
    zspage = _take_lru_tail(zpool)
    heap.set(zspage, "under_reclaim", True)
    state = zpool.class_of(zspage).state
    heap.set(state, "partial", tuple(z for z in heap.get(state, "partial") if z is not zspage))
    return zspage


def _start_unpinned(zpool: ZsPool) -> tuple[MemObject, tuple[Handle, ...]]:
    zspage = _take_lru_tail(zpool)
    slots = zpool.heap.get(zspage, "slots")
    return zspage, tuple(s for s in slots if isinstance(s, MemObject))


def _find_alloced(zpool: ZsPool, zspage: MemObject, start: int) -> tuple[int, Handle] | None:
    slots = zpool.heap.get(zspage, "slots")
    for idx in range(start, len(slots)):
        if isinstance(slots[idx], MemObject):
            return idx, slots[idx]
    return None


def _finish_reclaim(zpool: ZsPool, zspage: MemObject, evicted: int) -> bool:
    heap = zpool.heap
    heap.set(zspage, "under_reclaim", False)
    slots = heap.get(zspage, "slots")
    deferred = [i for i, s in enumerate(slots) if isinstance(s, tuple)]
    if heap.get(zspage, "inuse") == 0:
        for i in deferred:  # free_handles
            heap.free(slots[i][1], "cache_free_handle")
        frames = zpool.free_zspage(zspage)
        record = (evicted, frames)
        heap.set(
            zpool.pool, "evictions_per_free", (*heap.get(zpool.pool, "evictions_per_free"), record)
        )
        _log(zpool, evicted, frames)
        return True
    # restore_freelist: objects freed during reclaim go back on the freelist.
    for i in deferred:
        heap.free(slots[i][1], "cache_free_handle")
        zpool.set_slot(zspage, i, None)
    heap.set(zspage, "freelist", (*deferred, *heap.get(zspage, "freelist")))
    cls = zpool.class_of(zspage)
    if heap.get(zspage, "inuse") < cls.objects:
        heap.set(cls.state, "partial", (zspage, *heap.get(cls.state, "partial")))
    heap.set(zpool.pool, "lru", (zspage, *heap.get(zpool.pool, "lru")))
    _log(zpool, evicted, 0)
    return False


def _putback_unpinned(zpool: ZsPool, zspage: MemObject, evicted: int) -> bool:
    """The zspage still holds the object whose eviction failed, unless a
    concurrent zs_free emptied it meanwhile and freed it: nothing pins it."""
    heap = zpool.heap
    if heap.get(zspage, "inuse"):
        heap.set(zpool.pool, "lru", (zspage, *heap.get(zpool.pool, "lru")))
    _log(zpool, evicted, 0)
    return False


def _log(zpool: ZsPool, evicted: int, freed: Any) -> None:
    """Q5 ghost: one record per attempt; ``freed`` is a frame count or the zspage."""
    log = zpool.heap.get(zpool.pool, "reclaim_log")
    zpool.heap.set(zpool.pool, "reclaim_log", (*log, (evicted, freed)))
