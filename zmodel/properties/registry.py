"""Every property zmodel checks: its name (scripts match on it), family and meaning."""

from __future__ import annotations

from dataclasses import dataclass

from zmodel.properties.lock_order import LOCK_ORDER
from zmodel.runtime.faults import (
    BUG_ON,
    DEADLOCK,
    DOUBLE_FREE,
    LEAK,
    UNINITIALISED_READ,
    USE_AFTER_FREE,
)
from zmodel.zswap.faults import DATA_LOSS, REFCOUNT, STALE_DATA, TREE_CORRUPTION


@dataclass(frozen=True)
class Property:
    name: str
    family: str
    #: "access" (inside the step that commits it), "step", "quiescence", or "search"
    #: (over every run the search explored, at its end)
    when: str
    description: str


PROPERTIES: dict[str, Property] = {
    p.name: p
    for p in (
        Property(USE_AFTER_FREE, "lifetime", "access", "a read, write or lock of a freed object"),
        Property(DOUBLE_FREE, "lifetime", "access", "a free of an object already freed"),
        Property(UNINITIALISED_READ, "lifetime", "access", "a read of a field never written"),
        Property(
            LEAK,
            "lifetime",
            "quiescence",
            "an object still live but unreachable, or a zswap entry for a freed slot",
        ),
        Property(REFCOUNT, "refcount", "step", "a refcount outside the range the design allows"),
        Property(
            STALE_DATA,
            "data",
            "step",
            "a load (or the copy a live slot would be read from at quiescence) is older "
            "than the latest version stored to the slot",
        ),
        Property(DATA_LOSS, "data", "step", "a live slot's data exists nowhere"),
        Property(
            DEADLOCK,
            "locking",
            "quiescence",
            "no thread can move, or a thread finished while holding a lock",
        ),
        Property(
            LOCK_ORDER,
            "locking",
            "search",
            "a cycle in the lock-order graph of every explored run (lock B taken while A is"
            " held, and elsewhere A while B is): a potential deadlock, even where no run"
            " deadlocked",
        ),
        Property(BUG_ON, "structure", "step", "a modelled BUG_ON fired"),
        Property(
            TREE_CORRUPTION,
            "structure",
            "access",
            "an rbtree operation on a node that is in no tree (an entry erased twice)",
        ),
    )
}
