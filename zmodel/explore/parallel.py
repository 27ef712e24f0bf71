"""Parallel exhaustive search: a program's tree split once, its subtrees run on
persistent workers, the results merged in the serial order.

:func:`explore_parallel` runs one search on a back-end's workers (it is
:func:`~zmodel.explore.many.explore_many` of one search; a suite's searches share
the workers that way).  The search's first unit, its plan, runs on a worker
(:mod:`zmodel.explore.units`): the default engine's choice, then the split
(:mod:`zmodel.explore.split`, along the leftmost path, into
:data:`~zmodel.explore.split.DEFAULT_TARGET` units whatever the number of
workers).  The subtrees are then handed out in order, one at a time, to idle
workers.  When a worker is idle and none is left, the unit that has run longest
(at least :data:`~zmodel.explore.many.STEAL_AFTER` seconds) is asked for work:
between two runs it gives the branches left at the point nearest its root that
has any and goes on with its own (:mod:`zmodel.explore.donate`).  A gift is
expanded in full, so it costs work (on 3.11's ``writeback | load 2 | free 1``,
asked after 0.5 s, 6 gifts took the workers' CPU from 8.9 to 10.3 s and the wall
time from 5.05 to 5.52 s; on lastzero(12), asked after 2 s, 10 gifts took 9.9 to
11.2 CPU-s); it pays only where one unit holds much of a long search.

* The default engine (``dpor``, ``-X cache=auto``) is chosen as one process
  chooses it (:mod:`zmodel.explore.choose`): the plan runs cached source-DPOR on
  the whole tree for up to ``probe`` runs first; a search that ends in the probe
  is that result; else the units run cached source-DPOR (a hit came) or optimal
  DPOR (none came).  A search that is not split (an engine that explores no
  subtree, a tree of one subtree) runs whole in its plan.
* State cache: each worker keeps one per search, shared by the units it runs
  (:mod:`zmodel.explore.subtree`), and the entries a unit stored travel with the
  next unit handed to every other worker (:meth:`StateCache.adopt
  <zmodel.explore.dpor_cache.StateCache.adopt>`): on 3.11's ``writeback | load 2
  | free 1`` two workers with their own caches alone ran 31 % more transitions
  than one process (832 k against 636 k), with the entries shared 8 % (686 k).
  A running unit ships what it stored every half second too
  (:mod:`zmodel.explore.sharing`), so a long unit's entries reach the units run
  beside it.
  The entries of states :data:`~zmodel.explore.units.SHIP_DEPTH` steps deep or
  deeper stay home (the same 686 k, half the bytes).
* Merging (:mod:`zmodel.explore.tracker`): violations in the units' order; with
  stop-at-first, the units after the first violating one are not started (the
  ones before it still finish).  Figures are summed (``distinct_states``: the
  largest worker's cache); the labels run and the lock-order edges are taken in
  the units' order too (an edge's first witness is the serial order's, whichever
  worker finished first).  The verdict is exhaustive only if every unit
  finished; a unit whose worker died is run again (noted in ``Result.notes``),
  up to :data:`~zmodel.explore.tracker.RETRIES` times, then the search is cut by
  it.  A time limit cuts the units not finished by then.
"""

from __future__ import annotations

from typing import Any

from zmodel.explore import progress
from zmodel.explore.backends import Backend
from zmodel.explore.engines import EngineOptions
from zmodel.explore.many import Board, Many, Search
from zmodel.explore.result import Result
from zmodel.explore.split import DEFAULT_TARGET
from zmodel.explore.units import Source

__all__ = ["Source", "explore_parallel"]


def explore_parallel(
    source: Source,
    backend: Backend,
    engine: str | None,
    options: EngineOptions,
    *,
    coverage: set[str] | None = None,
    edges: dict[Any, Any] | None = None,
    target: int = DEFAULT_TARGET,
) -> Result:
    """:func:`~zmodel.explore.explore` of ``source``'s program on ``backend``'s workers;
    the labels run and the lock-order edges (first witness in the serial order) are
    added to ``coverage`` and ``edges``.  The figures of the units done go to the
    progress monitor installed (:func:`zmodel.explore.progress.watching`)."""

    def watched(board: Board) -> None:
        if board:
            (flight,) = board
            levels = [(flight.units_done, flight.units_known)]
            progress.executed(flight.partial, 1, lambda: levels)

    many = Many([Search(source, engine, options)], backend, target=target, on_progress=watched,
                interval=0.0)  # fmt: skip
    try:
        (searched,) = list(many)
    finally:
        many.close()
    if coverage is not None:
        coverage |= searched.coverage
    if edges is not None:
        for key, dep in searched.edges.items():
            edges.setdefault(key, dep)
    return searched.result
