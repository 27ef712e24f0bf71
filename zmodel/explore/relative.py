"""The relative schedule encoding: how schedules are drawn, and why they shrink well.

Hypothesis finds a failing input by generating random ones, then *shrinks* it:
it edits the underlying sequence of choices (deleting choices, lowering
integers towards zero) and keeps every edit that still fails, preferring a
shorter sequence to a longer one and, at equal length, smaller values.  That
works when "fewer, smaller choices" means "simpler input".  For a schedule,
simple means short and with few context switches: that is what a person can
follow in a swimlane diagram, and what a kernel developer will believe.

An absolute schedule, ``[(tid, outcome), ...]``, shrinks badly.  Lowering a
thread id from 2 to 1 usually *adds* context switches (and often names a
thread that is not enabled), and deleting an element shifts every later choice
onto a different thread, so almost no edit keeps the failure.

So a schedule is written *relative* to what is running, one ``(switch,
outcome)`` pair per step:

* ``switch`` is a position in :func:`candidates`: when the thread that ran the
  previous step can still run, it comes first, so ``switch = 0`` means *keep
  running the current thread* and ``k > 0`` means *switch to the k-th other
  enabled thread*, counting cyclically from the current one.  When the current
  thread cannot run (it finished or blocked), every candidate is a free switch
  and 0 picks the next thread cyclically.
* ``outcome`` is the outcome of a nondeterministic step (an allocation that
  may fail); 0 is the first option, the common case in every design.

The all-zeros schedule runs each thread as long as it can, in thread order: no
preemption at all.  Every nonzero ``switch`` where the current thread could
have gone on is exactly one preemption, the definition the DFS and DPOR
preemption bounds use.  :func:`to_absolute` and :func:`to_relative` convert
between the forms; counterexample files hold the absolute form.

How it is drawn: run-length encoded
-----------------------------------
Drawing one ``switch`` per step still leaves the shrinker a trap.  Most steps
take 0, and since shorter choice sequences win, Hypothesis prefers a schedule
in which more steps have no choice at all, for instance because a thread
blocks on a lock another holds after an extra switch.  Measured on the 2013
leak, one draw per decision point shrank to 3 preemptions in one of eleven
seeded runs, where one suffices.  So :class:`RelativeDriver` draws a schedule as
segments: "another switch?" (0 = no, every thread runs on as long as it can),
then the gap (decision points to keep going), then, if there are more than
two candidates, which one to switch to.  A schedule with ``p`` switches is
``3p + 1`` choices at most (plus one per outcome of a choice point drawn on the
way), so the shortest failing sequence is the one with
the fewest switches; within that, lowering a gap moves a switch earlier, and
the stop marker 0 is the simplest value of all.  Only real decision points
(two or more candidates) count or consume data; a step where one thread can
run draws nothing.  On the 2013 leak, every one of 30 seeds shrank to a single
preemption (benchmarks/randomised.py measures it).

For the random search before shrinking, the gap is drawn up to half the
decision points of the all-zeros run (:func:`decision_points`), so a random
schedule switches about twice (the "another switch?" answer is yes two times
in three), at places spread over the run.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from zmodel.explore.program import Program
from zmodel.explore.randomwalk import count_preemptions, run_once
from zmodel.explore.result import Choice
from zmodel.runtime import Executor, Violation

#: One step of a relative schedule: (switch, outcome).
RelChoice = tuple[int, int]


def candidates(last: int | None, enabled: Sequence[int]) -> list[int]:
    """The enabled threads in relative order after ``last`` ran the previous step.

    ``last`` first if it can continue, then the others cyclically after it.
    """
    if last is None:
        return sorted(enabled)
    order = sorted(enabled, key=lambda t: (t <= last, t))
    if last in enabled:
        order.remove(last)
        order.insert(0, last)
    return order


def _last(ex: Executor) -> int | None:
    return ex.trace[-1].tid if ex.trace else None


class RelativeDriver:
    """Draws a relative schedule run-length encoded, so that shrinking removes switches.

    A segment is drawn at a decision point (more than one candidate): first
    whether there is another switch at all (0 = no: every thread runs as long
    as it can from here on), then the gap (decision points to keep running the
    current thread, ``switch = 0``), then, where there is a choice, which other
    candidate to switch to (``switch >= 1``).  The gap is drawn from
    ``0 .. span``; ``span`` should be about the number of decision points of a
    run.  "Another switch?" is 1 or 2 out of 0..2, so a random run switches
    twice on average.
    """

    def __init__(self, draw: Callable[[int], int], span: int) -> None:
        self.draw = draw  # draw(n) returns an int in [0, n)
        self.span = max(span, 1)
        self.gap: int | None = None  # None: draw a segment at the next decision point
        self.stopped = False

    def pick(self, ex: Executor, enabled: list[int], done: int) -> int:
        order = candidates(_last(ex), enabled)
        if self.stopped:
            return order[0]
        if self.gap is None:
            if self.draw(3) == 0:
                self.stopped = True
                return order[0]
            self.gap = self.draw(self.span + 1)
        if self.gap > 0:
            self.gap -= 1
            return order[0]
        self.gap = None
        # With two candidates the switch is forced: no draw, no data to shrink.
        return order[1 + self.draw(len(order) - 1)] if len(order) > 2 else order[1]

    def outcome(self, tid: int, n_out: int) -> int:
        return self.draw(n_out)


def decision_points(program: Program, max_steps: int = 400) -> int:
    """Steps of the all-zeros run (every thread runs as long as it can) with a choice."""
    counter = _Counter()
    run_once(program, counter.pick, lambda tid, n: 0, max_steps)
    return counter.count


class _Counter:
    def __init__(self) -> None:
        self.count = 0

    def pick(self, ex: Executor, enabled: list[int], done: int) -> int:
        self.count += 1
        return candidates(_last(ex), enabled)[0]


def to_absolute(
    program: Program, relative: Sequence[RelChoice], *, max_steps: int = 400
) -> list[Choice]:
    """Run a relative schedule (one pair per step; missing pairs are ``(0, 0)``).

    Returns the absolute schedule of the run, which ends at quiescence, at the
    first violation, or after ``max_steps`` steps.  A pair out of range for its
    step raises ValueError.
    """
    ex = program()
    schedule: list[Choice] = []
    last: int | None = None
    for i in range(max_steps):
        enabled = ex.enabled()
        if not enabled:
            break  # finished, or deadlocked
        switch, outcome = relative[i] if i < len(relative) else (0, 0)
        order = candidates(last, enabled)
        if not 0 <= switch < len(order):
            raise ValueError(f"step {i}: switch {switch}, but {len(order)} candidate(s)")
        tid = order[switch]
        if not 0 <= outcome < ex.outcomes(tid):
            raise ValueError(f"step {i}: outcome {outcome}, but {ex.outcomes(tid)} outcome(s)")
        schedule.append((tid, outcome))
        try:
            ex.step(tid, outcome)
        except Violation:
            break
        last = tid
    return schedule


def to_relative(program: Program, schedule: Sequence[Choice]) -> list[RelChoice]:
    """The relative form of an absolute schedule (one pair per step)."""
    ex = program()
    relative: list[RelChoice] = []
    last: int | None = None
    for i, (tid, outcome) in enumerate(schedule):
        order = candidates(last, ex.enabled())
        if tid not in order:
            raise ValueError(f"step {i}: thread {tid} is not enabled")
        relative.append((order.index(tid), outcome))
        try:
            ex.step(tid, outcome)
        except Violation:
            break
        last = tid
    return relative


def preemptions_of(relative: Sequence[RelChoice], program: Program) -> int:
    """Preemptions of a relative schedule's run (nonzero switches while the thread could go on)."""
    return count_preemptions(program, to_absolute(program, relative))


__all__ = [
    "RelChoice",
    "RelativeDriver",
    "candidates",
    "decision_points",
    "preemptions_of",
    "to_absolute",
    "to_relative",
]
