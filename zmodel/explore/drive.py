"""The one run loop of every exhaustive engine: run, backtrack, stop at a violation
or the clock; and the run of one execution the DPOR engines share.

:func:`drive` runs any :class:`Search` (plain and cached DFS, source-DPOR, optimal
DPOR): a search object keeps its own stack and knows how to run one execution
from a divergence depth and where the next one diverges; the loop calls the two
in turn, shows progress, and turns what the search counted (runs cut by the step
bound, branches skipped by the preemption bound, states kept) into the result's
honest bounds and figures.  A fix to violation handling, bounds or the time limit
lands here once.

:class:`StatelessSearch` is the execution both DPOR engines run: replay the
prefix, then extend the run step by step, recording each step's footprint and the
failed attempts of blocked threads (their guard), and stop at the end, the step
bound, a run where every enabled thread sleeps, or a cache hit.  The engines fill
in the hooks: what a new state is (:meth:`~StatelessSearch.new_node`), what a
step and an attempt add (:meth:`~StatelessSearch.record`,
:meth:`~StatelessSearch.attempt`), and where the next run starts.

Counting: ``stats.executions`` counts the runs that reached an end (quiescence, a
violation, the step bound, or every enabled thread asleep, the last also in
``stats.pruned``); ``stats.cut`` the runs stopped at a state already explored.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from typing import Generic, Protocol, TypeVar

from zmodel.explore import donate, progress
from zmodel.explore.collector import run_ended
from zmodel.explore.donate import Handoff
from zmodel.explore.program import Program
from zmodel.explore.races import (
    EMPTY,
    STATIC_PRIMITIVES,
    Footprint,
    HappensBefore,
    LockOp,
    lock_op,
)
from zmodel.explore.result import Choice, Found, ModelFailure, Result
from zmodel.explore.subtree import WHOLE, Subtree
from zmodel.explore.value_dependence import Ghosts
from zmodel.runtime import Executor, ModelError, Violation

EndHook = Callable[[Executor], None]
DEFAULT_MAX_STEPS = 400


class Search:
    """What :func:`drive` runs; the engines subclass it."""

    def __init__(
        self,
        program: Program,
        engine: str,
        max_steps: int,
        max_preemptions: int | None,
        on_end: EndHook | None,
        subtree: Subtree = WHOLE,
    ) -> None:
        self.program = program
        #: The part of the tree to explore (a parallel search's unit): the search
        #: takes its prefix and never backtracks into it (:mod:`zmodel.explore.subtree`).
        self.subtree = subtree
        self.base = subtree.base
        self.max_steps = max_steps
        self.bound = max_preemptions
        self.on_end = on_end
        self.result = Result(engine=engine)
        self.step_cuts = 0  # runs the step bound cut
        self.preemption_cuts = 0  # branches the preemption bound skipped
        self.start()

    def start(self) -> None:
        """Set up the search's own state."""

    def run(self, div: int) -> None:
        """Run one execution that diverges from the last one at depth ``div``."""
        raise NotImplementedError

    def backtrack(self) -> int | None:
        """Move to the next branch: the depth where the next run diverges (None: done)."""
        raise NotImplementedError

    def depth(self) -> int:
        """Scheduling points on the backtrack stack."""
        raise NotImplementedError

    def levels(self) -> Iterable[tuple[float, int]]:
        """Per point of the stack: branches done before the current one, branches known."""
        raise NotImplementedError

    def cache_size(self) -> int | None:
        return None

    def give(self, div: int) -> list[Subtree]:
        """Branches for an idle worker, when the next run diverges at ``div``
        (:mod:`zmodel.explore.donate`); the search goes on without them."""
        return []

    def ended(self, ex: Executor, enabled: list[int], depth: int) -> bool:
        """Whether the run ends here: no thread can move (the end state is checked;
        a failed check raises) or the step bound is reached."""
        if not enabled:
            quiesce(ex, self.on_end)
            return True
        if depth >= self.max_steps:
            self.step_cuts += 1
            return True
        return False


