"""What a worker of a parallel search runs: one unit of work of one search.

A search's first unit is its *plan* (``Unit.subtree`` None): the default
engine's choice (:func:`~zmodel.explore.choose.choose_engine`, up to ``probe``
runs of cached source-DPOR) and the split (:mod:`zmodel.explore.split`).  It
runs on a worker, not in the coordinator, so that the plans of many searches
run at once (:mod:`zmodel.explore.many`).  A plan hands back the subtrees, or,
where no split is wanted (the search ended within the probe, an engine that
explores no subtree, a tree of one subtree), the search's whole result: a small
search is one unit.  Every other unit explores one subtree.

A worker keeps, per search under way, the program (built once from the
:class:`Source`), the holders of the labels run and the lock-order edges, and
the state cache the search's units share (:mod:`zmodel.explore.subtree`); each
unit names the searches still under way, and the worker drops the others.
"""

from __future__ import annotations

import gc
import math
import multiprocessing
import pickle
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any, Protocol

from zmodel.explore.backends import Signal, slot_state
from zmodel.explore.choose import PROBE_RUNS, choose_engine
from zmodel.explore.collector import stay_frozen
from zmodel.explore.donate import Handoff
from zmodel.explore.engines import DEFAULT_ENGINE, SPLITTABLE, EngineOptions, run_engine
from zmodel.explore.program import Program
from zmodel.explore.result import Choice, ModelFailure, Result
from zmodel.explore.sharing import BatchKey, Shared, Sharer, Stored
from zmodel.explore.split import DEFAULT_TARGET, split
from zmodel.explore.subtree import WHOLE, Subtree, caching
from zmodel.runtime import ModelError, Step

#: Only the entries of states fewer steps deep than this travel to the other
#: workers: a deep state's hit saves little, and every entry costs its pickling.
SHIP_DEPTH = 140
#: Runs a plan goes on with cached source-DPOR (once chosen) before it splits the
#: search, when other searches are in flight to keep the workers busy.
WHOLE_RUNS = 1024
#: The plan's index among a search's units (the subtrees are 0, 1, ...).
PLAN = -1
#: The engines that give work when asked (:mod:`zmodel.explore.donate`).
GIVERS = frozenset({"dpor", "odpor"})


class Source(Protocol):
    """A picklable recipe for a program, rebuilt once per worker: ``program(coverage,
    edges)`` records the labels run in ``coverage`` and the lock-order edges in ``edges``
    (each a holder the worker empties per unit)."""

    def program(self, coverage: set[str], edges: dict[Any, Any]) -> Program: ...


@dataclass(frozen=True)
class Unit:
    search: str
    index: int  # PLAN, or the subtree's index
    slot: int
    inline: bool
    source: Source
    #: The plan: the engine asked for (None: the default); a subtree: the one chosen.
    engine: str | None
    options: EngineOptions
    subtree: Subtree | None  # None: the plan
    #: Cache entries other workers stored, by batch (a unit's index and part), not sent
    #: before; pickled by the worker that stored them, so the coordinator only passes
    #: them on.
    batches: tuple[tuple[BatchKey, bytes], ...] = ()
    #: The searches under way: the worker drops what it keeps of any other.
    live: frozenset[str] = frozenset()
    target: int = DEFAULT_TARGET  # the plan's split
    #: The plan's runs of cached source-DPOR before it splits (0: at the choice).
    whole_runs: int = 0
    #: A subtree: asks it for work and takes its gifts back (the back-end's
    #: :class:`~zmodel.explore.backends.Signal`; None: never asked).
    signal: Signal | None = None


@dataclass(frozen=True)
class Plan:
    """The engine a search's subtrees run, its ``-X`` options, and the subtrees."""

    engine: str
    extra: dict[str, Any]
    subtrees: list[Subtree]
    chosen: bool  # the default engine's choice made it


@dataclass
class Done:
    index: int
    result: Result | None = None
    plan: Plan | None = None  # a plan that split: the subtrees to run
    stored: bytes = b""  # the cache entries this unit stored, pickled
    part: int = 0  # of them, as sharing.py numbers the parts a unit ships
    coverage: set[str] = field(default_factory=set)
    edges: dict[Any, Any] = field(default_factory=dict)
    cpu: float = 0.0
    adopt: float = 0.0  # of cpu: storing the entries other workers shipped
    failure: tuple[str, list[Choice], list[Step]] | None = None
    #: The subtrees it gave idle workers, gift by gift (:mod:`zmodel.explore.donate`;
    #: each was sent on when given too, :meth:`Signal.give`).
    gifts: list[list[Subtree]] = field(default_factory=list)


_Kept = tuple[Program, set[str], dict[Any, Any], dict[str, Any]]


