"""Why a violation happened: the decisive step, the racing pair and the causal chain.

Over one observed replay (:mod:`zmodel.explore.observe`) and its happens-before
graph (:mod:`zmodel.analysis.happens_before`):

- the **decisive step** is the step that raised the violation; for an end-state
  violation it is the last step that wrote the first object the message names
  (for a leak: the put that took the entry's refcount to 0 and freed nothing);
  a message that names no object blames no step, and the whole trace is the past;
- the **chain** is every race edge into the decisive step's past (itself
  included) on a data location, not only a lock: two steps of different threads
  that touched one field, one of them writing, in the order they ran;
- the **racing pair** is the chain's last edge (the latest such pair of dependent
  steps; it decides the value the decisive step acts on).

Each access is described with its thread, the kernel function (the label's first
word), the object and field, and the value before and after (a read: the value
it saw).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from zmodel.analysis.happens_before import happens_before, races
from zmodel.counterexample import ReplayReport, thread_names
from zmodel.explore.observe import Observation, observe
from zmodel.harness import build_program
from zmodel.runtime import Location
from zmodel.runtime.value_log import UNSET

if TYPE_CHECKING:
    import networkx as nx

_OBJECT = re.compile(r"<([A-Za-z_][\w.]*)#(\d+)")
_FUNCTION = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


@dataclass(frozen=True)
class Access:
    step: int
    thread: str
    function: str
    label: str
    obj: str  # kind#oid
    field: str
    before: str
    after: str  # equal to before for a read

    @property
    def writes(self) -> bool:
        return self.before != self.after

    def to_json(self) -> dict[str, object]:
        return {
            "step": self.step,
            "thread": self.thread,
            "function": self.function,
            "label": self.label,
            "object": self.obj,
            "field": self.field,
            "before": self.before,
            "after": self.after,
            "access": "write" if self.writes else "read",
        }


@dataclass(frozen=True)
class Edge:
    first: Access
    second: Access


@dataclass(frozen=True)
class Explanation:
    prop: str
    message: str
    decisive: int | None  # the step index, None if no step is to blame
    pair: Edge | None
    chain: tuple[Edge, ...]
    graph: nx.DiGraph

    @property
    def title(self) -> str:
        if self.pair is None:
            return self.prop
        # The side that acted last (the decisive one) first, as KCSAN puts the racer.
        first, second = self.pair.second.function, self.pair.first.function
        both = first if first == second else f"{first} / {second}"
        return f"{self.prop} in {both}"


def function_of(label: str) -> str:
    found = _FUNCTION.match(label)
    return found.group(0) if found else label


def _kinds(obs: Observation) -> dict[int, str]:
    kinds: dict[int, str] = {}
    for observed in obs.steps:
        for change in observed.changes:
            kinds.setdefault(change.oid, change.kind)
    return kinds


def _values(obs: Observation) -> list[dict[Location, str]]:
    """Per step, the value of each written location just before the step."""
    current: dict[Location, str] = {}
    before: list[dict[Location, str]] = []
    for observed in obs.steps:
        before.append(dict(current))
        for change in observed.changes:
            if change.field is not None:
                current[(change.oid, change.field)] = change.after
    return before


def decisive_step(obs: Observation, prop: str, message: str, at: int) -> int | None:
    if at < len(obs.steps):
        return at
    named = _OBJECT.search(message)
    if named is None:
        return None
    oid = int(named.group(2))
    writes = [
        i
        for i, observed in enumerate(obs.steps)
        if any(c.oid == oid and c.what not in ("alloc", "init") for c in observed.changes)
    ]
    return writes[-1] if writes else None


def explain(obs: Observation, names: Sequence[str]) -> Explanation:
    """The explanation of ``obs``'s violation (``obs.violation`` must be set)."""
    found = obs.violation
    if found is None:
        raise ValueError("no violation to explain")
    trace = [observed.step for observed in obs.steps]
    graph = happens_before(trace, names)
    decisive = decisive_step(obs, found.prop, found.message, found.step_index)
    # With no step to blame (a message naming no object), every step is in the past.
    import networkx as nx  # here: 0.2 s to import, which every command paid

    past = set(graph) if decisive is None else nx.ancestors(graph, decisive) | {decisive}
    locks = {observed.lock[1] for observed in obs.steps if observed.lock is not None}
    kinds, values = _kinds(obs), _values(obs)

    def access(i: int, loc: Location) -> Access:
        step = obs.steps[i].step
        oid, field = loc
        seen = values[i].get(loc, UNSET)
        after = next(
            (c.after for c in obs.steps[i].changes if (c.oid, c.field) == loc),
            seen,
        )
        return Access(
            step=i,
            thread=names[step.tid] if step.tid < len(names) else f"T{step.tid}",
            function=function_of(step.label),
            label=step.label,
            obj=f"{kinds.get(oid, 'object')}#{oid}",
            field=field or "*",
            before=seen,
            after=after,
        )

    chain: list[Edge] = []
    for a, b in races(graph):
        if a not in past or b not in past:
            continue
        sa, sb = trace[a], trace[b]
        shared = ((sa.writes & (sb.reads | sb.writes)) | (sb.writes & sa.reads)) - locks
        data = sorted((loc for loc in shared if loc[1] is not None), key=repr)
        if data:
            chain.append(Edge(access(a, data[0]), access(b, data[0])))
    pair = chain[-1] if chain else None
    return Explanation(found.prop, found.message, decisive, pair, tuple(chain), graph)


def observe_replay(report: ReplayReport) -> tuple[Observation, Explanation | None]:
    """The replay of ``report`` observed again with values, and its explanation."""
    program = build_program(report.design_cls, report.scenario)
    obs = observe(program, list(report.schedule))
    names = thread_names(report.design_cls, report.scenario)
    return obs, (explain(obs, names) if obs.violation is not None else None)