#: Called after each run that did not stop the search; may raise to abandon it.
AfterRun = Callable[[Result], None]


def drive(
    search: Search,
    *,
    stop_on_first: bool,
    time_limit: float | None,
    after_run: AfterRun | None = None,
    handoff: Handoff | None = None,
) -> Result:
    """Run ``search`` to the end (or the first violation, or ``time_limit`` seconds,
    giving ``handoff`` work when it asks)."""
    result = search.result
    started = time.perf_counter()
    div: int | None = 0
    progress.started(result)
    while div is not None:
        search.run(div)
        run_ended()
        progress.executed(result, search.depth(), search.levels, search.cache_size())
        if result.violations and stop_on_first:
            break
        if time_limit is not None and time.perf_counter() - started > time_limit:
            result.cut(f"time limit {time_limit:g}s")
            break
        if after_run is not None:
            after_run(result)
        div = search.backtrack()
        if handoff is not None and div is not None:
            handoff.between()
            if handoff.asked():
                given = search.give(div)
                if given:
                    handoff.gifts.append(given)
                handoff.take(given)  # even nothing: the ask is answered
    result.stats.seconds = time.perf_counter() - started
    result.stats.distinct_states = search.cache_size()
    if search.step_cuts:
        result.cut(f"step bound {search.max_steps} cut {search.step_cuts} run(s)")
    if search.preemption_cuts:
        result.cut(f"max preemptions {search.bound} (skipped {search.preemption_cuts} branch(es))")
    result.options = {"max_steps": search.max_steps, "max_preemptions": search.bound}
    return result


def found(v: Violation, schedule: list[Choice], ex: Executor, at_end: bool) -> Found:
    """Package a violation; ``at_end`` marks an end-state or deadlock check."""
    trace = list(ex.trace)
    return Found(v.prop, v.message, list(schedule), trace, len(trace) if at_end else len(trace) - 1)


def quiesce(ex: Executor, on_end: EndHook | None) -> None:
    """A run's end, where no thread can move: report the state, then check it
    (the end-state properties if every thread finished, else a deadlock)."""
    if on_end is not None:
        on_end(ex)
    if ex.finished():
        ex.check_end()
    else:
        ex.check_deadlock()


class Node(Protocol):
    """What the run loop needs of a scheduling point: the event the run takes there,
    and (to hand the work back) the threads enabled and asleep there."""

    tid: int
    outcome: int
    enabled: list[int]
    sleep: dict[int, Footprint]


N = TypeVar("N", bound=Node)


