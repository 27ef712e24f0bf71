"""Backtrack points of preemption-bounded DPOR (Coons, Musuvathi, McKinley, OOPSLA 2013).

``max_preemptions`` bounds the number of preemptions of a run (switching away
from a thread that is still enabled; switching when the running thread is
blocked or finished, or after the setup, is free).  The bound makes otherwise
independent steps dependent (which order costs fewer preemptions), so the plain
source-DPOR rule (one initial of the reversal, unless one is there already) can
miss schedules the bound allows.  Following Coons et al., a race of ``e`` with
a later event of thread ``tid``:

* at the node before ``e``, adds ``tid`` if it can start the reversal ``v``,
  else every enabled initial of ``v``, else every enabled thread, even when an
  initial is already there (the one there may be too expensive to run);
* at every point of the block of same-thread steps containing ``e``, from its
  start up to ``e``, adds ``tid``, or every enabled thread if ``tid`` cannot run
  there.

Coons et al. add only the block's start (a context switch happens there anyway,
so a switch there costs nothing).  That is not enough when a switch inside the
block makes a later one free because the other thread then blocks.  In
``T1: lock l { r a }; r a`` against ``T2: w a 1; lock l {...}``, the schedule
``T1 lock, T1 r a, T2 w a, T1 unlock, T1 r a, T2 ...`` costs one preemption:
T2 blocks on ``l`` right after its write, so switching back to T1 is free.  Its
end state (T1 reads 0, then 1) is reachable with one preemption only with T2's
write inside T1's critical section, at neither the race's point (before the
second read: two preemptions) nor the block's start (T1 then reads 1 twice).
The differential suite found it (tests/explore/test_dpor.py).

Sleep sets and the state cache are off: a sleeping thread's explored order may
cost more preemptions than the order it prunes, and a cached state's exploration
depends on the context switches of the prefix it was reached by.  Branches that
would exceed the bound are skipped and counted.  A result is
``exhaustive=False`` with ``"max preemptions N"`` in ``result.bounds`` exactly
when the bound skipped something: if it skipped nothing, the search was the
unbounded one (without sleep sets, with extra backtrack points), which is
complete.  :func:`~zmodel.explore.icb.explore_icb` raises the bound from 0 until
a violation or a complete search (iterative context bounding).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from zmodel.explore.races import Race, block_start


class Node(Protocol):
    """What the bounded rule needs of a scheduling point of the current run."""

    tid: int
    enabled: list[int]
    backtrack: set[int]


def reverse_bounded(stack: Sequence[Node], race: Race) -> None:
    """Add the backtrack points that reverse ``race`` under a preemption bound."""
    node = stack[race.index]
    tid = race.tid
    candidates = [q for q in race.initials if q in node.enabled]
    if race.open and tid in node.enabled:
        # Whether tid can start the reversal depends on a step no run has taken
        # there (races.Race): take it and every initial that is known.
        node.backtrack.add(tid)
        node.backtrack.update(candidates)
    else:
        _add_conservatively(node, tid, candidates)
    for j in switch_points([n.tid for n in stack[: race.index + 1]], race.index):
        below = stack[j]
        _add_conservatively(below, tid, [tid] if tid in below.enabled else [])


def switch_points(tids: Sequence[int], index: int) -> range:
    """The points before ``index`` where a switch may reverse a race of event ``index``:
    every point of its block of same-thread events before it."""
    return range(block_start(tids, index), index)


def _add_conservatively(node: Node, tid: int, candidates: list[int]) -> None:
    if tid in candidates:
        node.backtrack.add(tid)
    else:
        node.backtrack.update(candidates or node.enabled)
