"""The seed thread's questions (docs/seed-questions.md), posed as variants of zswap-3.11.

Each variant is a small subclass of :class:`~zmodel.zswap.designs.zswap_311.Zswap311`
that changes one path, one step or one parameter; its step labels name the kernel
function they model and say what the variant changed.  Importing this package
registers them all.
"""

from __future__ import annotations

from zmodel.zswap.designs.base import Design
from zmodel.zswap.designs.seed.q1_refcount import Q1AtomicUnlocked, Q1UnlockedInt
from zmodel.zswap.designs.seed.q2_lockless_walk import Q2LocklessWalk
from zmodel.zswap.designs.seed.q3_atomic_update import Q3FreeZpageFirst, Q3PublishBeforeData

SEED_DESIGNS: tuple[type[Design], ...] = (
    Q1UnlockedInt,
    Q1AtomicUnlocked,
    Q2LocklessWalk,
    Q3PublishBeforeData,
    Q3FreeZpageFirst,
)

__all__ = ["SEED_DESIGNS"]
