"""The happens-before graph of one trace (networkx), and its export.

Nodes are the trace's step indices, with the thread, its name, the label and the
footprint.  Edges are

- ``program``: a thread's step to its next step;
- ``setup``: the setup's last step to each thread's first (the setup runs alone,
  before every thread);
- ``race``: two steps of different threads that are dependent (the relation of
  :func:`zmodel.explore.races.dependent`: they touch one location and one writes
  it, or operate on one lock), in the order the trace ran them.

Every linearisation of this graph is the same Mazurkiewicz trace: each step reads
what it read before, so the run takes the same steps and ends in the same state
(the minimiser relies on it).  A step that raised a violation halts the run; it is
kept last by the minimiser rather than given an edge from every step.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from zmodel.explore.races import Footprint, dependent
from zmodel.runtime import Location, Step

if TYPE_CHECKING:
    import networkx as nx

PROGRAM, SETUP, RACE = "program", "setup", "race"


def _locations(locs: frozenset[Location]) -> str:
    return " ".join(sorted(f"{oid}.{field or '*'}" for oid, field in locs))


def happens_before(
    trace: Sequence[Step], names: Sequence[str] = (), *, setup_races: bool = False
) -> nx.DiGraph:
    """The graph of ``trace``; ``names`` are the thread names by tid.

    Races of the setup's steps are implied by the ``setup`` edges and left out
    unless ``setup_races``.
    """
    import networkx as nx  # here: 0.2 s to import, which every command paid

    graph = nx.DiGraph()
    last: dict[int, int] = {}
    firsts: list[int] = []
    for i, step in enumerate(trace):
        graph.add_node(
            i,
            tid=step.tid,
            thread=names[step.tid] if step.tid < len(names) else f"T{step.tid}",
            label=step.label,
            outcome=step.outcome,
            reads=_locations(step.reads),
            writes=_locations(step.writes),
        )
        if step.tid in last:
            graph.add_edge(last[step.tid], i, kind=PROGRAM)
        elif step.tid != 0:
            firsts.append(i)
        last[step.tid] = i
    if 0 in last:
        for first in firsts:
            graph.add_edge(last[0], first, kind=SETUP)
    prints = [Footprint(s.reads, s.writes) for s in trace]
    for j, later in enumerate(trace):
        if later.tid == 0 and not setup_races:
            continue
        for i in range(j):
            earlier = trace[i]
            if earlier.tid == later.tid or (earlier.tid == 0 and not setup_races):
                continue
            if dependent(prints[i], prints[j]) and not graph.has_edge(i, j):
                graph.add_edge(i, j, kind=RACE)
    return graph


def races(graph: nx.DiGraph) -> list[tuple[int, int]]:
    """The race edges, in trace order of their later step."""
    found = [(a, b) for a, b, kind in graph.edges(data="kind") if kind == RACE]
    return sorted(found, key=lambda e: (e[1], e[0]))


def export(graph: nx.DiGraph, fmt: str) -> str:
    """The graph as DOT or GraphML text."""
    import networkx as nx  # here: 0.2 s to import, which every command paid

    if fmt == "graphml":
        return "\n".join(nx.generate_graphml(graph)) + "\n"
    if fmt == "dot":
        return to_dot(graph)
    raise ValueError(f"unknown graph format {fmt!r} (dot, graphml)")


def _quote(text: object) -> str:
    return '"' + str(text).replace("\\", "\\\\").replace('"', '\\"') + '"'


def to_dot(graph: nx.DiGraph) -> str:
    """DOT text (written here: networkx's DOT writer needs pydot or pygraphviz)."""
    lines = ["digraph happens_before {", "  rankdir=TB;", "  node [shape=box, fontsize=10];"]
    for node, data in graph.nodes(data=True):
        attrs = {key: value for key, value in data.items() if key != "label"}
        # DOT's own line break, \n, inside the quoted label.
        label = _quote(f"{node} {data.get('thread', '')}\n{data.get('label', '')}")
        label = label.replace("\n", "\\n")
        extra = "".join(f", {key}={_quote(value)}" for key, value in sorted(attrs.items()))
        lines.append(f"  {node} [label={label}{extra}];")
    for a, b, data in graph.edges(data=True):
        kind = data.get("kind", "")
        style = ', style=dashed, color="red"' if kind == RACE else ""
        lines.append(f"  {a} -> {b} [kind={_quote(kind)}{style}];")
    lines.append("}")
    return "\n".join(lines) + "\n"
