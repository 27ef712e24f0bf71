"""Cut a search tree into independent subtrees (Simsa, Bryant, Gibson, RV 2012).

Every branch of a scheduling point, in the order the serial engine would take
them, becomes the root of a separate subtree (:class:`~zmodel.explore.subtree.Subtree`).  States
with one choice are passed through without a split.  For the reduction engines
each subtree also gets, per prefix point, the threads ordered before it there
and their step's footprint: the engine puts them asleep, so a trace two
subtrees share is explored in one only (sleep sets alone run one execution per
trace, Godefroid 1996; the engine below the prefix is its usual self).

The split depends on the program and ``target`` only, never on how many workers
run it, so a parallel search gives the same result on any number of workers.
"""

from __future__ import annotations

from dataclasses import dataclass

from zmodel.explore.program import Program
from zmodel.explore.races import Footprint
from zmodel.explore.result import Choice
from zmodel.explore.subtree import Siblings, Subtree
from zmodel.runtime import Executor, ModelError, Violation

#: Subtrees a search is cut into: enough for a few per worker on most machines.
DEFAULT_TARGET = 64
#: The most scheduling points split at along one prefix; below, a subtree is one worker's.
MAX_SPLIT_LEVELS = 64
#: The engines that put earlier siblings asleep (the others partition schedules).
SLEEPING = frozenset({"dpor", "odpor"})


@dataclass
class _Item:
    prefix: list[Choice]
    siblings: list[Siblings]
    last: int | None = None  # the thread of the prefix's last choice
    final: bool = False  # nothing to split below: quiescent, violating, or the step bound
    levels: int = 0  # the scheduling points split at along the prefix

    def subtree(self, sleeping: bool) -> Subtree:
        return Subtree(tuple(self.prefix), tuple(self.siblings) if sleeping else ())


def split(
    program: Program, *, engine: str, max_steps: int, target: int = DEFAULT_TARGET
) -> list[Subtree]:
    """The subtrees of ``program``'s search by ``engine``, in the serial engine's order.

    The first subtree not split yet is split next, until there are ``target``: with
    sleep sets the first branch at a point is the big one (the later ones have it
    asleep), so splitting along the leftmost path gives units of like sizes where
    splitting every point of a level leaves one unit with nearly all the work (on
    3.11's ``writeback | load 2 | free 1``: 17.8 of 20 CPU-s at 59 units).  The
    units still differ: 9 of that scenario's 64 hold nearly all its transitions.
    Splitting instead the item whose Knuth estimate (the product of the choices
    along a random path, sleepers only from the prefix; 3 paths) was largest
    was worse: the leftmost unit kept 372 k of 809 k transitions, 11.0 s wall on
    2 workers against 7.5 s (one run each, the same sitting)."""
    sleeping = engine in SLEEPING
    frontier = [_Item([], [])]
    while len(frontier) < target:
        first = next((i for i, item in enumerate(frontier) if not item.final), None)
        if first is None:
            break
        frontier[first : first + 1] = _expand(program, frontier[first], engine, max_steps)
    return [item.subtree(sleeping) for item in frontier]


def replay(program: Program, prefix: list[Choice]) -> Executor | None:
    """A fresh run along ``prefix``, or None where the prefix itself ends it."""
    ex = program()
    try:
        for tid, outcome in prefix:
            ex.step(tid, outcome)
    except (Violation, ModelError):
        ex.discard()
        return None
    return ex


def _expand(program: Program, item: _Item, engine: str, max_steps: int) -> list[_Item]:
    """``item`` split at its next scheduling point with more than one choice."""
    ex = replay(program, item.prefix)
    while ex is not None and len(item.prefix) < max_steps and item.levels < MAX_SPLIT_LEVELS:
        enabled = ex.enabled()
        choices = choices_at(ex, enabled, item.last, engine)
        if len(choices) > 1:
            ex.discard()
            return _children(program, item, choices, engine)
        if not choices:
            break
        # One choice: no split here; the subtree's root moves down past it.
        tid, outcome = choices[0]
        try:
            ex.step(tid, outcome)
        except (Violation, ModelError):
            break
        item.prefix.append((tid, outcome))
        item.siblings.append(())
        item.last = tid
    if ex is not None:
        ex.discard()
    item.final = True
    return [item]


def choices_at(ex: Executor, enabled: list[int], last: int | None, engine: str) -> list[Choice]:
    """The choices at a point in the order the engine takes them: dfs and plain by
    thread; the DPOR engines their first run's thread (the last one, while it can
    run, else the lowest) first."""
    order = list(enabled)
    if engine in SLEEPING and last in order:
        order.remove(last)
        order.insert(0, last)
    return [(tid, k) for tid in order for k in range(ex.outcomes(tid))]


def _children(program: Program, item: _Item, choices: list[Choice], engine: str) -> list[_Item]:
    fps = footprints(program, item.prefix, choices) if engine in SLEEPING else {}
    threads = list(dict.fromkeys(t for t, _ in choices))
    children = []
    for tid, outcome in choices:
        earlier = tuple((t, fps[t]) for t in threads[: threads.index(tid)] if t in fps)
        prefix, siblings = [*item.prefix, (tid, outcome)], [*item.siblings, earlier]
        children.append(_Item(prefix, siblings, tid, levels=item.levels + 1))
    return children


def footprints(
    program: Program, prefix: list[Choice], choices: list[Choice]
) -> dict[int, Footprint]:
    """Each thread's step at the point, by its last outcome (the serial engine puts a
    thread asleep with the footprint of the last outcome it explored)."""
    fps: dict[int, Footprint] = {}
    for tid, outcome in choices:
        ex = replay(program, prefix)
        assert ex is not None
        try:
            step = ex.step(tid, outcome)
        except Violation:
            last = ex.trace[-1]
            fps[tid] = Footprint(last.reads, last.writes, True)
            continue
        except ModelError:
            continue  # the subtree raises it again; nobody sleeps on it
        finally:
            ex.discard()  # a replay's heap is a cycle (Heap.unlink)
        fps[tid] = Footprint(step.reads, step.writes)
    return fps
