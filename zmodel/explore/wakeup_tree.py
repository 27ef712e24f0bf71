"""Wakeup trees (Abdulla, Aronis, Jonsson, Sagonas, POPL 2014 / JACM 2017, section 6).

A node's wakeup tree is an ordered tree of event sequences still to run from
that node.  Inserting a sequence ``v`` walks down the tree: at each level the
first child that is a weak initial of the rest of ``v`` is followed, with that
thread's event removed; a leaf reached this way already covers ``v``; otherwise
the rest of ``v`` becomes a new last branch.  A thread asleep at the node that
is a weak initial of ``v`` covers it too.  :mod:`zmodel.explore.optimal_dpor`
runs the search; this module is the data structure, its insertion and
:class:`Point`, the scheduling point that holds one.
"""

from __future__ import annotations

from collections.abc import Mapping

from zmodel.explore import races as _races
from zmodel.explore.footprints import Attempt
from zmodel.explore.races import Footprint

#: One event of a sequence: thread, outcome, footprint.
Event = tuple[int, int, Footprint]


class Branch:
    """A node of a wakeup tree: the event of ``tid`` (with ``outcome``) and what follows."""

    __slots__ = ("children", "fp", "outcome", "tid")

    def __init__(self, tid: int, outcome: int, fp: Footprint, children: list[Branch]) -> None:
        self.tid = tid
        self.outcome = outcome
        self.fp = fp
        self.children = children


class Point:
    """A scheduling point of optimal DPOR's current run (the state before an event),
    with its wakeup tree."""

    __slots__ = (
        "done",
        "enabled",
        "fixed",
        "foreign",
        "fp",
        "inherited",
        "n_out",
        "outcome",
        "sleep",
        "sub",
        "tid",
        "wut",
    )

    def __init__(
        self,
        enabled: list[int],
        sleep: dict[int, Footprint],
        tid: int,
        outcome: int,
        sub: list[Branch],
        wut: list[Branch],
        n_out: int,
    ) -> None:
        self.enabled = enabled
        self.sleep = sleep  # sleeping threads and the footprint of their next step
        self.tid = tid  # the thread the current run takes here
        self.outcome = outcome
        self.sub = sub  # the wakeup subtree below the current branch
        self.wut = wut  # branches still to run from here, in order
        self.n_out = n_out  # outcomes of tid's step here; 0 until known
        self.fp: Footprint | None = None  # footprint of the step taken here
        self.done = {(tid, outcome)}  # events run (or running) from here
        # Sleeping threads another subtree explores (a parallel search's split): they
        # cover a wakeup sequence here only if they start it, since the sequences
        # their runs would have inserted below this point are in that subtree's search.
        self.foreign: frozenset[int] = frozenset()
        self.inherited = frozenset(sleep)  # asleep on arrival (the others: explored here)
        self.fixed = False  # a prefix point of the subtree: its other branches are others'


def chain(seq: list[Event]) -> Branch:
    children: list[Branch] = []
    for tid, outcome, fp in reversed(seq[1:]):
        children = [Branch(tid, outcome, fp, children)]
    tid, outcome, fp = seq[0]
    return Branch(tid, outcome, fp, children)


def _position(seq: list[Event], tid: int) -> int | None:
    for i, (t, _, _) in enumerate(seq):
        if t == tid:
            return i
    return None


def _weak_initial(
    tid: int, outcome: int | None, fp: Footprint, seq: list[Event], racing: Footprint
) -> bool:
    """Whether the event of ``tid`` (footprint ``fp``) is a weak initial of ``seq``,
    the reversal of a race of ``racing``.

    A step that is not in ``seq`` and commutes with all of it covers ``seq`` only
    if it cannot change ``racing``: the runs from it must meet that race again to
    reverse it, and they do not if the step writes what ``racing`` reads (issue 9).
    ``outcome`` None matches any outcome (a sleeping thread stands for all of them).
    """
    dependent = _races.dependent
    i = _position(seq, tid)
    if i is not None:
        _, o, f = seq[i]
        if outcome is not None and o != outcome:
            return False
        return not any(dependent(g, f) for _, _, g in seq[:i])
    if _races.reads_from(fp, racing):
        return False
    return not any(dependent(fp, g) for _, _, g in seq)


def starts(tid: int, seq: list[Event]) -> bool:
    """Whether ``tid``'s event is an initial of ``seq`` (in it, with no dependent
    event before it): every run of ``seq`` is then equivalent to one that starts with it."""
    i = _position(seq, tid)
    return i is not None and not any(_races.dependent(g, seq[i][2]) for _, _, g in seq[:i])


def insert(
    children: list[Branch],
    sleep: Mapping[int, Footprint],
    seq: list[Event],
    racing: Footprint,
    strict: bool = False,
) -> None:
    """Add ``seq``, the reversal of a race of ``racing``, to the tree ``children``
    unless it or a thread of ``sleep`` covers it.

    ``strict``: a sleeper or a branch covers ``seq`` only if it starts it (the
    halting-safe search, :mod:`zmodel.explore.halting_safe`).  The weak-initial
    argument (a step that commutes with all of ``seq`` covers it) needs the
    covering step to run in every maximal extension of ``seq``, and a violation
    may halt the run first (tests/explore/test_odpor_halting_cas.py shows two
    such coverings deferring to each other, and the trace between them lost).
    """
    for q, f in sleep.items():
        if starts(q, seq) if strict else _weak_initial(q, None, f, seq, racing):
            return
    while True:
        for branch in children:
            if (strict or isinstance(branch.fp, Attempt)) and _position(seq, branch.tid) is None:
                # A blocked thread's branch may be dropped unrun: it covers nothing
                # it does not start.
                continue
            if _weak_initial(branch.tid, branch.outcome, branch.fp, seq, racing):
                if not branch.children:
                    return  # a leaf: what runs from it covers seq
                i = _position(seq, branch.tid)
                if i is not None:
                    seq = seq[:i] + seq[i + 1 :]
                    if not seq:
                        return
                children = branch.children
                break
        else:
            children.append(chain(seq))
            return
