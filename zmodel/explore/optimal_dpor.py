"""Optimal DPOR with wakeup trees (unbounded).

Abdulla, Aronis, Jonsson, Sagonas, "Optimal dynamic partial order reduction",
POPL 2014 / JACM 2017, Algorithm 2.  It shares everything with
:mod:`zmodel.explore.dpor` (source-DPOR, whose docstring is the design essay):
the dependency relation, happens-before and races of
:mod:`zmodel.explore.races`, blocked threads racing through their guard,
violations halting the run, the lock hand-over refinement, and the treatment of
choices.  What changes is what a race adds at the node before its first event.

Source-DPOR adds one initial of the reversal ``v = notdep(e).e'`` to the node's
backtrack set, and the run from there continues by an arbitrary choice, which
may lead to a trace already explored (a run then ends with every enabled thread
asleep).  Optimal DPOR inserts the whole sequence ``v`` into the node's *wakeup
tree*, an ordered tree of sequences still to run from that node, unless a thread
of the node's sleep set is a weak initial of ``v`` (then some explored or
scheduled run already covers it).  Inserting walks down the tree: at each level
the first child that is a weak initial of the rest of ``v`` (its first event in
it has no dependent predecessor there, or it does not occur there and its step
is independent of all of it) is followed, with that thread's event removed; a
leaf reached this way already covers ``v``; otherwise the rest of ``v`` is added
as a new last branch.  A run then follows the wakeup tree below the branch it
takes, and a node with an empty subtree continues by an arbitrary choice.

Choices.  Events are named by thread and outcome.  When a thread at a choice
point is explored at a node, its other outcomes are added to the node's wakeup
tree, just before the remaining branches, so every outcome of every choice point
is explored where the thread is; the thread joins the sleep set only when all
of them are done.

Footprints that depend on values (issue 9; the essay is in
:mod:`zmodel.explore.dpor`).  A wakeup sequence must hold the events as they
happen in its order, or the weak-initial tests compare the wrong footprints and
a branch is dropped as covered (casrot lost 1 of its 14 traces at N=4).  Four
rules make it so.

* When the race's last event read what the racing event wrote, its step in the
  reversed order is found by running it there (one replay of the prefix and
  ``notdep(e)``), so every wakeup sequence holds real events.
* Such a race is reversed once the run is complete: an event after ``e'`` that
  does not happen after ``e`` commuted with ``e'`` but may not commute with the
  step that replaces it, and then both of their orders are traces that no
  explored run shows; a second sequence puts the events up to the last such one
  before that step (``AFTER_THE_REVERSED_STEP`` in
  tests/explore/test_optimal_dpor.py).
* A sleeping step that its waker changed is a ghost, as in source-DPOR, whose
  races insert their reversal at the waker's node.
* A step outside a sequence that commutes with all of it (a sleeping thread, a
  wakeup-tree leaf) covers the sequence only if it cannot change the racing
  event: the runs from that step must meet the race again to reverse it, and
  they do not when the step writes what the racing event reads.

The result is one execution per trace on GenMC's CAS families (casrot: 2, 5,
14, 43, 144, 523, 2048, 8597 for N = 2..9; cas, casw, wcas) and on the classic
benchmarks.

Deviations from the paper, each kept sound by the fall-backs.  A virtual event
of a blocked thread ends its reversal; if the thread is still blocked (or
asleep) when the run reaches that branch, the branch is dropped and the run
continues by an arbitrary choice, so such a branch (an ``Attempt`` footprint)
never covers another sequence by commuting with it.  A race whose reversal no
thread can start at its node is skipped, as in source-DPOR.  Runs that end with
every enabled thread asleep are counted in ``stats.pruned`` (zero when the
reduction is optimal; with locks and awaits a few remain on the zswap suites,
``python benchmarks/dpor.py --zswap``).  After a violation, the threads it cut
off make attempts like blocked threads, and the reversal runs their real step
where it puts it.  Runs that halt at one violating step with one causal past
are one trace (tests/explore/test_trace_coverage.py).

A search that goes on after a violation starts again at the first run that
halts, *halting-safe* (:mod:`zmodel.explore.halting_safe` says why).
tests/explore/ checks the engine against plain enumeration on thousands of
generated programs, and one execution per trace on the classic benchmarks.
"""

