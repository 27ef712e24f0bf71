"""zsmalloc: size classes, multi-frame zspages, spanning objects, zs_reclaim_page."""

from __future__ import annotations

from fractions import Fraction
from typing import Any

import pytest

from tests.zswap.alone import run_alone
from zmodel.runtime import Call, Executor, Heap, MemObject, Steps, ThreadProgram, Violation
from zmodel.zswap import zsmalloc
from zmodel.zswap.zsmalloc import WRITEBACK_6_4, ZsPool
from zmodel.zswap.zsmalloc_reclaim import zs_reclaim_page

TWO_THIRDS, ONE_THIRD = Fraction(2, 3), Fraction(1, 3)


def store_n(pool: ZsPool, n: int, out: list[Any], size: Fraction = TWO_THIRDS) -> ThreadProgram:
    cls = pool.size_class(size)
    for i in range(n):
        handle = yield from pool.zs_malloc(cls, may_fail=False)
        if handle is not None:
            yield from pool.zs_write(handle, f"v{i}", "test")
        out.append(handle)


def test_class_geometry_follows_get_pages_per_zspage() -> None:
    assert zsmalloc.get_pages_per_zspage(TWO_THIRDS) == 2
    assert zsmalloc.get_pages_per_zspage(ONE_THIRD) == 1
    # The kernel comment's own example: 3/8 of a page packs 8 objects in 3 pages.
    assert zsmalloc.get_pages_per_zspage(Fraction(3, 8)) == 3
    assert zsmalloc.frames_of_object(TWO_THIRDS, 0) == (0,)
    assert zsmalloc.frames_of_object(TWO_THIRDS, 1) == (0, 1)
    assert zsmalloc.frames_of_object(TWO_THIRDS, 2) == (1,)


def test_objects_share_a_zspage_and_one_spans_two_frames() -> None:
    heap = Heap()
    pool = ZsPool(heap)
    handles: list[Any] = []
    ex = run_alone(heap, store_n(pool, 3, handles))
    zspages = {h.fields["zspage"].oid for h in handles}
    assert len(zspages) == 1
    assert pool.pool.fields["pages_nr"] == 2
    # The middle object is copied out in two steps, one per frame.
    labels = [s.label for s in ex.trace]
    assert sum("next frame" in label for label in labels) == 1
    assert [pool.peek_object(h) for h in handles] == ["v0", "v1", "v2"]


def test_a_reader_between_the_two_copies_sees_a_torn_object() -> None:
    heap = Heap()
    pool = ZsPool(heap)
    handles: list[Any] = []
    seen: list[Any] = []

    def rewriter() -> ThreadProgram:
        yield Call("start", lambda: None)
        yield from pool.zs_write(handles[1], "new", "rewrite")

    def reader() -> ThreadProgram:
        yield Call("start", lambda: None)
        seen.append((yield from pool.zs_read(handles[1], "read")))

    ex = Executor(
        heap, [("setup", store_n(pool, 2, handles)), ("T1", rewriter()), ("T2", reader())]
    )
    while not ex.threads[0].done:
        ex.step(0)
    ex.step(1)
    ex.step(1)  # the first frame holds "new", the second still "v1"
    while not ex.threads[2].done:
        ex.step(2)
    assert seen == [("torn", "new", "v1")]


def test_a_zspage_is_freed_only_when_its_last_object_is() -> None:
    heap = Heap()
    pool = ZsPool(heap)
    handles: list[Any] = []
    freed: list[int] = []

    def program() -> ThreadProgram:
        yield from store_n(pool, 3, handles)
        for h in handles:
            freed.append((yield from pool.zs_free(h)))

    run_alone(heap, program())
    assert freed == [0, 0, 2]
    zspage = handles[0].fields["zspage"]
    assert zspage.freed and all(f.freed for f in zspage.fields["frames"])
    assert pool.pool.fields["pages_nr"] == 0


def test_size_classes_keep_their_own_zspages() -> None:
    heap = Heap()
    pool = ZsPool(heap, (ONE_THIRD, TWO_THIRDS))
    small: list[Any] = []
    large: list[Any] = []

    def program() -> ThreadProgram:
        yield from store_n(pool, 2, small, ONE_THIRD)
        yield from store_n(pool, 1, large, TWO_THIRDS)
        yield from pool.zs_free(small[0])  # multi-class 3.11: the class is read first

    run_alone(heap, program())
    assert small[1].fields["zspage"] is not large[0].fields["zspage"]
    assert pool.pool.fields["pages_nr"] == 1 + 2


