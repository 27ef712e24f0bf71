"""The explored state graph of a search, for ``zmodel check --state-graph OUT.graphml``.

Nodes are distinct states, by the executor's fingerprint (shared heap, every
thread's frames and locals); an edge is one step from a state to the next, with
its thread, label and outcome.  A state where a step raised a violation, where
the end-state check failed, or where unfinished threads can none of them move is
marked (``violation`` names the property, ``deadlock`` is true).  The graph holds
what the engine explored: every distinct state for ``--engine dfs`` (its state
cache visits each once), the states of one execution per trace for ``dpor``.

A small scenario's graph only: past :data:`MAX_NODES` states the recorder stops
adding and marks the graph ``truncated``.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

from zmodel.runtime import Executor, ModelError, Step, StepKind, StepObserver, Violation

MAX_NODES = 50_000


class StateGraph:
    """The states and steps of every run it watched (networkx ``MultiDiGraph``)."""

    locks_only = False  # every step is an edge

    def __init__(self) -> None:
        import networkx as nx  # here: 0.2 s to import, which every command paid

        self.graph = nx.MultiDiGraph(truncated=False)
        self._ids: dict[Any, str] = {}

    def _node(self, fingerprint: Any) -> str | None:
        known = self._ids.get(fingerprint)
        if known is not None:
            return known
        if len(self._ids) >= MAX_NODES:
            self.graph.graph["truncated"] = True
            return None
        node = f"s{len(self._ids)}"
        self._ids[fingerprint] = node
        digest = hashlib.sha256(repr(fingerprint).encode()).hexdigest()[:16]
        self.graph.add_node(
            node,
            fingerprint=digest,
            initial=node == "s0",
            violation="",
            deadlock=False,
            quiescent=False,
        )
        return node

    def watch(self, ex: Executor) -> StepObserver:
        """The observer of one run: an edge per step from the state before it."""
        here = [self._node(ex.fingerprint())]
        graph = self.graph
        # The executor holds this observer, so the run is a reference cycle the
        # collector frees (collector.py): no weak proxy, since a compiled
        # Executor takes no weak references, and --state-graph runs are few.

        def observe(step: Step, kind: StepKind, violation: Violation | None) -> None:
            before = here[0]
            after = here[0] = self._node(ex.fingerprint())
            if before is None or after is None:
                return
            key = (step.tid, step.outcome, step.label)
            if not graph.has_edge(before, after, key):
                name = ex.names[step.tid] if step.tid < len(ex.names) else f"T{step.tid}"
                graph.add_edge(
                    before,
                    after,
                    key,
                    thread=name,
                    tid=step.tid,
                    label=step.label,
                    outcome=step.outcome,
                    kind=kind.kind,
                )
            node = graph.nodes[after]
            if violation is not None:
                node["violation"] = violation.prop
            elif ex.finished():
                node["quiescent"] = True
                node["violation"] = node["violation"] or _end_violation(ex)
            elif not ex.enabled():
                node["deadlock"] = True
                node["violation"] = "deadlock"

        return observe


def _end_violation(ex: Executor) -> str:
    """The property the end-state check fails at this quiescent state, or ''."""
    try:
        ex.check_end()
    except Violation as v:
        return v.prop
    except ModelError:
        return ""  # the engine reports the model's error itself
    return ""


def write_graphml(states: StateGraph, path: Path, **attrs: str) -> None:
    """``path`` as GraphML (networkx), with ``attrs`` on the graph (design, scenario)."""
    import networkx as nx

    graph = states.graph.copy()
    graph.graph.update(attrs)
    nx.write_graphml(graph, path)
