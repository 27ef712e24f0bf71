"""Count Mazurkiewicz traces by brute force: run every schedule, group by equivalence.

Two executions are equivalent when one can be turned into the other by swapping
adjacent independent steps.  The canonical form used here is the Foata normal
form (Cartier and Foata, 1969; Diekert and Rozenberg, "The Book of Traces"):
level 1 holds the steps with no dependent predecessor, level k+1 the steps whose
latest dependent predecessor is on level k; two executions are equivalent iff
their sequences of levels, each level a set of steps, are equal.  A step is
named by its thread, its index in that thread, and what it did (label, outcome,
footprint).  The dependency relation is the one the DPOR engine uses
(:func:`zmodel.explore.races.dependent`), so the count is the number of
executions an optimal DPOR would run.

The level of a step is computed from per-location maxima rather than by
comparing it with every earlier step: the steps dependent with a write to ``x``
are all earlier reads and writes of ``x``, and those dependent with a read of
``x`` are the earlier writes, so the maximum level over them is all that counts.
A location ``(oid, None)`` is the whole object; per-object maxima cover it.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from zmodel.explore import Program
from zmodel.explore.dfs import explore_dfs
from zmodel.runtime import Executor, Location, Step

Canonical = tuple[frozenset[Any], ...]


def foata(trace: Iterable[Step]) -> Canonical:
    """The Foata normal form of one execution."""
    write_level: dict[Location, int] = {}
    read_level: dict[Location, int] = {}
    obj_write_level: dict[int, int] = {}
    obj_read_level: dict[int, int] = {}
    thread_level: dict[int, int] = {}
    thread_steps: dict[int, int] = {}
    levels: list[set[Any]] = []
    for step in trace:
        level = thread_level.get(step.tid, 0)
        for oid, field in step.reads:
            level = max(level, write_level.get((oid, field), 0), write_level.get((oid, None), 0))
            if field is None:
                level = max(level, obj_write_level.get(oid, 0))
        for oid, field in step.writes:
            for loc in ((oid, field), (oid, None)):
                level = max(level, write_level.get(loc, 0), read_level.get(loc, 0))
            if field is None:
                level = max(level, obj_write_level.get(oid, 0), obj_read_level.get(oid, 0))
        level += 1
        thread_level[step.tid] = level
        for loc in step.reads:
            read_level[loc] = max(read_level.get(loc, 0), level)
            obj_read_level[loc[0]] = max(obj_read_level.get(loc[0], 0), level)
        for loc in step.writes:
            write_level[loc] = max(write_level.get(loc, 0), level)
            obj_write_level[loc[0]] = max(obj_write_level.get(loc[0], 0), level)
        index = thread_steps.get(step.tid, 0)
        thread_steps[step.tid] = index + 1
        if len(levels) < level:
            levels.append(set())
        levels[level - 1].add((step.tid, index, step.label, step.outcome, step.reads, step.writes))
    return tuple(frozenset(level) for level in levels)


def _conflict(a: Step, b: Step) -> bool:
    """Whether two steps of different threads touch a location one of them writes
    (a location ``(oid, None)`` is the whole object)."""

    def overlap(xs: Iterable[Location], ys: Iterable[Location]) -> bool:
        ys = set(ys)
        whole = {oid for oid, field in ys if field is None}
        objs = {oid for oid, _ in ys}
        return any(
            loc in ys or loc[0] in whole or (loc[1] is None and loc[0] in objs) for loc in xs
        )

    return overlap(a.writes, [*b.reads, *b.writes]) or overlap(b.writes, a.reads)


def cone(trace: list[Step], index: int) -> Canonical:
    """The Foata normal form of the causal past of step ``index`` (itself included):
    the steps before it in its thread or in a conflict chain to it.

    What a violating step does depends on what it reads, so two runs that halt at
    it with the same causal past reach the same violation whatever independent
    steps of other threads ran before the halt: they are one violating trace."""
    kept = [trace[index]]
    for step in reversed(trace[:index]):
        if any(step.tid == k.tid or _conflict(step, k) for k in kept):
            kept.append(step)
    return foata(reversed(kept))


def count_traces(program: Program, *, max_steps: int = 400) -> int:
    """Enumerate every schedule of ``program`` and count its traces.

    Raises if a violation or a bound cuts the enumeration: the count would be
    of something else.
    """
    seen: set[Canonical] = set()

    def on_end(ex: Executor) -> None:
        seen.add(foata(ex.trace))

    result = explore_dfs(
        program, cache=False, max_steps=max_steps, stop_on_first=False, on_end=on_end
    )
    if result.violations or not result.exhaustive:
        raise ValueError(f"enumeration incomplete: {result.bounds or result.violations[0].prop}")
    return len(seen)


def traces_covered(runs: Iterable[list[Step]]) -> int:
    """How many distinct traces a set of executions covers."""
    return len({foata(trace) for trace in runs})
