"""What an engine reports: violations found, figures, and the honest verdict."""

from __future__ import annotations

from dataclasses import dataclass, field

from zmodel.runtime import Step

#: One choice of a schedule: the thread that steps, and the outcome of its step
#: (0 unless the step is a nondeterministic choice point).
Choice = tuple[int, int]

PASS = "pass"
BOUNDED = "bounded"
VIOLATION = "violation"

VERDICT_TEXT = {
    PASS: "PASS (exhaustive)",
    BOUNDED: "NO VIOLATION WITHIN BOUNDS",
    VIOLATION: "VIOLATION",
}


@dataclass
class Found:
    """A violation and the schedule that reaches it."""

    prop: str
    message: str
    schedule: list[Choice]
    trace: list[Step]
    step_index: int  # index into trace of the violating step; len(trace) for an end-state check


@dataclass
class Stats:
    #: Runs that reached an end: quiescence, a violation, the step bound, or
    #: every enabled thread asleep.
    executions: int = 0
    transitions: int = 0
    distinct_states: int | None = None
    seconds: float = 0.0
    #: Runs that ended with every enabled thread asleep (counted in executions too).
    pruned: int = 0
    #: Runs stopped at a state already explored (a cache hit): not executions.
    cut: int = 0
    #: A parallel search's: the workers' CPU seconds (None: the search ran here).
    worker_cpu: float | None = None
    #: Of those, the busiest worker's: the search's length in CPU seconds on idle cores.
    busiest_cpu: float | None = None
    #: A parallel search's: the subtrees its units gave idle workers (work stealing).
    gifts: int = 0

    @property
    def transitions_per_second(self) -> float:
        return self.transitions / self.seconds if self.seconds > 0 else 0.0


@dataclass
class Result:
    engine: str
    violations: list[Found] = field(default_factory=list)
    stats: Stats = field(default_factory=Stats)
    exhaustive: bool = True  # False once any bound cut the search short
    bounds: list[str] = field(default_factory=list)  # the bounds that were hit, in words
    options: dict[str, object] = field(default_factory=dict)
    #: What the reader should know that is no bound (a parallel search's dead worker).
    notes: list[str] = field(default_factory=list)

    def cut(self, bound: str) -> None:
        """Record that ``bound`` (in words) cut the search short: the verdict is bounded
        (a bound already recorded is not listed again)."""
        self.exhaustive = False
        if bound not in self.bounds:
            self.bounds.append(bound)

    @property
    def verdict(self) -> str:
        if self.violations:
            return VIOLATION
        return PASS if self.exhaustive else BOUNDED


class ModelFailure(Exception):  # noqa: N818 - carries a schedule, like Found
    """The model raised an unexpected exception on some schedule (CLI exit 3)."""

    def __init__(self, message: str, schedule: list[Choice], trace: list[Step]) -> None:
        super().__init__(message)
        self.message = message
        self.schedule = schedule
        self.trace = trace

    @classmethod
    def of(cls, error: Exception, schedule: list[Choice], trace: list[Step]) -> ModelFailure:
        """The failure of a run the model raised ``error`` in, ``error`` as its cause
        (set here: the compiled engines' ``raise ... from`` drops it, and the CLI
        finds the model's traceback through it)."""
        failure = cls(str(error), schedule, trace)
        failure.__cause__ = error
        return failure
