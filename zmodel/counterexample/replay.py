"""Replaying a counterexample file: against its own design, or against another one.

Against its own design the replay is strict: every choice must fit, and every step's
thread and label must match the saved trace, or the file is stale (the design changed
under it) and the answer would mean nothing.

Against another design (``--design``: has the change fixed it?) the steps are
expected to differ, so the saved schedule is read as "the k-th choice of thread t runs
thread t's next step" and adapted where a different step count makes it not fit:

- a choice of a thread that has already finished is skipped (the other design's path
  is shorter);
- a choice of a thread while the setup is still running first runs the setup to its
  end (the setup always completes before the threads start);
- once the schedule runs out, the run is completed deterministically, lowest enabled
  thread first, so the end-state properties (leaks) are checked at quiescence.

A choice of a thread that is blocked, or an outcome the step does not have, is a real
divergence: the file cannot say anything about that design.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from zmodel.counterexample.format import Choice, Counterexample, CounterexampleError
from zmodel.counterexample.store import load
from zmodel.explore import ModelFailure, Program, Replay, replay
from zmodel.harness import build_program
from zmodel.runtime import ModelError, Violation
from zmodel.zswap.designs import REGISTRY, Design, DesignError, design_fingerprint, resolve_design
from zmodel.zswap.scenario import Scenario, ScenarioError, parse_scenario

RECURS = "recurs"  # the saved property fails again
DIFFERENT = "different"  # another property fails instead
FIXED = "fixed"  # no violation, and the run reached quiescence
NOT_REACHED = "not-reached"  # no violation, but the run did not finish within the step limit

EXIT_CODES = {RECURS: 1, DIFFERENT: 1, FIXED: 0, NOT_REACHED: 0}


class StaleCounterexampleError(CounterexampleError):
    """The schedule no longer fits the design, or the saved trace no longer matches."""


@dataclass
class ReplayReport:
    path: Path
    cx: Counterexample
    design_cls: type[Design]
    scenario: Scenario
    same_design: bool
    fingerprint_changed: bool
    schedule: list[Choice]  # the schedule that ran (adapted against another design)
    run: Replay
    skipped: int = 0  # saved choices of threads that had already finished
    inserted: int = 0  # setup steps run ahead of a thread's choice
    completed: int = 0  # steps run after the saved schedule ran out
    #: The model raised on the schedule (exit 3); ``run`` holds the trace up to it.
    failure: ModelFailure | None = None

    @property
    def status(self) -> str:
        found = self.run.violation
        if found is not None:
            return RECURS if found.prop == self.cx.prop else DIFFERENT
        return FIXED if self.run.finished else NOT_REACHED

    @property
    def exit_code(self) -> int:
        return 3 if self.failure is not None else EXIT_CODES[self.status]


def resolve_saved_design(cx: Counterexample, where: str) -> type[Design]:
    """The design a file was saved against: its source spec, else its registered name."""
    try:
        resolved = resolve_design(cx.design_source)
    except DesignError as err:
        if cx.design_name in REGISTRY:
            return REGISTRY[cx.design_name]
        raise CounterexampleError(f"{where}: {err}") from None
    if resolved.name != cx.design_name:
        raise CounterexampleError(
            f"{where}: design.source {cx.design_source!r} is design {resolved.name}, but the"
            f" file was saved against {cx.design_name} (fingerprint {cx.design_fingerprint});"
            " the file was edited or its source now names another design"
        )
    return resolved


def replay_file(path: Path | str, design: str | None = None) -> ReplayReport:
    """Load ``path`` and replay it; ``design`` overrides the saved design.

    Raises CounterexampleError (malformed file, unknown saved design, bad scenario),
    StaleCounterexampleError (divergence) and DesignError (a bad override).  If
    the model raises on the schedule, the report holds the failure and the trace
    up to it (exit 3).
    """
    where = str(path)
    cx = load(path)
    design_cls = resolve_saved_design(cx, where) if design is None else resolve_design(design)
    try:
        scenario = parse_scenario(cx.scenario)
    except ScenarioError as err:
        raise CounterexampleError(f"{where}: scenario: {err}") from None
    program = build_program(design_cls, scenario)
    same = design_cls.name == cx.design_name
    report = ReplayReport(
        path=Path(path),
        cx=cx,
        design_cls=design_cls,
        scenario=scenario,
        same_design=same,
        fingerprint_changed=design_fingerprint(design_cls) != cx.design_fingerprint,
        schedule=list(cx.schedule),
        run=Replay([], None, None, False),
    )
    try:
        if same:
            report.run = replay(program, report.schedule)
            _check_fits(report, where)
        else:
            _replay_adapted(report, program, where)
    except ModelFailure as failure:
        report.failure = failure
        report.run = Replay(failure.trace, None, None, False)
    return report


def _check_fits(report: ReplayReport, where: str) -> None:
    cx, run = report.cx, report.run
    if run.diverged is not None:
        raise StaleCounterexampleError(
            f"{where}: stale counterexample: the schedule no longer fits {cx.design_name}"
            f" ({run.diverged})"
        )
    for i, (saved, step) in enumerate(zip(cx.trace, run.trace, strict=False)):
        if (saved.thread, saved.label) != (step.tid, step.label):
            raise StaleCounterexampleError(
                f"{where}: stale counterexample: step {i} of {saved.name} was"
                f" {saved.label!r} when saved, now {step.label!r}; re-run zmodel check"
            )
    found = run.violation
    if found is None and not run.finished:
        raise StaleCounterexampleError(
            f"{where}: the schedule diverges from the scenario: after its {len(cx.schedule)}"
            " choices the threads have not finished (was the scenario edited?)"
        )
    if found is not None and found.prop != cx.prop:
        raise StaleCounterexampleError(
            f"{where}: violation.property is {cx.prop!r} but the schedule gives {found.prop!r}"
            " on the saved design (was the file edited?)"
        )


def _step_limit(cx: Counterexample) -> int:
    budget = cx.engine_options.get("max_steps")
    extra = budget if isinstance(budget, int) and not isinstance(budget, bool) else 400
    return len(cx.schedule) + extra


def _replay_adapted(report: ReplayReport, program: Program, where: str) -> None:
    ex = program()
    ran: list[Choice] = []
    limit = _step_limit(report.cx)

    def run(tid: int, outcome: int) -> None:
        ran.append((tid, outcome))
        ex.step(tid, outcome)

    try:
        for i, (tid, outcome) in enumerate(report.cx.schedule):
            if 0 <= tid < ex.thread_count and ex.is_done(tid):
                report.skipped += 1
                continue
            while tid > 0 and not ex.is_done(0) and ex.is_enabled(0):
                run(0, 0)
                report.inserted += 1
            if not 0 <= tid < ex.thread_count or not ex.is_enabled(tid):
                raise StaleCounterexampleError(
                    f"{where}: the schedule does not fit {report.design_cls.name}: choice {i}"
                    f" names thread {tid}, which is not enabled there"
                )
            if not 0 <= outcome < ex.outcomes(tid):
                raise StaleCounterexampleError(
                    f"{where}: the schedule does not fit {report.design_cls.name}: choice {i}"
                    f" takes outcome {outcome} of a step with {ex.outcomes(tid)}"
                )
            run(tid, outcome)
        while not ex.finished() and len(ran) < limit:
            enabled = ex.enabled()
            if not enabled:
                break  # a deadlock: the replay below reports it
            run(enabled[0], 0)
            report.completed += 1
    except (Violation, ModelError):
        pass  # the replay of ``ran`` below reproduces it and reports it properly
    report.schedule = ran
    report.run = replay(program, ran)
    if report.run.diverged is not None:  # cannot happen for a deterministic model
        raise StaleCounterexampleError(f"{where}: adapted schedule diverged: {report.run.diverged}")
