"""Re-run one schedule exactly, and say whether it still fits the model."""

from __future__ import annotations

from dataclasses import dataclass

from zmodel.explore.drive import found
from zmodel.explore.program import Program
from zmodel.explore.result import Choice, Found, ModelFailure
from zmodel.runtime import Executor, ModelError, Step, Violation


@dataclass
class Replay:
    trace: list[Step]
    violation: Found | None
    diverged: str | None  # why the schedule no longer fits the model, if it does not
    finished: bool


def replay(program: Program, schedule: list[Choice], *, check_end: bool = True) -> Replay:
    """Run ``schedule`` from the initial state.

    The run stops at the first violation.  If the schedule names a thread that is
    not enabled, or an outcome the step does not have, the schedule has diverged
    from the model (a changed design, a stale counterexample).
    """
    ex = program()
    try:
        return _replay(ex, schedule, check_end)
    finally:
        ex.discard()  # nothing of the run escapes but its steps (collector.py)


def _replay(ex: Executor, schedule: list[Choice], check_end: bool) -> Replay:
    done: list[Choice] = []
    at_end = False
    try:
        for i, (tid, outcome) in enumerate(schedule):
            if not 0 <= tid < ex.thread_count or not ex.is_enabled(tid):
                return Replay(ex.trace, None, f"step {i}: thread {tid} is not enabled", False)
            if not 0 <= outcome < ex.outcomes(tid):
                return Replay(ex.trace, None, f"step {i}: outcome {outcome} does not exist", False)
            done.append((tid, outcome))
            ex.step(tid, outcome)
        if ex.finished() and check_end:
            at_end = True
            ex.check_end()
        elif not ex.finished() and not ex.enabled():
            at_end = True
            ex.check_deadlock()
    except Violation as v:
        return Replay(ex.trace, found(v, done, ex, at_end), None, ex.finished())
    except ModelError as err:
        raise ModelFailure(str(err), done, ex.trace) from err
    return Replay(ex.trace, None, None, ex.finished())
