"""Live figures of a search in progress, for whoever watches (the CLI's --progress).

An engine calls :func:`executed` once per execution it finishes.  When nobody
watches (no :class:`Monitor` installed with :func:`watching`) that is one context
variable lookup; when someone does, the monitor keeps the search's
:class:`~zmodel.explore.result.Result` (so that an interrupted search still has its
figures) and, at most once per ``interval`` seconds, hands a :class:`Snapshot` to
its callback.  The engines stay free of any printing: what a snapshot looks like
on a terminal is the presentation layer's business.

The exhaustive engines pass their backtrack stack as ``levels``: per scheduling
point of the current run, the branch taken and how many are known there.  From
them :func:`explored_fraction` estimates how much of the search tree is done
(see its docstring); it is an estimate, and is labelled as one wherever shown.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass

from zmodel.explore.result import Result

#: Per scheduling point of the current run, from the root: (branches done before
#: the current one, branches known there).  Fractions count: an outcome of a
#: choice step may be a part of a thread's branch.
Levels = Callable[[], Iterable[tuple[float, int]]]


@dataclass(frozen=True)
class Snapshot:
    """The figures of one search at one moment."""

    engine: str
    executions: int
    transitions: int
    distinct_states: int | None  # states in the visited cache (engines that keep one)
    depth: int  # scheduling points on the backtrack stack (or the current run's length)
    seconds: float
    violations: int
    explored: float | None  # estimated fraction of the tree done (exhaustive engines)

    @property
    def transitions_per_second(self) -> float:
        return self.transitions / self.seconds if self.seconds > 0 else 0.0

    @property
    def remaining_seconds(self) -> float | None:
        """The estimated time left, from the explored fraction (None without one)."""
        if self.explored is None or self.explored <= 0:
            return None
        return self.seconds * (1 - self.explored) / self.explored

    @property
    def estimated_executions(self) -> int | None:
        """The estimated executions of the whole search (None without a fraction)."""
        if self.explored is None or self.explored <= 0:
            return None
        return max(self.executions, round(self.executions / self.explored))


class Monitor:
    """Receives every execution of the searches run while it is installed."""

    def __init__(self, on_snapshot: Callable[[Snapshot], None], interval: float = 1.0) -> None:
        self.on_snapshot = on_snapshot
        self.interval = interval
        self.result: Result | None = None  # the search in progress (or the last one)
        self.started = time.perf_counter()
        self.depth = 0
        self.cache_size: int | None = None
        self.explored: float | None = None
        self._due = self.started + interval

    def begin(self, result: Result) -> None:
        """A search starts (an icb round is one too); the clock runs from the monitor's start."""
        self.result = result

    def executed(
        self, result: Result, depth: int, levels: Levels | None, cache_size: int | None
    ) -> None:
        self.begin(result)
        now = time.perf_counter()
        if now < self._due:
            return
        self._due = now + self.interval
        self.depth, self.cache_size = depth, cache_size
        self.explored = explored_fraction(levels()) if levels is not None else None
        self.on_snapshot(self.snapshot(now))

    def snapshot(self, now: float | None = None) -> Snapshot:
        """The figures now: of the search in progress, or the last one seen."""
        result = self.result
        now = time.perf_counter() if now is None else now
        if result is None:
            return Snapshot("", 0, 0, None, 0, now - self.started, 0, None)
        return figures(result, self.depth, now - self.started, self.explored, self.cache_size)

    def elapsed(self) -> float:
        return time.perf_counter() - self.started


def figures(
    result: Result,
    depth: int,
    seconds: float,
    explored: float | None,
    cache_size: int | None = None,
) -> Snapshot:
    """The snapshot of ``result``'s figures (``cache_size``: the states cached, where
    the result does not count them yet)."""
    stats = result.stats
    return Snapshot(
        engine=result.engine,
        executions=stats.executions,
        transitions=stats.transitions,
        distinct_states=stats.distinct_states if stats.distinct_states is not None else cache_size,
        depth=depth,
        seconds=seconds,
        violations=len(result.violations),
        explored=explored,
    )


_MONITOR: ContextVar[Monitor | None] = ContextVar("zmodel_progress_monitor", default=None)


@contextmanager
def watching(monitor: Monitor) -> Iterator[Monitor]:
    """Install ``monitor`` for the searches run inside the ``with`` block."""
    token = _MONITOR.set(monitor)
    try:
        yield monitor
    finally:
        _MONITOR.reset(token)


def executed(
    result: Result, depth: int, levels: Levels | None = None, cache_size: int | None = None
) -> None:
    """An engine finished an execution of the search whose result is ``result``."""
    monitor = _MONITOR.get()
    if monitor is not None:
        monitor.executed(result, depth, levels, cache_size)


def started(result: Result) -> None:
    """An engine starts the search whose result is ``result`` (its figures are live)."""
    monitor = _MONITOR.get()
    if monitor is not None:
        monitor.begin(result)


def explored_fraction(levels: Iterable[tuple[float, int]]) -> float:
    """The fraction of a depth-first search tree done, from the current path.

    The classic estimate (as in Knuth 1975, "Estimating the efficiency of backtrack
    programs", and GenMC's progress estimate): assume every node below a level is
    like its siblings, so each of the ``n`` branches known at a point holds ``1/n``
    of the subtree there.  Then the part done is, summed over the path's levels,
    the branches finished before the current one times the weight of one branch
    there.  DPOR adds branches as it meets races, so the estimate is optimistic
    early and improves as the search goes; it is never shown as a figure of the
    search, only as an estimate.
    """
    fraction, weight = 0.0, 1.0
    for done, known in levels:
        if known <= 0:
            break
        weight /= known
        fraction += min(done, known) * weight
    return min(fraction, 1.0)
