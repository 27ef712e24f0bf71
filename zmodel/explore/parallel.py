"""Parallel exhaustive search: a program's tree split once, its subtrees run on
persistent workers, the results merged in the serial order.

:func:`explore_parallel` splits the tree in the coordinator
(:mod:`zmodel.explore.split`, along the leftmost path, into
:data:`~zmodel.explore.split.DEFAULT_TARGET` units whatever the number of
workers), then hands them out in order, one at a time, to idle workers.  No
work stealing: with units of like sizes an idle worker takes the next one.

* The default engine (``dpor``, ``-X cache=auto``) is chosen as one process
  chooses it (:mod:`zmodel.explore.choose`): the coordinator runs cached
  source-DPOR on the whole tree for up to ``probe`` runs first; a search that
  ends in the probe is that result; else the units run cached source-DPOR (a
  hit came) or optimal DPOR (none came).
* State cache: each worker keeps one per search, shared by the units it runs
  (:mod:`zmodel.explore.subtree`), and the entries a unit stored travel with the
  next unit handed to every other worker (:meth:`StateCache.adopt
  <zmodel.explore.dpor_cache.StateCache.adopt>`): on 3.11's ``writeback | load 2
  | free 1`` two workers with their own caches alone ran 31 % more transitions
  than one process (832 k against 636 k), with the entries shared 8 % (686 k).
  The entries of states :data:`SHIP_DEPTH` steps deep or deeper stay home (the
  same 686 k, half the bytes).
* Merging: violations in the units' order; with stop-at-first, the units after
  the first violating one are not started (the ones before it still finish).
  Figures are summed (``distinct_states``: the largest worker's cache).  The
  verdict is exhaustive only if every unit finished; a unit whose worker died is
  run again (noted in ``Result.notes``), up to :data:`RETRIES` times, then the
  search is cut by it.  A time limit cuts the units not finished by then.
"""

from __future__ import annotations

import gc
import pickle
import time
from dataclasses import dataclass, field, replace
from typing import Any, Protocol

from zmodel.explore import progress
from zmodel.explore.backends import Backend, WorkerDied, slot_state
from zmodel.explore.choose import PROBE_RUNS, choose_engine
from zmodel.explore.engines import DEFAULT_ENGINE, SPLITTABLE, EngineOptions, run_engine
from zmodel.explore.program import Program
from zmodel.explore.result import Choice, ModelFailure, Result
from zmodel.explore.split import DEFAULT_TARGET, split
from zmodel.explore.subtree import WHOLE, Subtree, caching
from zmodel.runtime import Step

#: How many times a unit is run again after its worker died.
RETRIES = 2
#: Only the entries of states fewer steps deep than this travel to the other
#: workers: a deep state's hit saves little, and every entry costs its pickling.
SHIP_DEPTH = 140
_SEARCHES = iter(range(1, 2**62))


class Source(Protocol):
    """A picklable recipe for a program, rebuilt once per worker: ``program(coverage,
    edges)`` records the labels run in ``coverage`` and the lock-order edges in ``edges``
    (each a holder the worker empties per unit)."""

    def program(self, coverage: set[str], edges: dict[Any, Any]) -> Program: ...


Stored = list[tuple[object, frozenset[int], int, Any]]


@dataclass(frozen=True)
class Unit:
    search: str
    index: int
    slot: int
    inline: bool
    source: Source
    engine: str
    options: EngineOptions
    subtree: Subtree
    #: Cache entries other workers stored, by batch (a unit's index), not sent before;
    #: pickled by the worker that stored them, so the coordinator only passes them on.
    batches: tuple[tuple[int, bytes], ...] = ()


@dataclass
class Done:
    index: int
    result: Result | None = None
    stored: bytes = b""  # the cache entries this unit stored, pickled
    coverage: set[str] = field(default_factory=set)
    edges: dict[Any, Any] = field(default_factory=dict)
    cpu: float = 0.0
    adopt: float = 0.0  # of cpu: storing the entries other workers shipped
    failure: tuple[str, list[Choice], list[Step]] | None = None


