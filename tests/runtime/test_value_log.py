"""The replay-only value log: before/after per write, the class's methods untouched."""

from __future__ import annotations

from zmodel.runtime import Heap
from zmodel.runtime.value_log import UNSET, ValueLog


def test_writes_are_logged_with_values_on_this_heap_only() -> None:
    heap = Heap()
    other = Heap()
    log = ValueLog(heap)
    entry = heap.alloc("zswap_entry", {"refcount": 1})
    heap.set(entry, "refcount", 0)
    heap.set(entry, "refcount", 0)  # no change, no entry
    heap.forget(entry, "refcount")
    heap.free(entry)
    changes = log.take()
    assert [(c.what, c.field, c.before, c.after) for c in changes] == [
        ("alloc", None, "", ""),
        ("init", "refcount", UNSET, "1"),
        ("set", "refcount", "1", "0"),
        ("forget", "refcount", "0", UNSET),
        ("free", None, "", ""),
    ]
    assert changes[0].obj == f"zswap_entry#{entry.oid}"
    assert log.take() == []
    assert other.log is None  # another heap is not logged
