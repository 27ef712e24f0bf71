"""zbud (3.11): two buddies per page frame, reclaim through the evict callback."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from tests.zswap.alone import run_alone
from zmodel.runtime import Call, Heap, MemObject, Steps, ThreadProgram
from zmodel.zswap import zbud


def alloc_n(heap: Heap, pool: MemObject, n: int, out: list[Any]) -> ThreadProgram:
    for i in range(n):
        handle = yield from zbud.zbud_alloc(heap, pool, may_fail=False)
        yield Call("write", heap.set, handle[0], f"{handle[1]}_data", (i, f"v{i}"))
        out.append(handle)


def test_two_objects_share_one_page_frame() -> None:
    heap = Heap()
    pool = zbud.create_pool(heap)
    handles: list[Any] = []
    run_alone(heap, alloc_n(heap, pool, 3, handles))
    assert handles[0][0] is handles[1][0]
    assert {handles[0][1], handles[1][1]} == {"first", "last"}
    assert handles[2][0] is not handles[0][0]
    assert pool.fields["pages_nr"] == 2


def evict_freeing(heap: Heap, pool: MemObject, log: list[Any]) -> Callable[[zbud.Handle], Steps]:
    def evict(handle: zbud.Handle) -> Steps:
        log.append(handle)
        yield from zbud.zbud_free(heap, pool, handle)
        return 0

    return evict


def test_reclaim_frees_the_oldest_page_after_at_most_two_evictions() -> None:
    heap = Heap()
    pool = zbud.create_pool(heap)
    handles: list[Any] = []
    evicted: list[Any] = []

    def program() -> ThreadProgram:
        yield from alloc_n(heap, pool, 3, handles)
        ret = yield from zbud.zbud_reclaim_page(heap, pool, 8, evict_freeing(heap, pool, evicted))
        assert ret == 0

    run_alone(heap, program())
    # The LRU head is the most recently allocated page: reclaim took the other.
    assert evicted == handles[:2]
    assert handles[0][0].freed
    assert pool.fields["pages_nr"] == 1
    assert pool.fields["evictions_per_free"] == (2,)


def test_a_free_during_reclaim_leaves_the_page_to_reclaim() -> None:
    heap = Heap()
    pool = zbud.create_pool(heap)
    handles: list[Any] = []

    def evict_fails(handle: zbud.Handle) -> Steps:
        # The object is freed by someone else while the page is under reclaim.
        yield from zbud.zbud_free(heap, pool, handle)
        assert not handle[0].freed  # "reclaim will free"
        return -1

    def program() -> ThreadProgram:
        yield from alloc_n(heap, pool, 1, handles)
        ret = yield from zbud.zbud_reclaim_page(heap, pool, 1, evict_fails)
        assert ret == 0  # the page is empty after all, so reclaim freed it

    run_alone(heap, program())
    assert handles[0][0].freed


def test_reclaim_of_an_empty_pool_is_einval() -> None:
    heap = Heap()
    pool = zbud.create_pool(heap)
    result: list[int] = []

    def program() -> ThreadProgram:
        result.append(
            (yield from zbud.zbud_reclaim_page(heap, pool, 8, evict_freeing(heap, pool, [])))
        )

    run_alone(heap, program())
    assert result == [zbud.EINVAL]