def run_unit(unit: Unit) -> Done:
    """Explore one unit (in a worker)."""
    cpu = time.process_time()
    state = slot_state(unit.slot if unit.inline else None)
    mine: tuple[Program, set[str], dict[Any, Any], dict[str, Any]] | None = state.get(unit.search)
    if mine is None:
        state.clear()  # a worker keeps the search under way only
        coverage: set[str] = set()
        edges: dict[Any, Any] = {}
        program = unit.source.program(coverage, edges)
        mine = state[unit.search] = (program, coverage, edges, {})
    program, coverage, edges, store = mine
    had = store.get("dpor")
    adopt = time.process_time()
    for _, stored in unit.batches:
        if had is not None:
            had.adopt(pickle.loads(stored))
    if unit.batches and not unit.inline:
        # The cache lives as long as the search: the collector need not walk it at
        # every full collection (3.11's writeback | load 2 | free 1: 37.5 -> 27.9
        # worker CPU-s with the eager fork of backends.py).  Garbage now stays.
        gc.freeze()
    adopt = time.process_time() - adopt
    coverage.clear()
    edges.clear()
    done = Done(unit.index)
    journal: Stored = []
    if had is not None:
        had.journal = journal
    with caching(store):
        try:
            done.result = run_engine(
                program, unit.engine, replace(unit.options, subtree=unit.subtree)
            )
        except ModelFailure as failure:
            done.failure = (str(failure), failure.schedule, failure.trace)
    cache = store.get("dpor")
    if cache is not None:
        if had is None:  # made by this unit: all its entries are this unit's
            journal = cache.entries()
        cache.journal = None
        cutoff = unit.options.max_steps - SHIP_DEPTH
        journal = [entry for entry in journal if entry[2] > cutoff]
        if journal:
            done.stored = pickle.dumps(journal, protocol=pickle.HIGHEST_PROTOCOL)
    done.coverage, done.edges = set(coverage), dict(edges)
    done.cpu = time.process_time() - cpu
    done.adopt = adopt
    return done


def explore_parallel(
    source: Source,
    backend: Backend,
    engine: str | None,
    options: EngineOptions,
    *,
    coverage: set[str] | None = None,
    edges: dict[Any, Any] | None = None,
    target: int = DEFAULT_TARGET,
) -> Result:
    """:func:`~zmodel.explore.explore` of ``source``'s program on ``backend``'s workers;
    the labels run and the lock-order edges (first witness in the serial order) are
    added to ``coverage`` and ``edges``."""
    started = time.perf_counter()
    name = DEFAULT_ENGINE if engine is None else engine
    extra = dict(options.extra)
    local_cov: set[str] = set()
    local_edges: dict[Any, Any] = {}
    program = source.program(local_cov, local_edges)
    chosen = False
    if name == "dpor" and options.max_preemptions is None and extra.get("cache", "auto") == "auto":
        probe = choose_engine(
            program,
            max_steps=options.max_steps,
            stop_on_first=not options.all_violations,
            time_limit=options.time_limit,
            on_end=options.on_end,
            probe_runs=int(extra.pop("probe", None) or PROBE_RUNS),
        )
        _absorb(coverage, edges, local_cov, local_edges)
        if isinstance(probe, Result):
            probe.options["chosen"] = "dpor-cached"
            return probe
        name = "odpor" if probe == "odpor" else "dpor"
        extra = {**extra, "cache": "on"} if name == "dpor" else {}
        chosen = True
    opts = replace(options, extra=extra)
    if name in SPLITTABLE and options.max_preemptions is None:
        units = split(program, engine=name, max_steps=options.max_steps, target=target)
    else:
        units = [WHOLE]
    search = _Run(backend, source, name, opts, units)
    result = search.wait(started)
    if chosen:
        result.options["chosen"] = name if name == "odpor" else "dpor-cached"
    _absorb(coverage, edges, search.coverage, search.edges)
    return result


def _absorb(
    coverage: set[str] | None, edges: dict[Any, Any] | None, cov: set[str], new: dict[Any, Any]
) -> None:
    if coverage is not None:
        coverage |= cov
    if edges is not None:
        for key, dep in new.items():
            edges.setdefault(key, dep)


