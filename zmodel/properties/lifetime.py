"""Lifetime properties at quiescence: leaks.

use-after-free, double-free and uninitialised-read are detected by the heap at
the access that commits them (zmodel.runtime.memory).  A leak can only be judged
once every thread is done: an object is leaked if it is live and unreachable from
the world's roots through strong references, or if zswap still holds an entry
for a slot the swap layer has freed (nothing will ever invalidate it).

Pages are exempt: their lifetime follows the page refcount, which the model does
not track (see zmodel.zswap.swap).
"""

from __future__ import annotations

from zmodel.runtime import Heap, Violation
from zmodel.runtime.faults import LEAK
from zmodel.zswap.designs.base import Design
from zmodel.zswap.swap import SwapLayer

EXEMPT_KINDS = frozenset({"page"})


def check_leaks(heap: Heap, swap: SwapLayer, design: Design) -> None:
    reachable = heap.reachable()
    lost = [obj for obj in heap.live() if obj.oid not in reachable and obj.kind not in EXEMPT_KINDS]
    if lost:
        names = ", ".join(repr(obj) for obj in lost)
        raise Violation(LEAK, f"live but unreachable at quiescence: {names}")
    orphans = sorted(design.offsets() & set(swap.free_slots()))
    if orphans:
        raise Violation(LEAK, f"zswap holds entries for freed slot(s) {orphans}")
