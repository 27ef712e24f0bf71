"""The safety properties, one module per family, and the end-state check."""

from __future__ import annotations

from zmodel.properties.data import check_slot_data
from zmodel.properties.lifetime import check_leaks
from zmodel.properties.locking import check_locks_released
from zmodel.properties.registry import PROPERTIES, Property
from zmodel.runtime import Heap
from zmodel.zswap.designs.base import Design
from zmodel.zswap.swap import SwapLayer


def check_end_state(heap: Heap, swap: SwapLayer, design: Design) -> None:
    """All quiescence properties; raises the first Violation found."""
    check_locks_released(heap)
    check_leaks(heap, swap, design)
    check_slot_data(heap, swap)


__all__ = ["PROPERTIES", "Property", "check_end_state"]
