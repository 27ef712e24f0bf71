"""Locking at quiescence: no lock is left held once every thread is done.

A deadlock proper (unfinished threads that can none of them move) is detected by
the executor when no thread is enabled; a lock still held at the end is the
same bug seen earlier: the next thread to take it would wait forever.
"""

from __future__ import annotations

from zmodel.runtime import Heap, Violation
from zmodel.runtime.faults import DEADLOCK

LOCK_FIELDS = ("lock", "PG_locked")


def check_locks_released(heap: Heap) -> None:
    for obj in heap.live():
        for name in LOCK_FIELDS:
            holder = obj.fields.get(name)
            if holder is not None:
                raise Violation(
                    DEADLOCK, f"{obj!r}.{name} still held by thread {holder} at the end"
                )