def _kept(unit: Unit) -> _Kept:
    """What the worker keeps of ``unit``'s search, made at its first unit here."""
    state = slot_state(unit.slot if unit.inline else None)
    for search in [s for s in state if s not in unit.live and s != unit.search]:
        del state[search]
    mine: _Kept | None = state.get(unit.search)
    if mine is None:
        coverage: set[str] = set()
        edges: dict[Any, Any] = {}
        program = unit.source.program(coverage, edges)
        mine = state[unit.search] = (program, coverage, edges, {})
    return mine


def run_unit(unit: Unit) -> Done:
    """Run one unit (in a worker): a plan, or a subtree."""
    cpu = time.process_time()
    if not unit.inline and multiprocessing.parent_process() is not None:
        # A worker process of its own (not a dask worker thread in the caller's
        # process, whose collector policy is the caller's).
        stay_frozen()
    done = Done(unit.index)
    try:
        program, coverage, edges, store = _kept(unit)
    except ModelError as error:  # the program's setup raised, before any choice
        done.failure = (str(error), [], [])
        return done
    coverage.clear()
    edges.clear()
    try:
        if unit.subtree is None:
            _plan(unit, program, store, done)
        else:
            _explore(unit, program, store, unit.subtree, done)
    except ModelFailure as failure:
        done.failure = (str(failure), failure.schedule, failure.trace)
    except ModelError as error:
        done.failure = (str(error), [], [])
    done.coverage, done.edges = set(coverage), dict(edges)
    done.cpu = time.process_time() - cpu
    return done


def _plan(unit: Unit, program: Program, store: dict[str, Any], done: Done) -> None:
    """The default engine's choice (as one process makes it), then the split; the
    search itself where it is one unit."""
    started = time.perf_counter()
    options = unit.options
    name = DEFAULT_ENGINE if unit.engine is None else unit.engine
    extra = dict(options.extra)
    chosen = False
    if name == "dpor" and options.max_preemptions is None and extra.get("cache", "auto") == "auto":
        probe = choose_engine(
            program,
            max_steps=options.max_steps,
            stop_on_first=not options.all_violations,
            time_limit=options.time_limit,
            on_end=options.on_end,
            probe_runs=int(extra.pop("probe", None) or PROBE_RUNS),
            whole_runs=unit.whole_runs,
        )
        if isinstance(probe, Result):
            probe.options["chosen"] = "dpor-cached"
            done.result = probe
            return
        name = "odpor" if probe == "odpor" else "dpor"
        extra = {**extra, "cache": "on"} if name == "dpor" else {}
        chosen = True
    subtrees = [WHOLE]
    if name in SPLITTABLE and options.max_preemptions is None:
        subtrees = split(program, engine=name, max_steps=options.max_steps, target=unit.target)
    plan = Plan(name, extra, subtrees, chosen)
    if len(subtrees) > 1:
        done.plan = plan
        return
    left = options.time_limit
    if left is not None:
        left = max(left - (time.perf_counter() - started), 0.01)
    whole = replace(unit, engine=name, options=replace(options, extra=extra, time_limit=left))
    _explore(whole, program, store, subtrees[0], done)
    if done.result is not None and chosen:
        done.result.options["chosen"] = name if name == "odpor" else "dpor-cached"


def _explore(
    unit: Unit, program: Program, store: dict[str, Any], subtree: Subtree, done: Done
) -> None:
    had = store.get("dpor")
    adopt = time.process_time()
    for _, stored in unit.batches:
        if had is not None:
            had.adopt(pickle.loads(stored))
    if not unit.inline and unit.batches:
        # The cache lives as long as the search: where the collector is on (a model
        # that makes cycles), it need not walk the cache at every full collection
        # (3.11's writeback | load 2 | free 1: 37.5 -> 27.9 worker CPU-s with the
        # eager fork of backends.py); see collector.py.
        gc.freeze()
    done.adopt = time.process_time() - adopt
    journal: Stored = []
    if had is not None:
        had.journal = journal
    options = replace(unit.options, subtree=subtree)
    handoff = None
    signal = unit.signal
    sharer = Sharer(lambda: store.get("dpor"), journal, unit.options.max_steps - SHIP_DEPTH,
                    None if signal is None else _sender(signal, unit),
                    math.inf if signal is None else signal.share_every)  # fmt: skip
    if signal is not None and unit.engine in GIVERS:
        handoff = options.handoff = Handoff(
            signal.asked, lambda given: signal.give(unit.search, unit.index, given), sharer
        )
    with caching(store):
        try:
            done.result = run_engine(program, unit.engine, options)
        except ModelFailure as failure:
            done.failure = (str(failure), failure.schedule, failure.trace)
    if handoff is not None:
        done.gifts = handoff.gifts
    cache = store.get("dpor")
    if cache is not None:
        rest = sharer.part()  # what no part shipped while it ran
        cache.journal = None
        if rest is not None:
            done.stored, done.part = rest.stored, rest.part


def _sender(signal: Signal, unit: Unit) -> Callable[[Shared], None]:
    return lambda part: signal.share(unit.search, unit.index, part)
