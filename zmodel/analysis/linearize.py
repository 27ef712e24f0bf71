"""The linearisation of a trace with the fewest preemptions, found and proved by z3.

A trace's happens-before graph (:mod:`zmodel.analysis.happens_before`) orders
program order and every dependent pair as observed; any topological order of it is
the same Mazurkiewicz trace, so every step reads the values it read before and the
violation recurs.  Among those orders this finds one with the fewest
*preemptions*, counted as in :func:`preemptions`: a switch from a thread that still
has steps in the trace to another thread.

The encoding cuts each thread into segments that run without a switch: a Boolean
``cut`` after each step that has a successor in its thread (a preemption there),
and an integer rank per step, equal along a segment and increasing across a cut.
Each cross-thread edge ``a -> b`` needs ``rank[a] < rank[b]``, and a violating
step outranks every other thread's steps.  Running the segments in rank order
(ties have no edge between them) is then a linearisation with at most as many
preemptions as cuts, and every linearisation gives such a ranking; so the fewest
cuts (soft constraints ``not cut``, MaxSAT) is the fewest preemptions.  z3's
``Optimize`` answers ``sat`` only once the optimum is proved; on a timeout the
best order found so far is kept and reported as not proved.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from zmodel.runtime import Step

if TYPE_CHECKING:
    import networkx as nx

#: Milliseconds z3 may spend proving an optimum before the best found is kept.
DEFAULT_TIMEOUT_MS = 20_000


@dataclass(frozen=True)
class Linearisation:
    order: tuple[int, ...]  # trace indices, setup first, in the new order
    preemptions: int
    proved: bool  # z3 proved no linearisation has fewer


def preemptions(tids: Sequence[int]) -> int:
    """Switches away from a thread that still has steps later in ``tids``.

    The setup (tid 0) runs alone first and never counts.
    """
    remaining: dict[int, int] = {}
    for tid in tids:
        remaining[tid] = remaining.get(tid, 0) + 1
    count = 0
    for i, tid in enumerate(tids):
        remaining[tid] -= 1
        if i + 1 < len(tids) and tids[i + 1] != tid and tid != 0 and remaining[tid] > 0:
            count += 1
    return count


def fewest_preemptions(
    trace: Sequence[Step],
    graph: nx.DiGraph,
    *,
    last: int | None = None,
    timeout_ms: int = DEFAULT_TIMEOUT_MS,
) -> Linearisation:
    """The order of ``trace`` with the fewest preemptions that respects ``graph``;
    ``last`` is a step that must stay last (the one that raised a violation)."""
    # Imported here: networkx and z3 take 0.3 s to import, which every command paid.
    import networkx as nx
    import z3

    setup = [i for i, s in enumerate(trace) if s.tid == 0]
    steps = [i for i, s in enumerate(trace) if s.tid != 0]
    original = tuple(range(len(trace)))
    before = preemptions([s.tid for s in trace])
    if before == 0 or len(steps) < 2:
        return Linearisation(original, before, True)
    reduced = nx.transitive_reduction(graph.subgraph(steps))
    cross = [(a, b) for a, b in reduced.edges() if trace[a].tid != trace[b].tid]
    touched = {a for a, _ in cross} | {b for _, b in cross} | {last}
    # A step with no cross-thread edge runs in its predecessor's segment in some
    # optimal order (moving it there never adds a cut), so it joins its group.
    group: dict[int, int] = {}
    members: dict[int, list[int]] = {}
    previous: dict[int, int] = {}
    for i in steps:
        tid = trace[i].tid
        if i in touched or tid not in previous:
            group[i] = i
            members[i] = [i]
        else:
            group[i] = group[previous[tid]]
            members[group[i]].append(i)
        previous[tid] = i
    successor: dict[int, int] = {}
    last_group: dict[int, int] = {}
    for g in members:
        tid = trace[g].tid
        if tid in last_group:
            successor[last_group[tid]] = g
        last_group[tid] = g
    opt = z3.Optimize()
    opt.set("timeout", timeout_ms)
    opt.set("maxsat_engine", "wmax")
    rank = {g: z3.Int(f"r{g}") for g in members}
    for g in members:
        opt.add(rank[g] >= 0, rank[g] <= len(members))
    for a, b in successor.items():
        # A thread's groups between two cuts are one segment: one rank, run together.
        cut = z3.Bool(f"c{a}")
        opt.add(z3.If(cut, rank[a] < rank[b], rank[a] == rank[b]))
        opt.add_soft(z3.Not(cut))
    for a, b in cross:
        opt.add(rank[group[a]] < rank[group[b]])
    if last is not None and last in group:
        for g in members:
            if trace[g].tid != trace[last].tid:
                opt.add(rank[g] < rank[group[last]])
    answer = opt.check()
    model = opt.model() if answer != z3.unsat else None
    if not model:  # unsat cannot happen: the observed order satisfies every constraint
        return Linearisation(original, before, False)

    def key(g: int) -> tuple[int, int]:
        return (model.eval(rank[g], model_completion=True).as_long(), g)

    order = (*setup, *(i for g in sorted(members, key=key) for i in members[g]))
    found = preemptions([trace[i].tid for i in order])
    if found > before:  # a timeout's first model can be worse than what was observed
        return Linearisation(original, before, False)
    return Linearisation(order, found, answer == z3.sat)
