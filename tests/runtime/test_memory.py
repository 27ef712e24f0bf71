"""The heap: footprints of every access, and the lifetime faults it detects."""

from __future__ import annotations

import pytest

from zmodel.runtime import Heap, ModelError, Violation
from zmodel.runtime.faults import DOUBLE_FREE, UNINITIALISED_READ, USE_AFTER_FREE


def stepping_heap() -> Heap:
    heap = Heap()
    heap.begin_step(0)
    return heap


def test_reads_and_writes_are_recorded_per_field() -> None:
    heap = stepping_heap()
    obj = heap.alloc("thing", {"a": 1})
    heap.end_step()
    heap.begin_step(1)
    assert heap.get(obj, "a") == 1
    heap.set(obj, "b", 2)
    reads, writes = heap.end_step()
    assert reads == {(obj.oid, "a")}
    assert writes == {(obj.oid, "b")}


def test_alloc_and_free_touch_the_whole_object() -> None:
    heap = stepping_heap()
    obj = heap.alloc("thing")
    heap.free(obj)
    _reads, writes = heap.end_step()
    assert writes == {(obj.oid, None)}


def test_read_after_free_is_use_after_free() -> None:
    heap = stepping_heap()
    obj = heap.alloc("thing", {"a": 1})
    heap.free(obj)
    with pytest.raises(Violation) as exc:
        heap.get(obj, "a")
    assert exc.value.prop == USE_AFTER_FREE


def test_write_after_free_is_use_after_free() -> None:
    heap = stepping_heap()
    obj = heap.alloc("thing")
    heap.free(obj)
    with pytest.raises(Violation) as exc:
        heap.set(obj, "a", 1)
    assert exc.value.prop == USE_AFTER_FREE


def test_second_free_is_double_free() -> None:
    heap = stepping_heap()
    obj = heap.alloc("thing")
    heap.free(obj)
    with pytest.raises(Violation) as exc:
        heap.free(obj)
    assert exc.value.prop == DOUBLE_FREE


def test_read_of_unwritten_field_is_uninitialised() -> None:
    heap = stepping_heap()
    obj = heap.alloc("thing")
    with pytest.raises(Violation) as exc:
        heap.get(obj, "never")
    assert exc.value.prop == UNINITIALISED_READ


def test_forget_makes_a_field_garbage_again() -> None:
    heap = stepping_heap()
    obj = heap.alloc("thing", {"a": 1})
    heap.forget(obj, "a")
    with pytest.raises(Violation):
        heap.get(obj, "a")


def test_embedded_parts_die_with_their_parent() -> None:
    heap = stepping_heap()
    parent = heap.alloc("tree")
    lock = heap.alloc("lock", {"holder": None})
    heap.embed(parent, lock)
    heap.free(parent)
    assert lock.freed


def test_access_outside_a_step_is_a_model_error() -> None:
    heap = stepping_heap()
    obj = heap.alloc("thing", {"a": 1})
    heap.end_step()
    with pytest.raises(ModelError):
        heap.get(obj, "a")


def test_mutable_values_are_refused() -> None:
    heap = stepping_heap()
    obj = heap.alloc("thing")
    with pytest.raises(ModelError):
        heap.set(obj, "a", [1, 2])


def test_reachability_follows_strong_fields_only() -> None:
    heap = stepping_heap()
    target = heap.alloc("target")
    weakly_held = heap.alloc("weak")
    heap.alloc("root", {"strong": (target,), "lists": (weakly_held,)}, weak=("lists",), root=True)
    reachable = heap.reachable()
    assert target.oid in reachable
    assert weakly_held.oid not in reachable


def test_object_ids_are_per_thread_so_independent_allocations_commute() -> None:
    def ids(order: list[int]) -> list[tuple[int, int]]:
        heap = Heap()
        out = []
        for tid in order:
            heap.begin_step(tid)
            out.append((tid, heap.alloc("x").oid))
        return sorted(out)

    assert ids([1, 2, 1]) == ids([2, 1, 1])


def test_reachability_follows_the_fields_of_embedded_parts() -> None:
    heap = stepping_heap()
    parent = heap.alloc("tree", root=True)
    part = heap.alloc("lru", {"head": None})
    heap.embed(parent, part)
    target = heap.alloc("entry")
    heap.set(part, "head", target)
    assert {part.oid, target.oid} <= heap.reachable()
