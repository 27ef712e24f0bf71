"""Q5: how many entries one reclaim writes back, and how many page frames it frees.

Seth (2 Jan 2013): "zbud will only ever need to write back two pages to swap
where zsmalloc might have to write back more to free up the zspage that
contains the page frame to be vacated."  Dan (31 Dec 2012), of the v4 entry
LRU: "you may free up 100 zpages ... but not free up a single pageframe."

The allocators and the 2013 flush keep ghost records on the heap (never read by
the model itself):
- zbud (mm/zbud.c, 3.11): ``evictions_per_free`` on the pool, one count of
  evict callbacks per ``zbud_reclaim_page`` that freed its page (one frame);
  a reclaim that freed nothing leaves no record;
- zsmalloc (6.2-6.4): ``reclaim_log`` on the pool, ``(evict callbacks, frames
  freed)`` per ``zs_reclaim_page`` attempt; the unpinned variant logs the
  zspage instead of a frame count, resolved here (freed or not at quiescence);
- zswap-2013: ``flush_log`` on the tree, ``(entries written back, frames the
  flush's own zs_free calls released)`` per ``zswap_flush_entries`` call.

:func:`reclaim_costs` explores a scenario exhaustively (cached DFS) and reads
the records at every quiescent state the search reaches.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from zmodel.explore import explore_dfs
from zmodel.harness import build_program
from zmodel.runtime import Executor, MemObject
from zmodel.zswap.designs import Design
from zmodel.zswap.scenario import parse_scenario

#: One reclaim: (entries evicted or written back, page frames freed).
Record = tuple[int, int]


@dataclass
class ReclaimCost:
    """The reclaim outcomes of one design on one scenario."""

    design: str
    scenario: str
    #: Per (entries, frames freed): how many reclaims, over all explored executions.
    outcomes: Counter[Record] = field(default_factory=Counter)
    executions: int = 0
    quiescent: int = 0
    exhaustive: bool = True
    violations: frozenset[str] = frozenset()
    #: True when the allocator logs only reclaims that freed a frame (zbud).
    frees_only: bool = False
    #: Reclaims that returned success but freed no frame (the unpinned variant).
    hollow: Counter[Record] = field(default_factory=Counter)

    @property
    def freeing(self) -> Counter[Record]:
        return Counter({r: n for r, n in self.outcomes.items() if r[1] > 0})

    @property
    def barren(self) -> Counter[Record]:
        """Reclaims that freed no page frame."""
        return Counter({r: n for r, n in self.outcomes.items() if r[1] == 0})


def records(ex: Executor) -> tuple[list[Record], list[Record], bool]:
    """The reclaim records in an end state: all of them, those that returned success
    but freed nothing, and whether only freeing reclaims are logged."""
    heap = ex.heap
    out: list[Record] = []
    hollow: list[Record] = []
    frees_only = False
    for obj in heap.objects.values():
        if obj.kind == "zbud_pool":
            frees_only = True
            out += [(int(n), 1) for n in heap.peek(obj, "evictions_per_free", ())]
        elif obj.kind == "zs_pool":
            for evicted, freed in heap.peek(obj, "reclaim_log", ()):
                if isinstance(freed, MemObject):  # unpinned: it returned 0, freed or not
                    if not freed.freed:
                        hollow.append((int(evicted), 0))
                    freed = len(heap.peek(freed, "frames")) if freed.freed else 0
                out.append((int(evicted), int(freed)))
        elif obj.kind == "zswap_tree":
            out += [(int(w), int(f)) for w, f in heap.peek(obj, "flush_log", ())]
    return out, hollow, frees_only


def reclaim_costs(design: type[Design], scenario_text: str, *, name: str = "") -> ReclaimCost:
    """Explore ``scenario_text`` on ``design`` and tally every reclaim at every end state."""
    scenario = parse_scenario(scenario_text)
    cost = ReclaimCost(name or design.name, scenario.text)

    def collect(ex: Executor) -> None:
        found, hollow, frees_only = records(ex)
        cost.quiescent += 1
        cost.frees_only = cost.frees_only or frees_only
        cost.outcomes.update(found)
        cost.hollow.update(hollow)

    result = explore_dfs(build_program(design, scenario), stop_on_first=False, on_end=collect)
    cost.executions = result.stats.executions
    cost.exhaustive = result.exhaustive
    cost.violations = frozenset(f.prop for f in result.violations)
    return cost


def describe(records_: Counter[Record]) -> str:
    """``3 -> 2 frames x4`` items, most entries first."""
    if not records_:
        return "-"
    return ", ".join(
        f"{entries} -> {frames} frame{'s' if frames != 1 else ''} x{n}"
        for (entries, frames), n in sorted(records_.items(), key=lambda kv: (-kv[0][0], kv[0][1]))
    )
