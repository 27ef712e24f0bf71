"""Many searches in flight on one back-end: a suite's scenarios, both sides of a verify.

:func:`explore_many` takes the searches in the order their results are wanted
(a suite's order; verify's base then new, scenario by scenario) and hands them
back in that order.  Each :class:`~zmodel.explore.result.Result` is one
search's alone: split, what :func:`~zmodel.explore.parallel.explore_parallel`
(this with one search) gives it; run whole (below), the serial engine's.
Either way the verdict and the violated properties are the serial engine's.

Scheduling.  Every search is a list of units (:mod:`zmodel.explore.units`): its
plan first (the default engine's probe and the split, or the whole search where
it is small), then its subtrees.  All the searches' units share one queue,
ordered by (search, unit): an idle worker takes the first unit of the first
search that has one to give.  So

* no worker waits while any search has work: while one search's plan probes, or
  its last subtrees run, the next search's plan starts on the idle workers.  The
  plan runs on a worker, so the coordinator never serialises the probes (with
  the probe in the coordinator, a suite of small scenarios kept one core busy and
  the workers idle);
* an earlier search never waits for a later one: its units go first, so the
  searches finish roughly in the order they are wanted, the coordinator holds
  few finished results, and at most about one search per worker is in flight
  (each one started has a unit running, or it would not let a later one start);
* neighbouring subtrees of one search still run at once on different workers
  (they share most states: the cache entries one stored reach the other, see
  :mod:`zmodel.explore.parallel`).

A small search is one unit.  Split into 64 subtrees, a search of a few hundred
runs costs about twice its serial work (each subtree starts cold: 2013's
load-vs-writeback ran 82 executions split against 26 whole), and in a suite the
other searches keep the workers busy anyway.  So with more than one search, a
plan that chose cached source-DPOR goes on with it, as the serial engine does,
for up to :data:`~zmodel.explore.units.WHOLE_RUNS` runs: a search that ends
there is the serial engine's own result; a bigger one is split, those runs
thrown away (1,024 runs are 5.9 CPU-s of 3.11's three-thread scenario, about a
quarter; one search alone is split at the choice, as before).  Measured on
3.13's suite (``benchmarks/parallel.py --only suite``, 2 workers): 1,024 runs
gave a 1.69x speed-up at 0.95x the serial CPU, 256 runs 1.26x at 1.38x.

The coordinator is two threads on a real back-end: one hands out units and
collects them, the caller's minimises and saves what it was handed back, so the
workers are fed meanwhile (minimising a suite's files takes seconds of z3).
The in-process back-end runs the units in the caller's thread, in turn: the
tests' runs are deterministic.

Each search's units see only its own bookkeeping (:mod:`zmodel.explore.tracker`),
so its result does not depend on what else was in flight: the same split, the
same units, merged in the same order; which cache entries reach a worker in time
depends on timing, as it does for one search (figures, never the verdict).  The
workers keep what they hold of each search in flight (program, cache) and drop a
search's once it is done.

Results are handed back in order: a search that finishes before an earlier one
waits in the coordinator.  A model error is raised when its search's turn comes
(the searches before it are handed back first).  A time limit is per search,
counted from when its plan is handed out; at the limit the search stops taking
units, and a second later it is merged without the units still out (their
workers are busy until their own limit stops them, which is the same).  A
worker that dies costs the unit it ran, run again on the worker started in its
place (up to :data:`~zmodel.explore.tracker.RETRIES` times, then given up and
the search's verdict bounded); every search loses the cache entries that worker
held.  On Ctrl-C the caller asks :meth:`Many.interrupt` for the searches
started and not handed back: those done as they are, the others merged from the
units done and cut by the interrupt.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from zmodel.explore.backends import Backend, WorkerDied
from zmodel.explore.result import ModelFailure, Result
from zmodel.explore.sharing import Shared
from zmodel.explore.split import DEFAULT_TARGET
from zmodel.explore.tracker import Search, Tracker
from zmodel.explore.units import PLAN, WHOLE_RUNS, run_unit

__all__ = ["Board", "Many", "Search", "Searched", "explore_many"]

#: Seconds after a search's time limit before it is merged without its units still out.
GRACE = 1.0
#: Seconds the coordinator waits for a unit before it looks at the clock again.
POLL = 0.25
#: Seconds a unit runs before an idle worker may take work from it: a gift is a point
#: expanded in full, whose extra branches cost runs that end asleep (measured in
#: parallel.py's docstring), so only a long tail is worth it.
STEAL_AFTER = 10.0


@dataclass
class Searched:
    """One search's outcome: its result, the labels its runs executed and the
    lock-order edges (first witness in the serial order)."""

    index: int
    result: Result
    coverage: set[str] = field(default_factory=set)
    edges: dict[Any, Any] = field(default_factory=dict)
    #: Ctrl-C stopped it: the figures of the units done (``Many.interrupt``).
    interrupted: bool = False


@dataclass(frozen=True)
class Flight:
    """A search in flight, for progress: its figures so far and the units done."""

    index: int
    partial: Result
    units_done: int
    units_known: int
    finished: bool


#: Every search started and not handed back, in order: what the workers are doing.
Board = tuple[Flight, ...]


class Many:
    """The searches' units on the back-end, their results handed back in order."""

    def __init__(
        self,
        searches: Sequence[Search],
        backend: Backend,
        *,
        target: int = DEFAULT_TARGET,
        on_progress: Callable[[Board], None] | None = None,
        interval: float = 1.0,
    ) -> None:
        self.backend = backend
        whole = WHOLE_RUNS if len(searches) > 1 else 0
        self.trackers = [Tracker(s, backend.workers, target, whole) for s in searches]
        #: Per search ended, in the order they ended: its outcome (None once handed back).
        self.outcomes: dict[int, Searched | BaseException | None] = {}
        self.cursor = 0  # the next search to hand back
        self.idle = list(range(backend.workers))
        self.running: dict[Any, tuple[int, int, int]] = {}  # future: (slot, search, unit)
        self.since: dict[int, float] = {}  # per slot, when its unit was handed out
        self.asked: set[int] = set()  # the slots asked for work, not answered yet
        self.on_progress, self.interval = on_progress, interval
        self._due = time.perf_counter() + interval
        self._lock = threading.Condition()
        self._stop = False
        self._crash: BaseException | None = None
        self._thread: threading.Thread | None = None
        if not backend.inline:
            # The workers are fed while the caller minimises and saves what it was
            # handed (in this thread, the in-process back-end runs the units).
            self._thread = threading.Thread(target=self._serve, name="zmodel-many", daemon=True)
            self._thread.start()

    def __iter__(self) -> Iterator[Searched]:
        return self

    def __next__(self) -> Searched:
        if self.cursor >= len(self.trackers):
            raise StopIteration
        while True:
            with self._lock:
                if self._crash is not None:
                    raise self._crash
                if self.cursor in self.outcomes:
                    outcome = self.outcomes[self.cursor]
                    self.outcomes[self.cursor] = None  # handed back: the caller holds it
                    break
                if self._thread is not None:
                    self._lock.wait(min(POLL, max(self._due - time.perf_counter(), 0.01)))
            if self._thread is None:
                self._pump()
            self._progress()
        self.cursor += 1
        assert outcome is not None
        if isinstance(outcome, BaseException):
            raise outcome
        return outcome

    def _serve(self) -> None:
        try:
            while not self._stop and len(self.outcomes) < len(self.trackers):
                self._pump()
        except BaseException as err:  # the caller raises it (a worker's Ctrl-C too)
            with self._lock:
                self._crash = err
                self._lock.notify_all()

    def close(self) -> None:
        """Stop handing out units (the ones out are left to finish)."""
        self._stop = True
        if self._thread is not None:
            self._thread.join()

    def _live(self) -> frozenset[str]:
        return frozenset(
            t.id
            for i, t in enumerate(self.trackers)
            if t.started is not None and i not in self.outcomes
        )

    def _pump(self) -> None:
        """Hand out units to the idle workers, wait a little for one to finish, and
        end the searches that are done or out of time."""
        with self._lock:
            while self.idle and (picked := self._pick()) is not None:
                search, index = picked
                slot = self.idle.pop(0)
                tracker = self.trackers[search]
                signal = self.backend.signal(slot)
                unit = tracker.unit(slot, index, self.backend.inline, self._live(), signal)
                size = sum(len(entries) for _, entries in unit.batches)
                future = self.backend.submit(slot, run_unit, unit, size)
                self.running[future] = (slot, search, index)
                self.since[slot] = time.perf_counter()
            if self.idle:
                self._steal()
            waiting = list(self.running)
        # A gift is received between two waits: shorter ones while a worker is asked.
        poll = POLL / 10 if self.asked else POLL
        finished = self.backend.wait_any(waiting, poll) if waiting else set()
        with self._lock:
            self._receive()
            for future in sorted(finished, key=lambda f: self.running[f][1:]):
                self._collect(future)
            for i, tracker in enumerate(self.trackers):
                if i in self.outcomes or tracker.started is None:
                    continue
                left = tracker.time_left()
                if tracker.finished():
                    self._end(i, None)
                elif left is not None and (left < -GRACE or (left <= 0 and not tracker.running)):
                    self._end(i, f"time limit {tracker.search.options.time_limit:g}s")
            self._lock.notify_all()

    def _pick(self) -> tuple[int, int] | None:
        """The first unit of the first search not ended that has one."""
        for i, tracker in enumerate(self.trackers):
            if i in self.outcomes:
                continue
            left = tracker.time_left()
            if left is not None and left <= 0:
                continue  # out of time: its units not handed out are cut
            index = tracker.take()
            if index is not None:
                return i, index
        return None

    def _steal(self) -> None:
        """Idle workers and nothing to hand out: ask the units running longest (one
        per idle worker) for work (:mod:`zmodel.explore.donate`)."""
        now = time.perf_counter()
        ripe = sorted(
            (self.since[slot], slot)
            for slot, search, index in self.running.values()
            if index != PLAN
            and slot not in self.asked
            and search not in self.outcomes
            and now - self.since[slot] >= STEAL_AFTER
        )
        for _, slot in ripe[: len(self.idle)]:
            self.backend.ask(slot)
            self.asked.add(slot)

    def _receive(self) -> None:
        """The gifts of the units asked for work: into their searches' queues; the
        cache entries running units shipped: to the units handed out next."""
        gifts = self.backend.gifts()
        if not gifts:
            return
        by_id = {t.id: (i, t) for i, t in enumerate(self.trackers)}
        for slot, search_id, index, given in gifts:
            i, tracker = by_id.get(search_id, (None, None))
            if isinstance(given, Shared):
                if tracker is not None and i not in self.outcomes:
                    tracker.share(slot, index, given)
                continue
            self.asked.discard(slot)
            if tracker is not None and i not in self.outcomes:
                tracker.receive(index, given)

    def _collect(self, future: Any) -> None:
        slot, search, index = self.running.pop(future)
        self.asked.discard(slot)
        self.idle.append(slot)
        tracker = self.trackers[search]
        try:
            done = self.backend.outcome(future)
        except WorkerDied as err:
            for t in self.trackers:
                t.lost_worker(slot)
            if search not in self.outcomes:
                tracker.died(slot, index, err)
            return
        except Exception as err:  # raised in the worker: the search's error, at its turn
            if search not in self.outcomes:
                self.outcomes[search] = err
            return
        if search not in self.outcomes:  # else ended by its time limit: too late
            tracker.collect(slot, done)

    def _end(self, search: int, cut: str | None) -> None:
        tracker = self.trackers[search]
        try:
            result, coverage, edges = tracker.merge(cut)
        except ModelFailure as failure:
            self.outcomes[search] = failure
            return
        self.outcomes[search] = Searched(search, result, coverage, edges)

    def _progress(self) -> None:
        now = time.perf_counter()
        if self.on_progress is None or now < self._due:
            return
        self._due = now + self.interval
        with self._lock:
            board = self.board()
        self.on_progress(board)  # not holding the lock: it may print, or raise Ctrl-C

    def board(self) -> Board:
        """The searches started and not handed back, with their figures so far."""
        flights = []
        for i in range(self.cursor, len(self.trackers)):
            tracker = self.trackers[i]
            if tracker.started is None:
                continue
            tracker.partial.stats.seconds = time.perf_counter() - tracker.started
            done, known = tracker.explored()
            outcome = self.outcomes.get(i)
            partial = outcome.result if isinstance(outcome, Searched) else tracker.partial
            flights.append(Flight(i, partial, done, known, outcome is not None))
        return tuple(flights)

    def interrupt(self) -> list[Searched]:
        """After Ctrl-C: the searches started and not handed back, in order, each as it
        ended or merged from its units done (cut: interrupted), up to the first with a
        model error; the units out are cancelled."""
        self.close()
        for future in self.running:
            future.cancel()
        self.running.clear()
        handed: list[Searched] = []
        for i in range(self.cursor, len(self.trackers)):
            tracker = self.trackers[i]
            if tracker.started is None:
                break
            if i not in self.outcomes:
                seconds = time.perf_counter() - tracker.started
                # A search whose every unit came back is whole, interrupted or not.
                self._end(i, f"interrupted after {seconds:.1f} s")
                outcome = self.outcomes[i]
                if isinstance(outcome, Searched):
                    bounds = outcome.result.bounds
                    outcome.interrupted = any(b.startswith("interrupted") for b in bounds)
            outcome = self.outcomes.pop(i)
            if not isinstance(outcome, Searched):
                break
            handed.append(outcome)
        self.cursor = len(self.trackers)
        return handed


#: The results of the searches on the back-end's workers, in order (an iterator).
explore_many = Many
