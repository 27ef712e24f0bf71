"""One replay with the values each step changed, for reports (never on an engine's path).

:func:`observe` runs a schedule like :func:`zmodel.explore.replay.replay` and also
records, per step, the heap writes with their before/after values (a
:class:`~zmodel.runtime.value_log.ValueLog` on this run's heap only) and what the
step did to a lock, so a report can say ``refcount 1→0`` or ``tree.lock: T2 takes``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from zmodel.explore.drive import found
from zmodel.explore.program import Program
from zmodel.explore.races import LockOp, lock_op
from zmodel.explore.result import Choice, Found, ModelFailure
from zmodel.runtime import Await, ModelError, Step, Violation
from zmodel.runtime.value_log import Change, ValueLog


@dataclass(frozen=True)
class Observed:
    """A step, the writes it made (with values) and its lock operation."""

    step: Step
    changes: tuple[Change, ...]
    lock: LockOp = None
    waits: bool = False  # an Await: the step ran once its condition held


@dataclass
class Observation:
    steps: list[Observed] = field(default_factory=list)
    violation: Found | None = None
    diverged: str | None = None
    finished: bool = False
    end_changes: tuple[Change, ...] = ()  # writes of the end-state check (none, normally)


def observe(program: Program, schedule: list[Choice]) -> Observation:
    """Replay ``schedule`` and record each step's changes; stops at a violation."""
    ex = program()
    log = ValueLog(ex.heap)
    obs = Observation()
    done: list[Choice] = []
    at_end = False
    try:
        for i, (tid, outcome) in enumerate(schedule):
            if not 0 <= tid < ex.thread_count or not ex.is_enabled(tid):
                obs.diverged = f"step {i}: thread {tid} is not enabled"
                return obs
            if not 0 <= outcome < ex.outcomes(tid):
                obs.diverged = f"step {i}: outcome {outcome} does not exist"
                return obs
            request = ex.pending(tid)
            done.append((tid, outcome))
            try:
                step = ex.step(tid, outcome)
            except Violation:
                step = ex.trace[-1]
                obs.steps.append(Observed(step, tuple(log.take()), lock_op(request, step)))
                raise
            waits = isinstance(request, Await)
            obs.steps.append(Observed(step, tuple(log.take()), lock_op(request, step), waits))
        if ex.finished():
            at_end = True
            ex.check_end()
        elif not ex.enabled():
            at_end = True
            ex.check_deadlock()
    except Violation as v:
        obs.violation = found(v, done, ex, at_end)
    except ModelError as err:
        raise ModelFailure(str(err), done, ex.trace) from err
    obs.finished = ex.finished()
    obs.end_changes = tuple(log.take())
    return obs