def test_the_pool_limit_makes_zs_malloc_fail() -> None:
    heap = Heap()
    pool = ZsPool(heap, limit=2)
    handles: list[Any] = []
    run_alone(heap, store_n(pool, 4, handles))
    assert handles[3] is None and all(h is not None for h in handles[:3])


def test_a_double_zs_free_is_reported() -> None:
    heap = Heap()
    pool = ZsPool(heap)
    handles: list[Any] = []

    def program() -> ThreadProgram:
        yield from store_n(pool, 2, handles)
        yield from pool.zs_free(handles[0])
        yield from pool.zs_free(handles[0])

    with pytest.raises(Violation, match="double-free"):
        run_alone(heap, program())


def evict_freeing(pool: ZsPool, log: list[Any]) -> zsmalloc.Evict:
    def evict(handle: MemObject) -> Steps:
        log.append((yield Call("evict: read header", pool.read_head, handle)))
        yield from pool.zs_free(handle)
        return 0

    return evict


def test_reclaim_evicts_every_object_of_the_lru_tail_zspage() -> None:
    heap = Heap()
    pool = ZsPool(heap, version=WRITEBACK_6_4)
    handles: list[Any] = []
    evicted: list[Any] = []
    result: list[int] = []

    def program() -> ThreadProgram:
        yield from store_n(pool, 4, handles)  # a full zspage, and one object in a second
        result.append((yield from zs_reclaim_page(pool, 8, evict_freeing(pool, evicted))))

    run_alone(heap, program())
    assert result == [0]
    assert evicted == ["v0", "v1", "v2"]  # all of the oldest zspage, spanning one included
    assert handles[0].fields["zspage"].freed
    assert not handles[3].fields["zspage"].freed
    assert pool.pool.fields["evictions_per_free"] == ((3, 2),)
    assert pool.pool.fields["pages_nr"] == 2


def test_a_free_during_reclaim_is_deferred_and_reclaim_frees_the_zspage() -> None:
    heap = Heap()
    pool = ZsPool(heap, version=WRITEBACK_6_4)
    handles: list[Any] = []
    result: list[int] = []

    def evict(handle: MemObject) -> Steps:
        # Evicting the first object also drops the other two (as invalidates would).
        for h in handles:
            yield from pool.zs_free(h)
            zspage = h.fields["zspage"]
            assert not zspage.freed  # under_reclaim: "reclaim will free"
            assert not h.freed  # the handle is deferred too
        return 0

    def program() -> ThreadProgram:
        yield from store_n(pool, 3, handles)
        result.append((yield from zs_reclaim_page(pool, 8, evict)))

    run_alone(heap, program())
    assert result == [0]
    assert all(h.freed for h in handles)
    assert pool.pool.fields["evictions_per_free"] == ((1, 2),)


def test_a_failed_eviction_restores_the_zspage() -> None:
    heap = Heap()
    pool = ZsPool(heap, version=WRITEBACK_6_4)
    handles: list[Any] = []
    result: list[int] = []

    def evict(handle: MemObject) -> Steps:
        if handle is handles[0]:
            yield from pool.zs_free(handle)
            return 0
        return -17  # -EEXIST: the page is in the swap cache

    def program() -> ThreadProgram:
        yield from store_n(pool, 2, handles)
        result.append((yield from zs_reclaim_page(pool, 1, evict)))
        # The restored freelist hands the freed index out again.
        again = yield from pool.zs_malloc(pool.size_class(TWO_THIRDS), may_fail=False)
        handles.append(again)

    run_alone(heap, program())
    assert result == [zsmalloc.EAGAIN]
    zspage = handles[1].fields["zspage"]
    assert not zspage.freed and zspage.fields["inuse"] == 2
    assert handles[2].fields["idx"] == 0
    assert pool.pool.fields["reclaim_log"] == ((2, 0),)


def test_unpinned_reclaim_lets_the_last_free_release_the_zspage() -> None:
    heap = Heap()
    pool = ZsPool(heap, version=WRITEBACK_6_4)
    handles: list[Any] = []
    evicted: list[Any] = []

    def program() -> ThreadProgram:
        yield from store_n(pool, 2, handles)
        ret = yield from zs_reclaim_page(pool, 8, evict_freeing(pool, evicted), pin=False)
        assert ret == 0

    run_alone(heap, program())
    zspage = handles[0].fields["zspage"]
    assert evicted == ["v0", "v1"] and zspage.freed
    ((count, which),) = pool.pool.fields["reclaim_log"]
    assert count == 2 and which is zspage
