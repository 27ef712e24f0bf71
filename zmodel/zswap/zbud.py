"""The zbud allocator of Linux 3.11 (mm/zbud.c): two buddies per page frame.

zbud stores at most two compressed objects in one page frame: the *first* buddy
is left-justified, the *last* right-justified.  The pool keeps pages with one
free buddy on an unbuddied list, full pages on a buddied list, and every page on
an LRU ordered by most recent allocation (head = newest).  Reclaim takes the
LRU tail, marks it ``under_reclaim``, drops ``pool->lock`` and calls the user's
evict callback (zswap_writeback_entry) on each buddy; a ``zbud_free`` that
arrives meanwhile only clears the buddy, and reclaim frees the page once both
buddies are clear.  So freeing one page frame takes at most two evictions.

Model simplifications (each keeps the interleavings that matter):
- sizes are abstract: every object fits in one buddy (3.11 compares chunk counts
  against per-size unbuddied lists; with one size there is one list);
- a handle is ``(page, "first" | "last")`` instead of an address inside the page;
- ``alloc_page`` may fail only when the scenario enables allocation failures.

The pool's lists are allocator metadata: they are weak references for leak
detection, so a page nobody's entry points to is reported even though zbud
still lists it (that is how the 2013 leak shows up at the page level too).
"""

from __future__ import annotations

from collections.abc import Callable, Generator
from typing import Any

from zmodel.runtime import Acquire, Call, Choose, Heap, MemObject, Primitive, Release

Handle = tuple[MemObject, str]
Steps = Generator[Primitive, Any, Any]
#: The evict callback: a thread program that returns 0 on success (zbud_ops.evict).
Evict = Callable[[Handle], Steps]

ENOMEM = -12
EINVAL = -22
EAGAIN = -11


def create_pool(heap: Heap) -> MemObject:
    """zbud_create_pool (3.11): an empty pool with its spinlock."""
    return heap.alloc(
        "zbud_pool",
        {
            "lock": None,
            "unbuddied": (),
            "buddied": (),
            "lru": (),
            "pages_nr": 0,
            "evictions_per_free": (),
        },
        weak=("unbuddied", "buddied", "lru"),
    )


def zbud_alloc(heap: Heap, pool: MemObject, may_fail: bool) -> Steps:
    """zbud_alloc (3.11): returns a handle, or None for -ENOMEM.

    The buddy's contents stay uninitialised until the caller writes them
    (zswap's zbud_map + memcpy), although the page is already on the LRU head.
    """
    yield Acquire(pool, "lock", "zbud_alloc: spin_lock(&pool->lock)")
    page = yield Call("zbud_alloc: take an unbuddied page", _take_unbuddied, heap, pool)
    if page is None:
        yield Release(pool, "lock", "zbud_alloc: spin_unlock (to alloc_page)")
        if may_fail:
            ok = yield Choose("zbud_alloc: alloc_page", (True, False))
            if not ok:
                return None
        yield Acquire(pool, "lock", "zbud_alloc: spin_lock(&pool->lock)")
        page = yield Call("zbud_alloc: init_zbud_page, pages_nr++", _new_page, heap, pool)
    handle = yield Call("zbud_alloc: claim buddy, list_add lru head", _fill, heap, pool, page)
    yield Release(pool, "lock", "zbud_alloc: spin_unlock(&pool->lock)")
    return handle


def zbud_free(heap: Heap, pool: MemObject, handle: Handle) -> Steps:
    """zbud_free (3.11): clear the buddy; free the page unless under reclaim."""
    yield Acquire(pool, "lock", "zbud_free: spin_lock(&pool->lock)")
    yield Call("zbud_free: clear buddy; free page if empty", _free, heap, pool, handle)
    yield Release(pool, "lock", "zbud_free: spin_unlock(&pool->lock)")


def zbud_map(heap: Heap, handle: Handle) -> Any:
    """zbud_map + read (3.11): the object's contents (header and data)."""
    page, bud = handle
    return heap.get(page, f"{bud}_data")


def zbud_reclaim_page(heap: Heap, pool: MemObject, retries: int, evict: Evict) -> Steps:
    """zbud_reclaim_page (3.11): returns 0 when a page frame was freed.

    Records on the pool how many evictions each successful reclaim needed
    (``evictions_per_free``), the figure the seed thread argued about.
    """
    yield Acquire(pool, "lock", "zbud_reclaim_page: spin_lock(&pool->lock)")
    empty = yield Call("zbud_reclaim_page: list_empty(&pool->lru)", _lru_empty, heap, pool)
    if empty or retries == 0:
        yield Release(pool, "lock", "zbud_reclaim_page: spin_unlock (-EINVAL)")
        return EINVAL
    for _ in range(retries):
        page, handles = yield Call(
            "zbud_reclaim_page: take lru tail, under_reclaim = true", _start_reclaim, heap, pool
        )
        yield Release(pool, "lock", "zbud_reclaim_page: spin_unlock before evict")
        evicted = 0
        for handle in handles:
            evicted += 1
            ret = yield from evict(handle)
            if ret != 0:
                break
        yield Acquire(pool, "lock", "zbud_reclaim_page: spin_lock after evict")
        freed = yield Call(
            "zbud_reclaim_page: under_reclaim = false; free or re-list",
            _finish_reclaim,
            heap,
            pool,
            page,
            evicted,
        )
        if freed:
            yield Release(pool, "lock", "zbud_reclaim_page: spin_unlock (freed a page)")
            return 0
    yield Release(pool, "lock", "zbud_reclaim_page: spin_unlock (-EAGAIN)")
    return EAGAIN


