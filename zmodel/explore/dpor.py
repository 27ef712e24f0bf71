"""Source-DPOR with sleep sets, optionally preemption-bounded.

The algorithm
-------------
Two schedules that differ only in the order of adjacent *independent* steps
(steps of different threads whose footprints do not conflict) reach the same
state through the same steps: they belong to the same Mazurkiewicz trace.  Plain
DFS runs every schedule; this engine runs at least one schedule of every trace,
and far fewer schedules overall.  It is source-DPOR (Abdulla, Aronis, Jonsson,
Sagonas, "Optimal dynamic partial order reduction", POPL 2014, Algorithm 1),
stateless like :mod:`zmodel.explore.dfs`: a sibling branch is reached by
re-running the model from its initial state along the branch's prefix.

Each run is extended to its end by a default choice; then every new event ``e'``
of the run is checked for races: an earlier event ``e`` of another thread,
dependent with ``e'``, with no third event happening after ``e`` and before
``e'`` (happens-before is tracked with vector clocks, in
:class:`~zmodel.explore.races.HappensBefore`).  For a race, ``v`` is the part of
the run after ``e`` that does not happen after ``e``, followed by ``e'``: running
``v`` from the state before ``e`` reverses the race.  Unless one of ``v``'s
initials (threads that can start ``v``) is already in that node's backtrack set
or sleep set, one enabled initial is added to the backtrack set.  The sleep set
of a node holds the threads already explored from it (or from an ancestor) whose
next step is independent of everything done since: running them again could only
reach traces already explored, so they are not scheduled until a dependent step
wakes them; a run where every enabled thread sleeps ends early (counted in
``stats.pruned``).

Choices and setup.  A thread whose next step is a :class:`~zmodel.runtime.Choose`
is explored with every outcome at every node where the thread is explored, so
all outcomes of all choice points are covered; a choice reads and writes nothing,
so it commutes with every step of other threads.  Thread 0, the setup, runs alone
before the others, so its events are in every execution's prefix and never race.

The dependency relation (:func:`~zmodel.explore.races.dependent`)
----------------------------------------------------------------
* Two steps of different threads are dependent if one writes a location the
  other reads or writes.  A location ``(oid, None)`` (allocation and free) is the
  whole object and overlaps every field of it.  Steps of one thread are ordered.
* Acquire, release and a successful trylock write the lock field; a failed
  trylock reads it.  So all operations on one lock conflict.  One refinement
  for race *detection* (not for happens-before): a blocking acquire that
  follows the release of its lock cannot run before that release (the lock was
  held), so instead of that irreversible race it races with the acquire or
  trylock that took the lock the release gives back; reversing that one
  schedules the second critical section first.  Without it, each hand-over of a
  lock costs a wasted run that ends with every enabled thread asleep.
* Enabling and disabling.  A blocked thread (an acquire of a held lock, an await
  whose predicate is false) is treated as repeatedly attempting its step: each
  failed attempt reads the thread's *guard*
  (:meth:`~zmodel.runtime.Executor.guard`: the lock field, or what the predicate
  reads) and changes nothing.  At every state of a run where a thread is blocked,
  such a virtual attempt is checked for races like a real event.  The step that
  last wrote the guard (the one that disabled the thread) races with it, and the
  reversal schedules the blocked thread before that step.  This is the enabling
  and disabling dependency of design.md rule 2.  In other words the engine runs
  source-DPOR on the model where a blocked thread may spin (take a step that
  changes nothing); leaving the spins out of the runs themselves loses nothing,
  because deleting them maps that model's traces onto this one's.  A race whose
  reversal no thread can start (the racing thread is blocked there and nothing
  else precedes it) is not reversible and is skipped: the blocked thread's own
  virtual attempts carry it.
* Violations.  A step that raises a violation ends the run, which disables every
  other thread, so it is dependent with every step (``Footprint.halts``), and
  at the end of such a run every unfinished thread makes a virtual attempt.
  Plain DFS likewise ends a run at its first violation; with this rule the
  reduced search covers every trace of that halting semantics, so it reports the
  same set of violations.

Footprints that depend on the values read
------------------------------------------
A step's footprint may depend on what it reads (a failed CAS only reads).  How
the reversals and sleep sets stay sound then is the essay of
:mod:`zmodel.explore.value_dependence`.

Why properties stay sound (design.md rule 2)
--------------------------------------------
A step's behaviour depends only on the values it reads, and an equivalent
schedule gives every step the same values; so every step of one trace does the
same thing in every schedule of the trace.  The properties are of two kinds, and
both are preserved: those checked *inside a step* (lifetime faults, BUG_ON,
stale data at a load) fire at the same step in every schedule of the trace; those
checked at *quiescence* (leaks, end-state data, deadlock) see the final state,
which is the same for the whole trace.  No property is checked on an
intermediate state between steps, which a reordering could change; such a check
would have to make its reads visible as a footprint first.

Bounds
------
``max_steps`` cuts runs like DFS does (reported in ``result.bounds``, the result
is then not exhaustive).  ``max_preemptions`` bounds the preemptions of a run;
how that changes the backtrack points (Coons et al.) is in
:mod:`zmodel.explore.dpor_bounds`.

State cache
-----------
Unbounded, the search stops a run at a state it has explored completely before,
after reversing the races the run may have with what happened below that state:
:mod:`zmodel.explore.dpor_cache` explains why that is sound.

Evidence
--------
tests/explore/test_dpor.py runs this engine against plain enumeration on
thousands of generated programs (locks, trylocks, awaits, allocation, frees,
choices; unbounded, and within k preemptions), and breaks one rule of the
relation at a time (write-write, whole objects, halting, enabling, conservative
points) to check that the comparison then fails.  tests/benchmarks checks that
every Mazurkiewicz trace of the classic benchmarks is covered.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from zmodel.explore.donate import Handoff
from zmodel.explore.dpor_bounds import reverse_bounded
from zmodel.explore.dpor_cache import Event, StateCache, Summary, reverse_below
from zmodel.explore.drive import DEFAULT_MAX_STEPS, AfterRun, EndHook, StatelessSearch, drive
from zmodel.explore.program import Program
from zmodel.explore.races import Footprint, LockOp, Race
from zmodel.explore.result import Choice, Result
from zmodel.explore.subtree import WHOLE, Subtree, shared_cache
from zmodel.explore.value_dependence import (
    backtrack_ghost_races,
    backtrack_ghosts_below,
    starts_reversal,
)
from zmodel.runtime import Executor


class _Node:
    """A scheduling point of the current run: the state before event ``depth``."""

    __slots__ = (
        "backtrack",
        "done",
        "enabled",
        "fp",
        "key",
        "last",
        "n_out",
        "outcome",
        "preemptions",
        "sleep",
        "sleep0",
        "summary",
        "tid",
    )

    def __init__(
        self,
        enabled: list[int],
        sleep: dict[int, Footprint],
        last: int | None,
        preemptions: int,
        tid: int,
        n_out: int,
    ) -> None:
        self.enabled = enabled
        self.sleep = sleep  # sleeping threads and the footprint of their next step
        self.last = last  # the thread that ran the previous step
        self.preemptions = preemptions  # preemptions before this point
        self.tid = tid  # the thread the current run takes here
        self.outcome = 0
        self.n_out = n_out  # outcomes of tid's step here; 0 until first run
        self.backtrack = {tid}
        self.done: set[int] = set()
        self.fp: Footprint | None = None  # footprint of the step taken here
        # With the state cache: this state's key and the threads asleep when it
        # was reached (None where it is not cached), and what every run from here
        # has done so far.
        self.key: object = None
        self.sleep0: frozenset[int] = frozenset()
        self.summary: Summary | None = None

    def cost(self, tid: int) -> int:
        """Preemptions it costs to run ``tid`` here."""
        last = self.last
        return int(last is not None and last != 0 and tid != last and last in self.enabled)


class _Search(StatelessSearch[_Node]):
    def __init__(
        self,
        program: Program,
        max_steps: int,
        max_preemptions: int | None,
        on_end: EndHook | None,
        cache: bool,
        cache_mb: int | None,
        subtree: Subtree = WHOLE,
    ) -> None:
        # The cache needs sleep sets and prefix-independent backtrack points:
        # unbounded search only (see dpor_cache).
        cached = cache and max_preemptions is None
        engine = "dpor-cached" if cached else "dpor"
        super().__init__(program, engine, max_steps, max_preemptions, on_end, subtree)
        max_bytes = None if cache_mb is None else cache_mb << 20
        self.cache = shared_cache("dpor", lambda: StateCache(max_bytes)) if cached else None
        # What arrive found for the state new_node makes a node of.
        self._sleep: dict[int, Footprint] = {}
        self._key: object = None
        self._asleep: frozenset[int] = frozenset()

    # -- hooks of the run ----------------------------------------------------------
    def resume(self, ex: Executor, node: _Node) -> bool:
        if not node.n_out:
            node.n_out = ex.outcomes(node.tid)
        return False

    def arrive(self, ex: Executor, enabled: list[int], depth: int) -> bool:
        """Stop at a state explored before, after reversing what happened below it."""
        self._sleep = sleep = self.child_sleep()
        self._key = None
        # Only where threads may interleave: a state with one thread to run leads
        # straight to the next one, which is looked up.
        if self.cache is None or len(enabled) <= 1:
            return False
        self._key, self._asleep = ex.fingerprint(), frozenset(sleep)
        hit = self.cache.lookup(self._key, self._asleep, self.max_steps - depth)
        if hit is None:
            return False
        assert self.hb is not None
        reverse_below(self.hb, self.stack, hit)
        if self.ghosts:
            backtrack_ghosts_below(self.stack, self.ghosts, hit)
        return True

    def child_sleep(self) -> dict[int, Footprint]:
        """The sleep set of the state after the last step of the run."""
        if not self.stack or self.bound is not None:
            return {}
        parent = self.stack[-1]
        fp = parent.fp
        assert fp is not None
        return self.ghosts.sleep_after(parent.sleep, fp, len(self.stack) - 1)

    def new_node(self, ex: Executor, enabled: list[int]) -> _Node | None:
        stack, sleep = self.stack, self._sleep
        if stack:
            parent = stack[-1]
            last: int | None = parent.tid
            preemptions = parent.preemptions + parent.cost(parent.tid)
        else:
            last, preemptions = None, 0
        if len(stack) < self.base:
            # A prefix point: its choice is fixed, never a cache entry (other
            # subtrees explore its other branches).
            choice = self.forced(enabled, sleep)
            if choice is None:
                return None
            node = _Node(enabled, sleep, last, preemptions, choice[0], ex.outcomes(choice[0]))
            node.outcome = choice[1]
            if self.cache is not None:
                node.summary = Summary()
            return node
        awake = [t for t in enabled if t not in sleep]
        if not awake:
            return None
        # Keep running the same thread when it can: it is free under a bound.
        tid = last if last in awake else awake[0]
        assert tid is not None
        node = _Node(enabled, sleep, last, preemptions, tid, ex.outcomes(tid))
        if self.cache is not None:
            node.key, node.sleep0, node.summary = self._key, self._asleep, Summary()
        return node

    def record(self, node: _Node, fp: Footprint, lock: LockOp, fresh: bool) -> None:
        node.fp = fp
        if node.summary is not None:
            node.summary.add(node.tid, fp, lock)
        assert self.hb is not None
        for race in self.hb.push(node.tid, fp, lock):
            self.reverse(race)
        if self.ghosts:
            backtrack_ghost_races(self.hb, self.stack, self.ghosts, node.tid, fp, len(self.hb) - 1)

    def attempt(self, tid: int, fp: Footprint) -> None:
        if self.stack and (summary := self.stack[-1].summary) is not None:
            summary.add(tid, fp)
        assert self.hb is not None
        for race in self.hb.probe(tid, fp):
            self.reverse(race)

    def reverse(self, race: Race) -> None:
        """Add backtrack points that reverse ``race``."""
        node = self.stack[race.index]
        tid, initials = race.tid, race.initials
        if self.bound is None:
            assert self.hb is not None
            if race.open and starts_reversal(self.hb, node.sleep, race):
                initials = [*initials, tid]
            if any(q in node.backtrack or q in node.sleep for q in initials):
                return
            for q in (tid, *initials):
                if q in initials and q in node.enabled:
                    node.backtrack.add(q)
                    return
            return  # no initial can run there: the race is not reversible
        reverse_bounded(self.stack, race)

    # -- progress ----------------------------------------------------------------
    def levels(self) -> Iterator[tuple[float, int]]:
        for node in self.stack:
            within = node.outcome / node.n_out if node.n_out > 1 else 0.0
            yield len(node.done) + within, len(node.backtrack | node.done)

    def cache_size(self) -> int | None:
        return None if self.cache is None else len(self.cache)

    def explored(self, point: _Node) -> set[Choice]:
        # A thread done here had every outcome run (and sleeps: no bound here).
        mine = {(t, 0) for t in point.done}
        return mine | {(point.tid, o) for o in range(point.outcome + 1)}

    def fix(self, point: _Node) -> None:
        point.key = None  # explored in part here: never a cache entry

    # -- backtracking ------------------------------------------------------------
    def backtrack(self) -> int | None:
        """Move to the next branch; return the depth where the next run diverges."""
        stack = self.stack
        while len(stack) > self.base:
            node = stack[-1]
            if node.outcome + 1 < node.n_out:
                node.outcome += 1
                return len(stack) - 1
            node.done.add(node.tid)
            if self.bound is None:
                assert node.fp is not None
                node.sleep[node.tid] = node.fp
            for tid in sorted(node.backtrack - node.done):
                if tid in node.sleep:
                    continue
                node.done.add(tid)
                if self.bound is not None and node.preemptions + node.cost(tid) > self.bound:
                    self.preemption_cuts += 1
                    continue
                node.tid, node.outcome, node.n_out, node.fp = tid, 0, 0, None
                return len(stack) - 1
            stack.pop()
            if self.cache is not None and node.summary is not None:
                below: Iterable[Event] = node.summary.events.values()
                if node.key is not None:
                    below = self.cache.freeze(node.summary)
                    self.cache.store(node.key, node.sleep0, self.max_steps - len(stack), below)
                if stack:
                    parent = stack[-1].summary
                    assert parent is not None
                    parent.merge(below)
        return None


def explore_dpor(
    program: Program,
    *,
    max_steps: int = DEFAULT_MAX_STEPS,
    max_preemptions: int | None = None,
    stop_on_first: bool = True,
    time_limit: float | None = None,
    on_end: EndHook | None = None,
    cache: bool = True,
    cache_mb: int | None = None,
    after_run: AfterRun | None = None,
    subtree: Subtree = WHOLE,
    handoff: Handoff | None = None,
) -> Result:
    """Explore at least one schedule of every trace of ``program`` (below ``subtree``'s
    prefix only, :mod:`zmodel.explore.subtree`).

    ``on_end`` is called with the executor at every quiescent state reached (all
    threads finished, or none can move), before the end-state checks.  ``cache``
    prunes at states already explored (unbounded search only; see
    :mod:`zmodel.explore.dpor_cache`), keeping about ``cache_mb`` MiB of them
    (None: no limit).
    """
    search = _Search(program, max_steps, max_preemptions, on_end, cache, cache_mb, subtree)
    result = drive(
        search,
        stop_on_first=stop_on_first,
        time_limit=time_limit,
        after_run=after_run,
        handoff=handoff,
    )
    result.options = {"cache": search.cache is not None, **result.options}
    if search.cache is not None and cache_mb is not None:
        result.options["cache_mb"] = cache_mb
        result.options["evicted"] = search.cache.evicted
    return result