class _Run:
    """One search's units on the back-end, handed out in order to idle workers."""

    def __init__(
        self,
        backend: Backend,
        source: Source,
        engine: str,
        opts: EngineOptions,
        units: list[Subtree],
    ) -> None:
        self.backend, self.source, self.engine, self.opts = backend, source, engine, opts
        self.units = units
        self.id = f"{time.time_ns()}-{next(_SEARCHES)}"
        self.next = 0  # the first unit not started
        self.started = time.perf_counter()
        self.slot_cpu = [0.0] * backend.workers
        self.queue: list[int] = []  # units to run again (their worker died)
        self.done: dict[int, Done] = {}
        self.deaths: dict[int, int] = {}
        self.notes: list[str] = []
        self.batches: list[tuple[int, int, bytes]] = []  # (slot that made it, unit, stored)
        self.sent: list[set[int]] = [set() for _ in range(backend.workers)]
        self.coverage: set[str] = set()
        self.edges: dict[Any, Any] = {}
        #: The figures of the units done, for whoever watches (progress).
        self.partial = Result(engine=engine)

    def _stop_at(self) -> int | None:
        """The first unit after which nothing is needed (a model error, or with
        stop-at-first a violation)."""
        stops = [
            i
            for i, d in self.done.items()
            if d.failure is not None
            or (not self.opts.all_violations and d.result is not None and d.result.violations)
        ]
        return min(stops) if stops else None

    def _take(self) -> int | None:
        """The next unit in the serial order (a unit whose worker died first).

        In order, not a part of the units per worker: neighbouring units share
        most of their states, and run at once by two workers they are explored
        twice (on 3.11's ``writeback | load 2 | free 1``, starting the second
        worker half-way made 828 k transitions against 686 k in order)."""
        if self.queue:
            return self.queue.pop(0)
        stop = self._stop_at()
        if self.next < len(self.units) and (stop is None or self.next < stop):
            self.next += 1
            return self.next - 1
        return None

    def _submit(self, slot: int, index: int) -> Any:
        batches = tuple(
            (unit, stored)
            for made, unit, stored in self.batches
            if made != slot and unit not in self.sent[slot]
        )
        self.sent[slot].update(unit for unit, _ in batches)
        opts = self.opts
        if opts.time_limit is not None:
            # The unit stops when the search must: a cancelled future's work goes on.
            left = opts.time_limit - (time.perf_counter() - self.started)
            opts = replace(opts, time_limit=max(left, 0.01))
        unit = Unit(
            self.id, index, slot, self.backend.inline, self.source, self.engine, opts,
            self.units[index], batches,
        )  # fmt: skip
        return self.backend.submit(slot, run_unit, unit)

    def wait(self, started: float) -> Result:
        self.started = started
        limit = self.opts.time_limit
        running: dict[Any, tuple[int, int]] = {}
        idle = list(range(self.backend.workers))
        timed_out = False
        progress.started(self.partial)
        while True:
            while idle:
                index = self._take()
                if index is None:
                    break
                slot = idle.pop(0)
                running[self._submit(slot, index)] = (slot, index)
            if not running:
                break
            if limit is not None and time.perf_counter() - started > limit + 1.0:
                timed_out = True
                break
            finished = self.backend.wait_any(list(running), 0.25)
            for future in sorted(finished, key=lambda f: running[f][1]):
                slot, index = running.pop(future)
                idle.append(slot)
                self._collect(future, slot, index)
                self._report(started)
        for future in running:
            future.cancel()
        return self._merge(started, timed_out)

    def _collect(self, future: Any, slot: int, index: int) -> None:
        try:
            done: Done = self.backend.outcome(future)
        except WorkerDied as err:
            self.deaths[index] = self.deaths.get(index, 0) + 1
            again = self.deaths[index] <= RETRIES
            what = "run again" if again else f"given up after {self.deaths[index]} deaths"
            self.notes.append(f"a worker died on unit {index} ({err}); {what}")
            self.sent[slot].clear()  # a new worker has none of the entries
            if again:
                self.queue.insert(0, index)
            return
        self.done[index] = done
        self.slot_cpu[slot] += done.cpu
        if done.stored:
            self.batches.append((slot, index, done.stored))
        self.coverage |= done.coverage
        for key, dep in done.edges.items():
            self.edges.setdefault(key, dep)

    def _report(self, started: float) -> None:
        """Hand the figures of the units done so far to the progress monitor."""
        stats = self.partial.stats
        results = [d.result for d in self.done.values() if d.result is not None]
        stats.executions = sum(r.stats.executions for r in results)
        stats.cut = sum(r.stats.cut for r in results)
        stats.transitions = sum(r.stats.transitions for r in results)
        stats.seconds = time.perf_counter() - started
        self.partial.violations = [v for r in results for v in r.violations]
        units = len(self.units)
        progress.executed(self.partial, 1, lambda: [(len(self.done), units)])

    def _merge(self, started: float, timed_out: bool) -> Result:
        stop = self._stop_at()
        if stop is not None and (failure := self.done[stop].failure) is not None:
            raise ModelFailure(*failure)
        merged = Result(engine=self.engine)
        merged.notes = list(self.notes)
        wanted = range(len(self.units) if stop is None else stop + 1)
        stats = merged.stats
        step_cuts = 0
        for i in wanted:
            done = self.done.get(i)
            if done is None or done.result is None:
                continue
            r = done.result
            merged.engine, merged.options = r.engine, dict(r.options)
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
                elif bound not in merged.bounds:
                    merged.cut(bound)
        if step_cuts:
            merged.cut(f"step bound {self.opts.max_steps} cut {step_cuts} run(s)")
        missing = [i for i in wanted if i not in self.done]
        if missing and timed_out and self.opts.time_limit is not None:
            merged.cut(f"time limit {self.opts.time_limit:g}s")
        elif missing:
            merged.cut(f"{len(missing)} unit(s) given up after their workers died")
        stats.worker_cpu = sum(d.cpu for d in self.done.values())
        stats.busiest_cpu = max(self.slot_cpu)
        self.adopt_cpu = sum(d.adopt for d in self.done.values())
        self.shipped = sum(len(d.stored) for d in self.done.values())  # bytes
        stats.seconds = time.perf_counter() - started
        return merged