def pool_pages(heap: Heap, pool: MemObject) -> int:
    """zbud_get_pool_size (3.11): read without the lock, as the kernel does."""
    pages: int = heap.get(pool, "pages_nr")
    return pages


# -- single steps (run under pool->lock) -------------------------------------------


def _take_unbuddied(heap: Heap, pool: MemObject) -> MemObject | None:
    unbuddied = heap.get(pool, "unbuddied")
    if not unbuddied:
        return None
    heap.set(pool, "unbuddied", unbuddied[1:])
    page: MemObject = unbuddied[0]
    return page


def _new_page(heap: Heap, pool: MemObject) -> MemObject:
    heap.set(pool, "pages_nr", heap.get(pool, "pages_nr") + 1)
    return heap.alloc(
        "zbud_page",
        {"first_chunks": 0, "last_chunks": 0, "under_reclaim": False},
    )


def _fill(heap: Heap, pool: MemObject, page: MemObject) -> Handle:
    bud = "first" if heap.get(page, "first_chunks") == 0 else "last"
    heap.set(page, f"{bud}_chunks", 1)
    heap.forget(page, f"{bud}_data")
    full = heap.get(page, "first_chunks") and heap.get(page, "last_chunks")
    if full:
        heap.set(pool, "buddied", (*heap.get(pool, "buddied"), page))
    else:
        heap.set(pool, "unbuddied", (page, *heap.get(pool, "unbuddied")))
    lru = tuple(p for p in heap.get(pool, "lru") if p is not page)
    heap.set(pool, "lru", (page, *lru))
    return (page, bud)


def _unlist(heap: Heap, pool: MemObject, page: MemObject) -> None:
    for name in ("unbuddied", "buddied"):
        members = heap.get(pool, name)
        if page in members:
            heap.set(pool, name, tuple(p for p in members if p is not page))


def _free(heap: Heap, pool: MemObject, handle: Handle) -> None:
    page, bud = handle
    # The buddy's bytes stay as they were: a reclaim that encoded this handle
    # before the free may still read its header (and find the entry gone).
    heap.set(page, f"{bud}_chunks", 0)
    if heap.get(page, "under_reclaim"):
        return  # "reclaim will free"
    _unlist(heap, pool, page)
    if heap.get(page, "first_chunks") == 0 and heap.get(page, "last_chunks") == 0:
        heap.set(pool, "lru", tuple(p for p in heap.get(pool, "lru") if p is not page))
        heap.free(page, "free_zbud_page")
        heap.set(pool, "pages_nr", heap.get(pool, "pages_nr") - 1)
    else:
        heap.set(pool, "unbuddied", (page, *heap.get(pool, "unbuddied")))


def _lru_empty(heap: Heap, pool: MemObject) -> bool:
    return not heap.get(pool, "lru")


def _start_reclaim(heap: Heap, pool: MemObject) -> tuple[MemObject, tuple[Handle, ...]]:
    lru = heap.get(pool, "lru")
    page: MemObject = lru[-1]
    heap.set(pool, "lru", lru[:-1])
    _unlist(heap, pool, page)
    heap.set(page, "under_reclaim", True)
    handles: list[Handle] = []
    # Encoded before unlocking: "we can race with free that will set
    # (first|last)_chunks to 0" (mm/zbud.c, 3.11).
    if heap.get(page, "first_chunks"):
        handles.append((page, "first"))
    if heap.get(page, "last_chunks"):
        handles.append((page, "last"))
    return page, tuple(handles)


def _finish_reclaim(heap: Heap, pool: MemObject, page: MemObject, evicted: int) -> bool:
    heap.set(page, "under_reclaim", False)
    first, last = heap.get(page, "first_chunks"), heap.get(page, "last_chunks")
    if first == 0 and last == 0:
        heap.free(page, "free_zbud_page")
        heap.set(pool, "pages_nr", heap.get(pool, "pages_nr") - 1)
        heap.set(pool, "evictions_per_free", (*heap.get(pool, "evictions_per_free"), evicted))
        return True
    if first == 0 or last == 0:
        heap.set(pool, "unbuddied", (page, *heap.get(pool, "unbuddied")))
    else:
        heap.set(pool, "buddied", (*heap.get(pool, "buddied"), page))
    heap.set(pool, "lru", (page, *heap.get(pool, "lru")))
    return False
