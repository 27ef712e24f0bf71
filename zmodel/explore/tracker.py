"""One parallel search as the coordinator tracks it: its plan, then its subtrees in
order, which worker holds which cache entries, the deaths, the merge.

:class:`Tracker` knows nothing of the other searches in flight nor of the
back-end's futures (:mod:`zmodel.explore.many` schedules); it answers which unit
of this search is next (:meth:`~Tracker.take`), makes the unit for a worker
(:meth:`~Tracker.unit`), takes its outcome (:meth:`~Tracker.collect`,
:meth:`~Tracker.died`) and merges the units done (:meth:`~Tracker.merge`).
How one search's units are merged, and why, is :mod:`zmodel.explore.parallel`'s
docstring.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field, replace
from typing import Any

from zmodel.explore.backends import Signal
from zmodel.explore.engines import DEFAULT_ENGINE, EngineOptions
from zmodel.explore.result import ModelFailure, Result
from zmodel.explore.sharing import BatchKey, Shared
from zmodel.explore.split import DEFAULT_TARGET
from zmodel.explore.subtree import Subtree
from zmodel.explore.units import PLAN, Done, Plan, Source, Unit

#: How many times a unit is run again after its worker died.
RETRIES = 2
_SEARCHES = iter(range(1, 2**62))


def search_id() -> str:
    """A name no other search has: the workers keep each search's program under it."""
    return f"{time.time_ns()}-{next(_SEARCHES)}"


@dataclass(frozen=True)
class Search:
    """A search to run: the program's source, the engine asked for (None: the
    default) and its options."""

    source: Source
    engine: str | None
    options: EngineOptions