from __future__ import annotations

from collections.abc import Iterator

from zmodel.explore import races as _races
from zmodel.explore.donate import Handoff
from zmodel.explore.drive import DEFAULT_MAX_STEPS, EndHook, StatelessSearch
from zmodel.explore.halting_safe import Halted, drive_halting_safe
from zmodel.explore.program import Program
from zmodel.explore.races import Footprint, LockOp, Race
from zmodel.explore.result import Choice, Result
from zmodel.explore.reversed_steps import ReversedSteps
from zmodel.explore.subtree import WHOLE, Subtree
from zmodel.explore.wakeup_tree import Branch, Event, Point, insert, starts
from zmodel.runtime import Executor


class _Search(StatelessSearch[Point]):
    def __init__(
        self,
        program: Program,
        max_steps: int,
        on_end: EndHook | None,
        subtree: Subtree = WHOLE,
        restart: bool = False,
        safe: bool = False,
    ) -> None:
        super().__init__(program, "odpor", max_steps, None, on_end, subtree)
        #: Stop after the first run that halts, to start again halting-safe ...
        self.restart = restart
        #: ... and whether this is that search: every insertion strict.
        self.safe = safe
        #: Races whose last step is not known, reversed once the run is complete.
        self.deferred: list[tuple[Race, Event, int]] = []
        self.steps = ReversedSteps(program, self.result.stats)
        #: The run's reversals, inserted once it is over (a halted run's are not).
        self.reversals: list[tuple[Point, list[Event], Footprint]] = []
        self.halted = False

    # -- hooks of the run ----------------------------------------------------------
    def resume(self, ex: Executor, node: Point) -> bool:
        fresh = not node.n_out
        if fresh:
            node.n_out = ex.outcomes(node.tid)
            if node.outcome >= node.n_out:
                node.outcome = 0
        return fresh

    def after_run(self) -> None:
        if self.halted and self.restart:
            return  # backtrack raises Halted: this search is over
        deferred, self.deferred = self.deferred, []
        for race, event, end in deferred:
            self.reverse_unknown(race, event, end)
        reversals, self.reversals = self.reversals, []
        self.halted = False
        for node, seq, racing in reversals:
            self.insert_now(node, seq, racing, self.safe)

    def new_node(self, ex: Executor, enabled: list[int]) -> Point | None:
        stack = self.stack
        if stack:
            parent = stack[-1]
            fp = parent.fp
            assert fp is not None
            sleep = self.ghosts.sleep_after(parent.sleep, fp, len(stack) - 1)
            wut = parent.sub
            last: int | None = parent.tid
        else:
            sleep, wut, last = {}, [], None
        foreign = stack[-1].foreign.intersection(sleep) if stack else frozenset()
        if len(stack) < self.base:
            # A prefix point of the subtree: its choice is fixed (see dpor.py).
            siblings = frozenset(self.subtree.asleep(len(stack)))
            choice = self.forced(enabled, sleep)
            if choice is None:
                return None
            node = Point(enabled, sleep, choice[0], choice[1], [], [], ex.outcomes(choice[0]))
            node.foreign, node.fixed = foreign | siblings, True
            return node
        grown = self.grow(ex, enabled, sleep, wut, last)
        if grown is not None:
            grown.foreign = foreign
        return grown

    def grow(
        self,
        ex: Executor,
        enabled: list[int],
        sleep: dict[int, Footprint],
        wut: list[Branch],
        last: int | None,
    ) -> Point | None:
        """A new point below the prefix: the first branch of the wakeup subtree that
        can run, else the last thread (or the lowest awake one)."""
        wut = list(wut)
        while wut:
            branch = wut.pop(0)
            if branch.tid in enabled and branch.tid not in sleep:
                node = Point(enabled, sleep, branch.tid, branch.outcome, branch.children, wut, 0)
                break
        else:
            awake = [t for t in enabled if t not in sleep]
            if not awake:
                return None
            tid = last if last in awake else awake[0]
            assert tid is not None
            node = Point(enabled, sleep, tid, 0, [], [], 0)
        node.n_out = ex.outcomes(node.tid)
        if node.outcome >= node.n_out:
            node.outcome = 0
        return node

    def record(self, node: Point, fp: Footprint, lock: LockOp, fresh: bool) -> None:
        node.fp = fp
        if fp.halts:
            self.halted = True
        if fresh and node.n_out > 1 and not node.fixed:
            # Every outcome of a choice is explored where the thread is.
            have = {b.outcome for b in node.wut if b.tid == node.tid}
            others = [
                Branch(node.tid, o, fp, [])
                for o in range(node.n_out)
                if o not in have and (node.tid, o) not in node.done
            ]
            node.wut[:0] = others
        assert self.hb is not None
        hb = self.hb
        for race in hb.push(node.tid, fp, lock):
            self.reverse(race, (node.tid, node.outcome, fp), len(hb) - 1)
        if self.ghosts:
            self.ghost_races(node.tid, fp, len(hb) - 1)

    def attempt(self, tid: int, fp: Footprint) -> None:
        # A probe's races never know the step the thread takes once it can run
        # (races.Race.known), so reverse_unknown runs that step where the reversal
        # puts it; a thread that a violation cut off gets its real step there too.
        assert self.hb is not None
        for race in self.hb.probe(tid, fp):
            self.reverse(race, (tid, 0, fp), len(self.hb))

    def explored(self, point: Point) -> set[Choice]:
        return point.done

    def fix(self, point: Point) -> None:
        point.fixed = True

    # -- progress ----------------------------------------------------------------
    def levels(self) -> Iterator[tuple[float, int]]:
        for node in self.stack:
            yield len(node.done) - 1, len(node.done) + len(node.wut)

    def reverse(self, race: Race, last: Event, end: int) -> None:
        """Insert the reversal of ``race`` into the wakeup tree before its first event."""
        node = self.stack[race.index]
        initials = [*race.initials, race.tid] if race.open else race.initials
        if not any(q in node.enabled for q in initials):
            return  # no initial can run there: the race is not reversible
        if not race.known:
            self.deferred.append((race, last, end))
            return
        assert self.hb is not None
        events = self.hb.events
        e = events[race.index]
        t, li = e.tid, e.li
        seq: list[Event] = [
            (events[k].tid, self.stack[k].outcome, events[k].fp)
            for k in range(race.index + 1, end)
            if events[k].vc[t] < li
        ]
        seq.append(last)
        self.insert(node, seq, e.fp)

    def reverse_unknown(self, race: Race, last: Event, end: int) -> None:
        """Insert the reversal of a race whose last step is not known, at the end of the run.

        ``v`` is ``notdep(e)`` up to ``e'`` followed by the step ``e'``'s thread
        really takes there (found by running it).  An event *after* ``e'`` that
        does not happen after ``e`` commuted with ``e'``, but it may not commute
        with that step; then both of their orders are traces that no explored run
        shows (there the two commute), and a second sequence puts those events
        before the step.  Only the events up to the last such one go into it:
        fixing the order of the others in a wakeup sequence would leave their
        other orders to be found below a node where a sleeping thread may cover
        them wrongly.
        """
        assert self.hb is not None
        events = self.hb.events
        e = events[race.index]
        t, li, q = e.tid, e.li, race.tid
        notdep = [
            k
            for k in range(race.index + 1, len(events))
            if events[k].vc[t] < li and not (events[k].tid == q and k >= end)
        ]
        before = [(events[k].tid, self.stack[k].outcome, events[k].fp) for k in notdep if k < end]
        after = [(events[k].tid, self.stack[k].outcome, events[k].fp) for k in notdep if k >= end]
        node = self.stack[race.index]
        step = self.reversed_step(race.index, before, last)
        self.insert(node, [*before, (q, last[1], step)], e.fp)
        clash = [i for i, (_, _, fp) in enumerate(after) if _races.dependent(step, fp)]
        if clash:
            prefix = before + after[: clash[-1] + 1]
            step = self.reversed_step(race.index, prefix, last)
            self.insert(node, [*prefix, (q, last[1], step)], e.fp)

    def ghost_races(self, tid: int, fp: Footprint, pos: int) -> None:
        """Reverse the races of event ``pos`` with sleeping steps a waker may have
        changed (see :mod:`zmodel.explore.value_dependence`)."""
        assert self.hb is not None
        events = self.hb.events
        for (_, f, index), kept in self.ghosts.reversals(self.hb, tid, fp, pos):
            seq = [(events[k].tid, self.stack[k].outcome, events[k].fp) for k in kept]
            self.insert(self.stack[index], seq, f)

    def insert(self, node: Point, seq: list[Event], racing: Footprint) -> None:
        """Add ``seq``, the reversal of a race of ``racing``, to ``node``'s wakeup tree
        once the run is over, unless what is there or asleep covers it."""
        self.reversals.append((node, seq, racing))

    def insert_now(self, node: Point, seq: list[Event], racing: Footprint, strict: bool) -> None:
        """``insert``, strictly (covered only by what starts ``seq``) if ``strict``."""
        if node.fixed:
            return  # every branch of a prefix point is some subtree's
        sleep = node.sleep
        if node.foreign:
            # Another subtree's thread covers only the sequences it starts (it runs
            # every trace from its branch); weak initials need its wakeup insertions.
            if any(starts(q, seq) for q in node.foreign):
                return
            sleep = {t: f for t, f in sleep.items() if t not in node.foreign}
        insert(node.wut, sleep, seq, racing, strict)

    def reversed_step(self, index: int, before: list[Event], last: Event) -> Footprint:
        """The footprint of ``last``'s thread's step when it runs after ``before``
        from the state before event ``index``, found by running it there.

        The race's own event read what event ``index`` wrote, so in the reversed
        order it may read another value and do something else (races.Race).
        """
        schedule = [(node.tid, node.outcome) for node in self.stack[:index]]
        schedule += [(tid, outcome) for tid, outcome, _ in before]
        return self.steps.footprint(schedule, last[0], last[1])

    # -- backtracking ------------------------------------------------------------
    def backtrack(self) -> int | None:
        """Move to the next branch; return the depth where the next run diverges."""
        if self.halted and self.restart:
            raise Halted
        stack = self.stack
        while len(stack) > self.base:
            node = stack[-1]
            if not any(b.tid == node.tid for b in node.wut):
                assert node.fp is not None
                node.sleep[node.tid] = node.fp
            while node.wut:
                branch = node.wut.pop(0)
                if branch.tid in node.sleep or branch.tid not in node.enabled:
                    continue
                if (branch.tid, branch.outcome) in node.done:
                    continue
                if any(t == branch.tid for t, _ in node.done):
                    # Another outcome of a choice: see ``_other_outcome``.
                    node.foreign = node.foreign | _other_outcome(node)
                node.done.add((branch.tid, branch.outcome))
                node.tid, node.outcome, node.sub = branch.tid, branch.outcome, branch.children
                node.n_out, node.fp = 0, None
                return len(stack) - 1
            stack.pop()
        return None


