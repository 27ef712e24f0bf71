"""Reductions on steps whose footprint depends on the values they read (issue 9).

Abdulla et al.'s proofs take an event's dependencies as fixed: the event of a
thread that a reversal schedules is the event observed in the run.  Here a step
is Python code, and its footprint depends on what it reads: a compare-and-swap
that failed only read, and moved before the write it read it may succeed and
write; a step may pick the field it writes by a value.  Swapping two
*independent* adjacent steps never changes either (neither writes what the
other reads, so both read the same values), so traces, sleep sets and races
within one run are exact.  Two things are not, and both used to lose traces:

* The reversal's last step.  ``v = notdep(e).e'`` ends with *the next step of*
  ``e'``'s thread after ``notdep(e)``, which is ``e'`` only if it reads the same
  values there.  When ``e'`` read a location ``e`` wrote (or ``e'`` is the virtual
  attempt of a blocked or cut-off thread), its footprint in ``v`` is unknown
  (:class:`~zmodel.explore.races.Race` ``known``), so its thread counts as an
  initial of ``v`` only where that is certain: nothing else is in ``v``, its
  first event in ``v`` comes earlier, or it sleeps at the node with a step that
  commutes with all of ``notdep(e)`` (a sleeping thread's footprint there is
  exact, and then that step *is* its step in ``v``).  Otherwise only the other
  initials decide, which can cost a redundant run, never a trace.
* A sleeping step its waker changes.  A thread asleep at a node with step ``f``
  stands for the traces where ``f`` runs first.  The traces where another
  thread's step ``g``, dependent with ``f``, runs before ``f`` must come from
  backtracking at that node, and race detection finds them only when ``f`` runs
  later in some run and races with ``g``.  When the waker (the step that ends the
  sleep) wrote what ``f`` reads, the thread runs something else afterwards and
  that race is never seen (GenMC's ``casrot``-like shapes: ``f`` picks its field
  by ``x``, the waker bumps ``x``).  Such a sleeping step becomes a *ghost* at
  the waker's node: each later step ``g`` of another thread dependent with ``f``
  (and not ordered after the waker) is a race of ``g`` with ``f`` placed just
  before the waker, reversed there by the usual rule
  (:meth:`~zmodel.explore.races.HappensBefore.ghost_reversal`).

Both only add backtrack points, so they cannot lose a trace the unmodified
rules found.  What they restore is the step of the proofs that breaks: that a
race the reversal needs shows up again in a run below the node that claims to
cover it (a sleeping thread, or another initial already in the backtrack set).
That is argued here case by case, not proved for every program whose steps
change their footprint with the values they read; the evidence that no case is
missing is the differential suite below and the GenMC counts.  The optimal
engine needs more (its wakeup sequences must hold real events):
:mod:`zmodel.explore.optimal_dpor` says what.

tests/explore/test_value_dependent.py holds the programs each rule was
needed for (casrot, a field picked by a value, try-locks), the differential
suite's generator makes such steps often (CAS with both outcomes reachable,
conditional and picked writes, every read logged into the end state), and a
mutation test that brings back the stale footprint must be caught by it.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Protocol

from zmodel.explore import races as _races
from zmodel.explore.races import Footprint, HappensBefore, LockOp, Race

#: A sleeping step a waker may have changed: (thread, footprint, index of the
#: waker's node).
Ghost = tuple[int, Footprint, int]


class Ghosts:
    """The ghosts of the current run, in the order their wakers ran."""

    __slots__ = ("items",)

    def __init__(self) -> None:
        self.items: list[Ghost] = []

    def __bool__(self) -> bool:
        return bool(self.items)

    def truncate(self, div: int) -> None:
        """Forget the ghosts of steps from position ``div`` on (the run diverges there)."""
        items = self.items
        while items and items[-1][2] >= div:
            items.pop()

    def sleep_after(
        self, sleep: Mapping[int, Footprint], waker: Footprint, index: int
    ) -> dict[int, Footprint]:
        """The sleep set after the step ``waker`` at node ``index``; a sleeping step
        it wakes by writing what it reads becomes a ghost."""
        after: dict[int, Footprint] = {}
        for q, f in sleep.items():
            if not _races.dependent(f, waker):
                after[q] = f
            elif _races.reads_from(waker, f):
                self.items.append((q, f, index))
        return after

    def reversals(
        self, hb: HappensBefore, tid: int, fp: Footprint, pos: int
    ) -> Iterator[tuple[Ghost, list[int]]]:
        """The ghosts event ``pos`` (of ``tid``, footprint ``fp``) races with, each
        with the events of its reversal (see ``HappensBefore.ghost_reversal``)."""
        for ghost in self.items:
            q, f, index = ghost
            if q == tid or not _races.dependent(f, fp):
                continue
            kept = hb.ghost_reversal(index, f, pos)
            if kept is not None:
                yield ghost, kept


def starts_reversal(hb: HappensBefore, sleep: Mapping[int, Footprint], race: Race) -> bool:
    """Whether ``race.tid``, whose step in the reversal is unknown, can start it.

    It can exactly when its step before the racing event commutes with all of
    ``notdep(e)``: then that step is the one it takes after them.  The step is
    known where the thread sleeps (the sleep set keeps its footprint there);
    elsewhere the answer is no, which may cost a redundant run, never a trace.
    """
    step = sleep.get(race.tid)
    if step is None:
        return False
    return not any(_races.dependent(step, other) for other in hb.notdep(race.index))


class Node(Protocol):
    """What source-DPOR's ghost rules need of a scheduling point."""

    enabled: list[int]
    backtrack: set[int]
    sleep: dict[int, Footprint]


def backtrack_ghost_races(
    hb: HappensBefore, stack: Sequence[Node], ghosts: Ghosts, tid: int, fp: Footprint, pos: int
) -> None:
    """Source-DPOR: reverse the races of event ``pos`` with the ghosts, each by one
    initial of its reversal at the ghost's node (unless one is there or asleep)."""
    for (_, _, index), kept in ghosts.reversals(hb, tid, fp, pos):
        node = stack[index]
        initials = hb.initials_of(kept)
        if any(t in node.backtrack or t in node.sleep for t in initials):
            continue
        enabled = [t for t in initials if t in node.enabled]
        if enabled:
            node.backtrack.add(tid if tid in enabled else enabled[0])


def backtrack_ghosts_below(
    stack: Sequence[Node], ghosts: Ghosts, below: Iterable[tuple[int, Footprint, LockOp]]
) -> None:
    """Source-DPOR: the ghosts' races with events below a cached state,
    conservatively: where they happen is not known, so the thread of each such
    event runs at the ghost's node (or every awake thread there, if it cannot)."""
    for q, f, index in ghosts.items:
        node = stack[index]
        for tid, fp, _ in below:
            if tid == q or not _races.dependent(f, fp) or tid in node.backtrack:
                continue
            if tid in node.enabled:
                if tid not in node.sleep:
                    node.backtrack.add(tid)
            else:
                node.backtrack.update(t for t in node.enabled if t != q and t not in node.sleep)
