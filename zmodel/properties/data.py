"""Data properties at quiescence: every live slot still reads back its latest version.

A load checks this itself, inside its step (zmodel.zswap.swap).  At quiescence
the checker asks, for every slot still in use, what a load would read now (the
swap-cache page, else zswap where the swap layer would ask it, else the device)
and compares it with the ghost record of the latest version stored.
"""

from __future__ import annotations

from zmodel.runtime import Heap, Violation
from zmodel.zswap.faults import DATA_LOSS, STALE_DATA
from zmodel.zswap.swap import SwapLayer


def check_slot_data(heap: Heap, swap: SwapLayer) -> None:
    for off in swap.live_slots():
        latest = heap.peek(swap.slots[off], "latest")
        got = swap.authoritative(off)
        if got is None:
            raise Violation(DATA_LOSS, f"slot {off} is in use but {latest!r} exists nowhere")
        if got != latest:
            raise Violation(STALE_DATA, f"slot {off} would read {got!r}, latest is {latest!r}")