def explore_optimal_dpor(
    program: Program,
    *,
    max_steps: int = DEFAULT_MAX_STEPS,
    stop_on_first: bool = True,
    time_limit: float | None = None,
    on_end: EndHook | None = None,
    subtree: Subtree = WHOLE,
    handoff: Handoff | None = None,
) -> Result:
    """One schedule of every trace of ``program`` (below ``subtree``'s prefix only;
    ``handoff``: give work when asked, :mod:`zmodel.explore.donate`); ``on_end`` sees
    every quiescent state reached, before the end-state checks."""
    return drive_halting_safe(
        lambda restart, safe: _Search(program, max_steps, on_end, subtree, restart, safe),
        stop_on_first=stop_on_first,
        time_limit=time_limit,
        handoff=handoff,
    )


def _other_outcome(node: Point) -> frozenset[int]:
    """The sleepers that cover only what they start below another outcome of a choice.

    A thread asleep on arrival had its branch explored above, and the reversals
    its runs delegated here went into the first outcome's wakeup subtree; another
    outcome starts with an empty one, so below it such a sleeper is treated as a
    split's foreign one (:meth:`_Search.insert`).  Without this a sleeper that was
    a weak initial of a reversal dropped it (NEEDS["other outcome"], test_dpor.py).
    """
    return node.inherited.intersection(node.sleep)