class StatelessSearch(Search, Generic[N]):
    """One execution of a DPOR engine; subclasses fill in the hooks."""

    def start(self) -> None:
        self.stack: list[N] = []
        self.hb: HappensBefore | None = None
        self.ghosts = Ghosts()
        #: Per prefix point, the earlier siblings there (the subtree's, then a gift's).
        self.prefix_siblings = list(self.subtree.siblings or [()] * self.base)

    # -- hooks -------------------------------------------------------------------
    def resume(self, ex: Executor, node: N) -> bool:
        """The run reaches ``node`` again (a branch being replayed or just chosen);
        whether the event it takes runs here for the first time."""
        raise NotImplementedError

    def arrive(self, ex: Executor, enabled: list[int], depth: int) -> bool:
        """A state no earlier run of this prefix reached: True to stop the run here
        (a cache hit)."""
        return False

    def new_node(self, ex: Executor, enabled: list[int]) -> N | None:
        """The scheduling point of a new state; None if every enabled thread sleeps."""
        raise NotImplementedError

    def record(self, node: N, fp: Footprint, lock: LockOp, fresh: bool) -> None:
        """The step taken at ``node`` had footprint ``fp``."""
        raise NotImplementedError

    def attempt(self, tid: int, fp: Footprint) -> None:
        """Blocked thread ``tid``'s failed attempt, which reads its guard, here."""
        raise NotImplementedError

    def after_run(self) -> None:
        """The run is over (what must wait for its whole trace)."""

    def depth(self) -> int:
        return len(self.stack)

    def points(self) -> list[N]:
        return self.stack

    def explored(self, point: N) -> set[Choice]:
        """The branches run (or running) at ``point``, the current one included."""
        raise NotImplementedError

    def fix(self, point: N) -> None:
        """``point`` is a prefix point from now on (its other branches were given)."""
        raise NotImplementedError

    def give(self, div: int) -> list[Subtree]:
        return donate.give(self, div)

    def forced(self, enabled: list[int], sleep: dict[int, Footprint]) -> Choice | None:
        """At a prefix point of the subtree (the stack below ``base``): the prefix's
        choice there, with the earlier siblings put asleep in ``sleep``; None if it
        cannot run (asleep or not enabled: the subtree is empty)."""
        depth = len(self.stack)
        sleep.update(self.subtree.asleep(depth))
        tid, outcome = self.subtree.prefix[depth]
        if tid in sleep or tid not in enabled:
            return None
        return tid, outcome

    # -- the run -----------------------------------------------------------------
    def run(self, div: int) -> None:
        """Replay the first ``div`` choices, then extend the run to its end."""
        ex = self.program()
        if self.hb is None:
            self.hb = HappensBefore(ex.thread_count)
        self.hb.truncate(div)
        self.ghosts.truncate(div)
        stack, stats = self.stack, self.result.stats
        schedule: list[Choice] = []
        at_end = cut = False
        try:
            for node in stack[:div]:
                ex.step(node.tid, node.outcome)
                schedule.append((node.tid, node.outcome))
            stats.transitions += div
            depth = div
            while True:
                if depth < len(stack):
                    node = stack[depth]
                    fresh = self.resume(ex, node)
                else:
                    enabled = ex.enabled()
                    if self.arrive(ex, enabled, depth):
                        cut = True
                        break
                    self.probes(ex, enabled, None)
                    at_end = not enabled
                    if self.ended(ex, enabled, depth):
                        break
                    new = self.new_node(ex, enabled)
                    if new is None:
                        stats.pruned += 1  # every enabled thread sleeps
                        break
                    node, fresh = new, True
                    stack.append(node)
                schedule.append((node.tid, node.outcome))
                request = ex.pending(node.tid)
                try:
                    step = ex.step(node.tid, node.outcome)
                except Violation:
                    stats.transitions += 1
                    last = ex.trace[-1]
                    self.record(node, Footprint(last.reads, last.writes, True), None, fresh)
                    self.probes(ex, [], node.tid)
                    raise
                stats.transitions += 1
                fp = Footprint(step.reads, step.writes, False, type(request) in STATIC_PRIMITIVES)
                self.record(node, fp, lock_op(request, step), fresh)
                depth += 1
        except Violation as v:
            self.result.violations.append(found(v, schedule, ex, at_end))
        except ModelError as err:
            raise ModelFailure.of(err, schedule, ex.trace)  # noqa: B904 - .of sets the cause
        self.after_run()
        if self.on_end is None:  # else the hook may have kept the run
            ex.discard()
        if cut:
            stats.cut += 1
        else:
            stats.executions += 1

    def probes(self, ex: Executor, enabled: list[int], halted: int | None) -> None:
        """The failed attempts of the threads blocked in the current state.

        After a violation (``halted`` is the violating thread) every unfinished
        thread is blocked: the run is over.  The setup runs alone; the others are
        not blocked by anything while it runs.
        """
        if not ex.is_done(0):
            return
        for tid in range(1, ex.thread_count):
            if ex.is_done(tid) or tid == halted or tid in enabled:
                continue
            self.attempt(tid, Footprint(ex.guard(tid), EMPTY))
