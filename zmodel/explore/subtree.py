"""A subtree of the search: what an exhaustive engine needs to explore only part of it.

The parallel search (:mod:`zmodel.explore.parallel`) cuts the tree into
independent subtrees at its first scheduling points (:mod:`zmodel.explore.split`)
and hands each to a worker.  A subtree is the schedule prefix that leads to its
root and, per scheduling point of the prefix, the *earlier siblings*: the
threads taken at that point by the subtrees ordered before this one, with the
footprint of their step there.

An engine given a subtree takes the prefix's choices at its first scheduling
points and never backtracks into them (the other branches there are other
subtrees).  The DPOR engines also put each earlier sibling's thread asleep at
its point, exactly as they would have after exploring that branch themselves
(their backtrack step does ``sleep[tid] = fp``): the split is the engine's own
search with every thread explored at the prefix points, in a fixed order.
Races whose reversal starts inside the prefix need nothing: every enabled
branch there is explored by some subtree, so the backtrack points they add to
prefix points are left unused.  ``dfs`` and ``plain`` ignore the siblings: their
subtrees partition the schedules exactly.

State caches: the subtrees one worker explores of one search share its cache
(:func:`caching`).  That is sound: an entry is made only for a state whose
exploration is complete (a prefix point is never one), and a hit asks the same
of the entry whichever subtree made it, as in one search whose branches came
in another order.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any, TypeVar

from zmodel.explore.races import Footprint
from zmodel.explore.result import Choice

T = TypeVar("T")

#: Earlier siblings at one prefix point: their thread and its step's footprint there.
Siblings = tuple[tuple[int, Footprint], ...]


@dataclass(frozen=True)
class Subtree:
    """The branch of the search below ``prefix`` (see the module docstring)."""

    prefix: tuple[Choice, ...] = ()
    siblings: tuple[Siblings, ...] = ()

    def __post_init__(self) -> None:
        if self.siblings and len(self.siblings) != len(self.prefix):
            raise ValueError("a subtree needs the siblings of every prefix point, or none")

    @property
    def base(self) -> int:
        """Scheduling points of the prefix: the engine backtracks no higher."""
        return len(self.prefix)

    def asleep(self, depth: int) -> dict[int, Footprint]:
        """The earlier siblings' threads at prefix point ``depth``, asleep there."""
        return dict(self.siblings[depth]) if self.siblings else {}


WHOLE = Subtree()

_CACHES: ContextVar[dict[str, Any] | None] = ContextVar("zmodel_caches", default=None)


@contextmanager
def caching(store: dict[str, Any]) -> Iterator[None]:
    """Searches inside the block keep their state cache in ``store`` (by kind), so
    the subtrees one worker explores of one search share it."""
    token = _CACHES.set(store)
    try:
        yield
    finally:
        _CACHES.reset(token)


def shared_cache(kind: str, make: Callable[[], T]) -> T:
    """The state cache a search should use: the worker's for this search, or a new one."""
    store = _CACHES.get()
    if store is None:
        return make()
    if kind not in store:
        store[kind] = make()
    found: T = store[kind]
    return found
