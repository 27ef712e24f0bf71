"""``lock-order``: the lock-order graph of every explored run, as lockdep keeps it.

An edge ``A -> B`` says some thread took a lock of class ``B`` while it held one
of class ``A``; a cycle is a potential deadlock (an ABBA inversion) even where no
explored run deadlocked, for instance because something else kept the two paths
apart.  A lock's class is its object's kind and field (``zswap_tree->lock``), as
lockdep keys a lock by its class, not its instance.

What is recorded comes from the executor, never from labels: every step's
primitive kind (:class:`~zmodel.runtime.StepKind`).  As in lockdep, a successful
trylock is held afterwards but adds no edge into itself (a trylock cannot wait),
and a class nested inside itself (two page locks) adds no edge: lockdep needs a
subclass annotation there, which the model does not carry.

Every thread-local sequence of steps of the scenario appears in some explored run
of an exhaustive search (DPOR explores every Mazurkiewicz trace, and the trace
fixes each thread's own steps), so the graph is that of all the scenario's runs.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from zmodel.runtime import Executor, Location, Step, StepKind, StepObserver, Violation

LOCK_ORDER = "lock-order"


@dataclass(frozen=True)
class Acquisition:
    """One lock taken: by which thread, at which step (its kernel label)."""

    thread: str
    lock: str  # the lock's class: ``kind->field``
    label: str


@dataclass(frozen=True)
class Dependency:
    """``taken`` was acquired while ``held`` was held, by the same thread; the
    schedule of the run up to ``taken`` shows it."""

    held: Acquisition
    taken: Acquisition
    schedule: tuple[tuple[int, int], ...]


@dataclass
class LockOrder:
    """The lock-order graph over every run it watched: the first witness per edge."""

    edges: dict[tuple[str, str], Dependency] = field(default_factory=dict)
    #: Key locks by instance (``kind#oid->field``) instead of class: what the
    #: differential tests compare, where every lock is of one class.
    by_instance: bool = False
    locks_only: bool = True  # the executor shows it only the lock steps

    def watch(self, ex: Executor) -> StepObserver:
        """The observer of one run (its own held locks; the edges are shared)."""
        # Per thread, the locks held in the order taken: (location, class, label).
        held: dict[int, list[tuple[Location, str, str]]] = {}
        classes: dict[Location, str] = {}
        edges = self.edges
        # The closures hold the run's lists, not the executor: it holds them (its
        # observer), and a cycle would leave the whole run to the cyclic collector.
        objects, threads, trace = ex.heap.objects, ex.threads, ex.trace

        def lock_class(loc: Location) -> str:
            oid, name = loc
            obj = objects[oid].kind + (f"#{oid}" if self.by_instance else "")
            found = classes[loc] = f"{obj}->{name}"
            return found

        def observe(step: Step, kind: StepKind, violation: Violation | None) -> None:
            loc, what = kind.lock, kind.kind
            if loc is None or what == "trylock-failed":
                return
            mine = held.get(step.tid)
            if mine is None:
                mine = held[step.tid] = []
            if what == "release":
                for i in range(len(mine) - 1, -1, -1):
                    if mine[i][0] == loc:
                        del mine[i]
                        break
                return
            cls = classes.get(loc) or lock_class(loc)
            if what == "acquire":
                for _, before, label in mine:
                    if before != cls and (before, cls) not in edges:
                        thread = threads[step.tid].name
                        edges[before, cls] = Dependency(
                            Acquisition(thread, before, label),
                            Acquisition(thread, cls, step.label),
                            tuple((s.tid, s.outcome) for s in trace),
                        )
            mine.append((loc, cls, step.label))

        return observe
