"""Handing unexplored branches of a running search to idle workers (work stealing).

A parallel search cuts its tree into subtrees before it starts
(:mod:`zmodel.explore.split`), and the cut cannot know which subtree will be
big: on 3.11's ``writeback | load 2 | free 1`` one of 64 units can hold a
quarter of the work, and the last unit running keeps one worker busy while the
others wait.  So a worker that is asked (the coordinator asks when a worker is
idle and nothing is left to hand out, :mod:`zmodel.explore.many`) gives away,
between two runs, the branches of the scheduling point nearest its subtree's
root that has any left, and goes on with its own branch there (Simsa, Bryant
and Gibson, "Scalable dynamic partial order reduction", RV 2012: a worker
gives away the unexplored branches nearest the root, the biggest).  The given
subtrees go into the queue right after the giver's unit (a later gift, from a
deeper point, before an earlier one: the serial engine's order).

The point given from becomes a prefix point of the giver and of the new
subtrees, and a prefix point must have *all* its branches explored by some
subtree: a race found below it whose reversal starts at or above it is left to
the subtrees that take its other branches (:mod:`zmodel.explore.subtree`).  So
the point is expanded in full: every enabled thread not asleep there and not
explored yet, each outcome of a choice, becomes a subtree, not only the
branches the engine's races had asked for (with sleep sets a branch it did not
need ends its runs asleep, so no trace runs twice, Godefroid 1996).  The giver
drops what its races would add there from then on, as at any prefix point.  A
point with nothing to give is fixed the same way (all its branches are done or
asleep) and the next one down is tried.

Sleepers.  A given subtree's prefix is the giver's choices down to the point
and its own choice there.  At each prefix point its earlier siblings (which the
engine puts asleep) are the threads explored there before it, with their
steps' footprints: at the points above, those the giver had when it fixed them;
at the point itself the explored ones, the giver's own thread (whose branch
runs first) and the threads given before it, whose footprints are found by
running their step there (by their last outcome, as the serial engine puts a
thread asleep).  Threads asleep on arrival at a point are not siblings: the
engine computes them from the point above, as the giver did.  Below its prefix
a subtree is the engine's usual search, so this is the split of
:mod:`zmodel.explore.split` made later, at a point the giver had reached, and
the same argument makes it sound; tests/explore/test_donate.py checks it
against plain enumeration with a gift after every few runs.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Protocol, TypeVar

from zmodel.explore.program import Program
from zmodel.explore.races import Footprint
from zmodel.explore.result import Choice
from zmodel.explore.split import footprints, replay
from zmodel.explore.subtree import Siblings, Subtree


class Point(Protocol):
    """What a scheduling point of an engine's stack offers for a gift."""

    enabled: list[int]
    sleep: dict[int, Footprint]
    tid: int
    outcome: int


P = TypeVar("P", bound=Point)


class Giver(Protocol[P]):
    """An engine whose stack can be given from (:class:`~zmodel.explore.drive.StatelessSearch`)."""

    program: Program
    #: Scheduling points of the prefix, and their earlier siblings (grown by each gift).
    base: int
    prefix_siblings: list[Siblings]

    def points(self) -> Sequence[P]: ...

    def explored(self, point: P) -> set[Choice]:
        """The branches run (or running) at ``point``, the current one included."""
        ...

    def fix(self, point: P) -> None:
        """``point`` is a prefix point from now on: nothing more to add there."""
        ...


def give(giver: Giver[P], div: int) -> list[Subtree]:
    """The branches left at the point nearest the root that has any, as subtrees in
    the serial order, when the next run diverges at depth ``div``; that point and
    those above it become prefix points (see the module docstring)."""
    stack = giver.points()
    prefix = [(p.tid, p.outcome) for p in stack]
    while giver.base <= div:
        depth = giver.base
        point = stack[depth]
        asleep = _explored_asleep(giver, point)
        given = _expand(giver, prefix[:depth], point, asleep)
        giver.prefix_siblings.append(asleep)
        giver.fix(point)
        giver.base = depth + 1
        if given:
            return given
    return []


def _explored_asleep(giver: Giver[P], point: P) -> Siblings:
    """The threads explored at ``point`` before its current branch and asleep there."""
    mine = {t for t, _ in giver.explored(point)} - {point.tid}
    return tuple((t, point.sleep[t]) for t in sorted(mine) if t in point.sleep)


def _expand(giver: Giver[P], prefix: list[Choice], point: P, asleep: Siblings) -> list[Subtree]:
    """The branches of ``point`` left to run, each a subtree (not the giver's own);
    ``asleep``: the threads explored there before the giver's branch."""
    program, above = giver.program, giver.prefix_siblings
    explored = giver.explored(point)
    ex = replay(program, prefix)
    if ex is None:
        return []
    c = point.tid
    outcomes = {t: ex.outcomes(t) for t in point.enabled}
    ex.discard()
    order = [c] + [t for t in point.enabled if t != c and t not in point.sleep]
    left: list[Choice] = []
    for t in order:
        left += [(t, o) for o in range(outcomes[t]) if (t, o) not in explored]
    steps = footprints(program, prefix, [(t, outcomes[t] - 1) for t in order])
    subtrees = []
    for tid, outcome in left:
        before = order[: order.index(tid)]
        earlier = asleep + tuple((t, steps[t]) for t in before if t in steps)
        subtrees.append(Subtree((*prefix, (tid, outcome)), (*above, earlier)))
    return subtrees


@dataclass
class Handoff:
    """A search that may be asked for work: ``asked`` is checked between two runs,
    and what the search gives is passed to ``take`` and kept in ``gifts``."""

    asked: Callable[[], bool]
    take: Callable[[list[Subtree]], None] = lambda given: None
    #: Called between two runs too (a parallel unit ships its new cache entries).
    between: Callable[[], None] = lambda: None
    gifts: list[list[Subtree]] = field(default_factory=list)