@dataclass
class Tracker:
    """The coordinator's record of one search (see the module docstring)."""

    search: Search
    workers: int
    target: int = DEFAULT_TARGET
    whole_runs: int = 0  # the plan's (see units.WHOLE_RUNS)
    id: str = field(default_factory=lambda: search_id())  # looked up late: a test swaps it
    started: float | None = None  # when its plan was handed out
    plan: Plan | None = None
    planned: bool = False  # the plan is done (or given up)
    #: The subtrees' indices in the serial order: the plan's, with the gifts of a
    #: unit (:mod:`zmodel.explore.donate`) right after that unit.
    order: list[int] = field(default_factory=list)
    handed: set[int] = field(default_factory=set)  # the subtrees handed out
    received: dict[int, int] = field(default_factory=dict)  # per unit, gifts received
    queue: list[int] = field(default_factory=list)  # units to run again (their worker died)
    done: dict[int, Done] = field(default_factory=dict)
    deaths: dict[int, int] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    #: (slot that made it, key, stored): the cache entries each unit stored, in parts.
    batches: list[tuple[int, BatchKey, bytes]] = field(default_factory=list)
    sent: list[set[BatchKey]] = field(default_factory=list)  # per slot, the batches it has
    running: int = 0  # units handed out and not back
    slot_cpu: list[float] = field(default_factory=list)  # this search's, per slot
    #: The figures of the units done, for whoever watches (progress).
    partial: Result = field(default_factory=lambda: Result(engine=""))

    def __post_init__(self) -> None:
        self.sent = [set() for _ in range(self.workers)]
        self.slot_cpu = [0.0] * self.workers
        self.partial.engine = self.search.engine or DEFAULT_ENGINE

    @property
    def units(self) -> list[Subtree]:
        return self.plan.subtrees if self.plan is not None else []

    def _stop_at(self) -> int | None:
        """The position in :attr:`order` of the first unit after which nothing is
        needed (a model error, or with stop-at-first a violation)."""
        first = not self.search.options.all_violations
        for pos, i in enumerate(self.order):
            d = self.done.get(i)
            if d is not None and (
                d.failure is not None or (first and d.result is not None and d.result.violations)
            ):
                return pos
        return None

    def _wanted(self) -> list[int]:
        """The subtrees the result needs, in order: up to the first that stops it."""
        stop = self._stop_at()
        return self.order if stop is None else self.order[: stop + 1]

    def take(self) -> int | None:
        """The next unit: the plan, then a unit whose worker died, then the next
        subtree in the serial order.

        In order, not a part of the units per worker: neighbouring units share
        most of their states, and run at once by two workers they are explored
        twice (on 3.11's ``writeback | load 2 | free 1``, starting the second
        worker half-way made 828 k transitions against 686 k in order)."""
        if self.queue:
            return self.queue.pop(0)
        if self.started is None:
            self.started = time.perf_counter()
            return PLAN
        for i in self._wanted():
            if i not in self.handed:
                self.handed.add(i)
                return i
        return None

    def finished(self) -> bool:
        """Nothing left to hand out, and nothing out."""
        if self.started is None or self.running or self.queue:
            return False
        if not self.planned:
            return False
        return all(i in self.handed for i in self._wanted())

    def time_left(self) -> float | None:
        limit = self.search.options.time_limit
        if limit is None or self.started is None:
            return limit
        return limit - (time.perf_counter() - self.started)

    def unit(
        self, slot: int, index: int, inline: bool, live: frozenset[str], signal: Signal | None
    ) -> Unit:
        """Unit ``index`` for the worker of ``slot`` (with the cache entries it lacks);
        a subtree checks ``signal`` to know it is asked for work."""
        self.running += 1
        opts = self.search.options
        left = self.time_left()
        if left is not None:
            # The unit stops when the search must: a cancelled future's work goes on.
            opts = replace(opts, time_limit=max(left, 0.01))
        if index == PLAN:
            return Unit(self.id, PLAN, slot, inline, self.search.source, self.search.engine,
                        opts, None, live=live, target=self.target,
                        whole_runs=self.whole_runs)  # fmt: skip
        assert self.plan is not None
        batches = tuple(
            (key, stored)
            for made, key, stored in self.batches
            if made != slot and key not in self.sent[slot]
        )
        self.sent[slot].update(key for key, _ in batches)
        opts = replace(opts, extra=self.plan.extra)
        return Unit(self.id, index, slot, inline, self.search.source, self.plan.engine, opts,
                    self.units[index], batches, live, signal=signal)  # fmt: skip

    def collect(self, slot: int, done: Done) -> None:
        self.running -= 1
        if done.index == PLAN:
            self.planned = True
            self.plan = done.plan
            if done.plan is not None:
                self.partial.engine = done.plan.engine
                self.order = list(range(len(done.plan.subtrees)))
        else:
            for given in done.gifts[self.received.get(done.index, 0) :]:
                self._insert(done.index, given)  # not received while it ran
        self.done[done.index] = done
        self.slot_cpu[slot] += done.cpu
        if done.stored:
            self.share(slot, done.index, Shared(done.part, done.stored))
        self._report()

    def share(self, slot: int, index: int, part: Shared) -> None:
        """Unit ``index`` on ``slot`` stored the cache entries of ``part``: for the
        units handed to the other workers from now on (sharing.py)."""
        key = (index, self.deaths.get(index, 0), part.part)
        self.batches.append((slot, key, part.stored))

    def receive(self, index: int, given: list[Subtree]) -> None:
        """Unit ``index``, still running, gave ``given`` (:mod:`zmodel.explore.donate`)."""
        if index in self.done or not given:
            return  # its outcome, which lists every gift, came first
        self.received[index] = self.received.get(index, 0) + 1
        self._insert(index, given)

    def _insert(self, index: int, given: list[Subtree]) -> None:
        """A gift of unit ``index`` runs right after it in the serial order (before its
        earlier gifts: a later gift is from a deeper point)."""
        assert self.plan is not None
        first = len(self.plan.subtrees)
        self.plan.subtrees.extend(given)
        at = self.order.index(index) + 1
        self.order[at:at] = range(first, first + len(given))

    def died(self, slot: int, index: int, err: Exception) -> None:
        """The worker of ``slot`` died running unit ``index``: run it again, or give up.

        The gifts it sent before it died stay queued, and it runs again whole, so their
        branches are explored twice (more work, never less)."""
        self.running -= 1
        self.deaths[index] = self.deaths.get(index, 0) + 1
        again = self.deaths[index] <= RETRIES
        what = "run again" if again else f"given up after {self.deaths[index]} deaths"
        name = "the plan" if index == PLAN else f"unit {index}"
        self.notes.append(f"a worker died on {name} ({err}); {what}")
        if again:
            self.queue.insert(0, index)
        elif index == PLAN:
            self.planned = True

    def lost_worker(self, slot: int) -> None:
        """A new worker in ``slot`` has none of the entries, nor the search's program."""
        self.sent[slot].clear()

    def _report(self) -> None:
        """The figures of the units done so far, in :attr:`partial`."""
        stats = self.partial.stats
        results = [d.result for d in self.done.values() if d.result is not None]
        stats.executions = sum(r.stats.executions for r in results)
        stats.cut = sum(r.stats.cut for r in results)
        stats.transitions = sum(r.stats.transitions for r in results)
        if self.started is not None:
            stats.seconds = time.perf_counter() - self.started
        self.partial.violations = [v for i in sorted(self.done) for v in self._found(i)]

    def _found(self, index: int) -> list[Any]:
        result = self.done[index].result
        return result.violations if result is not None else []

    def explored(self) -> tuple[int, int]:
        """Units done, of the units known (the plan is one)."""
        return len(self.done), 1 + len(self.units)

    def merge(self, cut: str | None = None) -> tuple[Result, set[str], dict[Any, Any]]:
        """The units done merged in the serial order, with the labels run and the
        lock-order edges (first witness in that order).  ``cut``: why the units not
        done are missing (a time limit, an interrupt); else their workers died.
        Raises the model's ModelFailure of the first unit that had one."""
        plan = self.done.get(PLAN)
        stop = self._stop_at()
        if plan is not None and plan.failure is not None:
            raise ModelFailure(*plan.failure)
        if stop is not None and (failure := self.done[self.order[stop]].failure) is not None:
            raise ModelFailure(*failure)
        if plan is None:
            searched: list[int] = []
        elif plan.plan is None:  # the plan ran the search whole
            searched = [PLAN]
        else:
            searched = self._wanted()
        merged = Result(engine=self.partial.engine)
        merged.notes = list(self.notes)
        self._merge_units(merged, searched)
        coverage: set[str] = set()
        edges: dict[Any, Any] = {}
        wanted = list(dict.fromkeys([PLAN, *searched]))
        for i in wanted:
            if (done := self.done.get(i)) is not None:
                coverage |= done.coverage
                for key, dep in done.edges.items():
                    edges.setdefault(key, dep)
        missing = [i for i in wanted if i not in self.done]
        if missing:
            merged.cut(cut or f"{len(missing)} unit(s) given up after their workers died")
        if self.plan is not None and self.plan.chosen:
            name = self.plan.engine
            merged.options["chosen"] = name if name == "odpor" else "dpor-cached"
        stats = merged.stats
        stats.worker_cpu = sum(d.cpu for d in self.done.values())
        stats.gifts = sum(len(given) for d in self.done.values() for given in d.gifts)
        stats.busiest_cpu = max(self.slot_cpu)
        if self.started is not None:
            stats.seconds = time.perf_counter() - self.started
        return merged, coverage, edges

    def _merge_units(self, merged: Result, wanted: list[int]) -> None:
        stats = merged.stats
        step_cuts = restarted = 0
        for i in wanted:
            done = self.done.get(i)
            if done is None or done.result is None:
                continue
            r = done.result
            options = dict(r.options)
            # A unit's optimal DPOR started again halting-safe (halting_safe.py): the
            # search reports the runs all such units threw away.
            thrown = options.pop("restarted_after", 0)
            restarted += thrown if isinstance(thrown, int) else 0
            merged.engine, merged.options = r.engine, options
            merged.violations += r.violations
            stats.executions += r.stats.executions
            stats.cut += r.stats.cut
            stats.pruned += r.stats.pruned
            stats.transitions += r.stats.transitions
            if r.stats.distinct_states is not None:
                stats.distinct_states = max(stats.distinct_states or 0, r.stats.distinct_states)
            for bound in r.bounds:
                if bound.startswith("step bound "):
                    step_cuts += int(bound.split(" cut ")[1].split()[0])
                elif bound.startswith("time limit "):
                    # A unit's limit is what was left of the search's when it was
                    # handed out: the search's own is the bound.
                    merged.cut(f"time limit {self.search.options.time_limit:g}s")
                else:
                    merged.cut(bound)
        if restarted:
            merged.options["restarted_after"] = restarted
        if step_cuts:
            max_steps = self.search.options.max_steps
            merged.cut(f"step bound {max_steps} cut {step_cuts} run(s)")
