"""The cycles of a lock-order graph (networkx), each a potential deadlock with the
acquisition chain of every edge: what ``zmodel check`` reports as ``lock-order``."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from zmodel.properties.lock_order import Dependency, LockOrder

if TYPE_CHECKING:
    import networkx as nx

#: Enough cycles to show what is wrong; a graph with more has one root cause, usually.
MAX_CYCLES = 4


@dataclass(frozen=True)
class LockCycle:
    """Locks ``a -> b -> ... -> a``, each edge with the run that took it."""

    chains: tuple[Dependency, ...]

    @property
    def locks(self) -> tuple[str, ...]:
        return tuple(dep.held.lock for dep in self.chains)

    def message(self) -> str:
        order = " -> ".join((*self.locks, self.locks[0]))
        chains = "; ".join(
            f"{dep.taken.thread} takes {dep.taken.lock} ({dep.taken.label}) while holding"
            f" {dep.held.lock} ({dep.held.label})"
            for dep in self.chains
        )
        return f"potential deadlock, lock order {order}: {chains}"


def graph(order: LockOrder) -> nx.DiGraph:
    """Nodes are lock classes; an edge's ``dependency`` is its first witness."""
    # Imported here: networkx takes 0.2 s to import, which every command paid.
    import networkx as nx

    g = nx.DiGraph()
    for (a, b), dep in order.edges.items():
        g.add_edge(a, b, dependency=dep)
    return g


def lock_cycles(order: LockOrder) -> list[LockCycle]:
    """The lock-order cycles, shortest first (an ABBA pair before longer rings)."""
    import networkx as nx

    g = graph(order)
    found = []
    for ring in nx.simple_cycles(g):
        start = ring.index(min(ring))  # one rotation per ring: the same text every run
        found.append(ring[start:] + ring[:start])
        if len(found) >= 64:
            break
    found.sort(key=lambda ring: (len(ring), ring))
    return [
        LockCycle(
            tuple(g.edges[a, ring[(i + 1) % len(ring)]]["dependency"] for i, a in enumerate(ring))
        )
        for ring in found[:MAX_CYCLES]
    ]
