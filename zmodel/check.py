"""What ``zmodel check`` does, without the presentation: resolve, explore, save.

For each scenario: run the engine, save one counterexample per violated property
(the shortest schedule found for it), and collect the results.  The CLI renders them
(zmodel.report); ``zmodel verify`` runs this once per design.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from zmodel import counterexample
from zmodel.analysis.lock_order import LockCycle, lock_cycles
from zmodel.analysis.minimize import Minimized
from zmodel.analysis.minimize import minimize as minimize_cx
from zmodel.explore import BOUNDED, PASS, VIOLATION, Found, ModelFailure, Result
from zmodel.explore.backends import Backend
from zmodel.explore.engines import EngineOptions
from zmodel.explore.parallel import explore_parallel
from zmodel.explore.progress import Monitor, Snapshot, watching
from zmodel.harness import Watcher, run_engine, unreached
from zmodel.properties.lock_order import LockOrder
from zmodel.runtime import ModelError
from zmodel.shipping import ScenarioSource
from zmodel.zswap.designs import Design
from zmodel.zswap.scenario import Scenario, ScenarioError, parse_scenario

#: design.md's exit codes: one per verdict, then input errors, model errors, Ctrl-C.
EXIT_OK, EXIT_VIOLATION, EXIT_INPUT, EXIT_MODEL, EXIT_BOUNDED = 0, 1, 2, 3, 4
EXIT_INTERRUPTED = 130
VERDICT_EXIT = {PASS: EXIT_OK, VIOLATION: EXIT_VIOLATION, BOUNDED: EXIT_BOUNDED}


@dataclass(frozen=True)
class ScenarioSpec:
    scenario: Scenario
    name: str | None = None  # the suite name, when the scenario is one of the design's


@dataclass(frozen=True)
class SavedViolation:
    found: Found
    path: Path
    reused: bool
    #: What minimising did, where it made the file smaller than the run found.
    minimized: Minimized | None = None


@dataclass
class ScenarioCheck:
    spec: ScenarioSpec
    result: Result
    saved: list[SavedViolation] = field(default_factory=list)
    expected: frozenset[str] | None = None  # what the design is known to violate here
    guard: tuple[str, ...] = ()  # the labels the reachability guard asks for
    unreached: list[str] = field(default_factory=list)  # the ones no run executed
    #: ``lock-order``: cycles of the lock-order graph of every run explored.  No
    #: file: the two chains may come from two runs, and a file replays one.
    lock_cycles: list[LockCycle] = field(default_factory=list)

    @property
    def verdict(self) -> str:
        return VIOLATION if self.lock_cycles else self.result.verdict


@dataclass
class CheckReport:
    design_cls: type[Design]
    design_source: str
    engine: str
    options: EngineOptions
    scenarios: list[ScenarioCheck] = field(default_factory=list)
    #: Ctrl-C stopped the check: the last scenario holds the figures so far (exit 130).
    interrupted: bool = False

    @property
    def verdict(self) -> str:
        verdicts = {s.verdict for s in self.scenarios}
        if VIOLATION in verdicts:
            return VIOLATION
        return BOUNDED if BOUNDED in verdicts else PASS

    @property
    def exit_code(self) -> int:
        return EXIT_INTERRUPTED if self.interrupted else VERDICT_EXIT[self.verdict]


@dataclass(frozen=True)
class Progress:
    """A search's figures, with where it is in the suite: what --progress shows."""

    index: int  # 0-based, of ``total`` scenarios
    total: int
    spec: ScenarioSpec
    snapshot: Snapshot
    suite_seconds: float
    status: str = "running"  # then "done" or "interrupted": the search's last figures

    @property
    def done(self) -> bool:
        return self.status != "running"


class ModelFailureReport(Exception):  # noqa: N818 - a report, carried to the CLI for exit 3
    """The model raised on some schedule; the schedule is saved (or inlined) for replay."""

    def __init__(
        self, failure: ModelFailure, spec: ScenarioSpec, path: Path | None, save_error: str | None
    ) -> None:
        super().__init__(failure.message)
        self.failure = failure
        self.spec = spec
        self.path = path
        self.save_error = save_error

    def one_line(self) -> str:
        where = f"scenario {self.spec.name or self.spec.scenario.text!r}"
        text = f"the model raised on {where}: {self.failure.message}"
        if self.path is not None:
            return f"{text}; schedule saved, run: zmodel replay {self.path}"
        schedule = json.dumps([list(c) for c in self.failure.schedule], separators=(",", ":"))
        return f"{text}; (not saved: {self.save_error}) schedule: {schedule}"


def resolve_scenarios(design_cls: type[Design], specs: Sequence[str]) -> list[ScenarioSpec]:
    """Each spec is a suite scenario's name or a scenario text; none means the whole suite.

    A text equal to a suite scenario (canonically) gets that scenario's name, so its
    expected verdict is shown.
    """
    suite = {name: parse_scenario(text) for name, text in design_cls.suite}
    by_text = {scenario.text: name for name, scenario in suite.items()}
    if not specs:
        return [ScenarioSpec(scenario, name) for name, scenario in suite.items()]
    resolved = []
    for spec in specs:
        if spec.strip() in suite:
            resolved.append(ScenarioSpec(suite[spec.strip()], spec.strip()))
            continue
        try:
            scenario = parse_scenario(spec)
        except ScenarioError as err:
            if spec.strip() and not any(c in spec for c in " ;:|"):
                names = ", ".join(suite) or "none"
                raise ScenarioError(
                    f"{spec!r} is neither a scenario of {design_cls.name}'s suite ({names})"
                    f" nor a scenario text: {err}"
                ) from None
            raise
        design_cls.check_scenario(scenario)
        resolved.append(ScenarioSpec(scenario, by_text.get(scenario.text)))
    return resolved


def run_check(
    design_cls: type[Design],
    design_source: str,
    specs: Sequence[ScenarioSpec],
    *,
    engine: str,
    options: EngineOptions,
    out: Path,
    on_scenario: Callable[[ScenarioCheck], None] | None = None,
    minimize: bool = True,
    on_progress: Callable[[Progress], None] | None = None,
    interval: float = 1.0,
    observe: Sequence[Watcher] = (),
    backend: Backend | None = None,
) -> CheckReport:
    """Check every scenario; ``design_source`` is the spec the user gave for the design
    (saved so that a replay resolves it again).  With ``minimize`` (the default) each
    counterexample is minimised before it is saved (``zmodel minimize``); a file as
    found needs ``minimize=False``.  Raises EngineError, OSError,
    CounterexampleError, or ModelFailureReport (exit 3).

    ``on_progress`` gets the figures of the search in progress every ``interval``
    seconds.  On Ctrl-C (KeyboardInterrupt) the scenario being searched ends with
    the figures so far, cut by "interrupted" (so NO VIOLATION WITHIN BOUNDS unless
    it had found one), its violations are saved, and the report comes back with
    ``interrupted`` set instead of the exception.  ``observe`` watches every run
    (``--state-graph``), besides the lock-order graph kept per scenario.  With
    ``backend`` (``--jobs``, ``--cluster``) each search is spread over its workers
    (:mod:`zmodel.explore.parallel`; ``observe`` is then not watched)."""
    report = CheckReport(design_cls, design_source, engine, options)
    suite_started = time.perf_counter()
    for index, spec in enumerate(specs):

        def tick(snapshot: Snapshot, index: int = index, spec: ScenarioSpec = spec) -> None:
            if on_progress is not None:
                elapsed = time.perf_counter() - suite_started
                on_progress(Progress(index, len(specs), spec, snapshot, elapsed))

        coverage: set[str] = set()
        order = LockOrder()
        monitor = Monitor(tick, interval)
        try:
            with watching(monitor):
                if backend is None:
                    result = run_engine(
                        design_cls, spec.scenario, engine, options, coverage, [order, *observe]
                    )
                else:
                    source = ScenarioSource.of(design_source, spec.scenario.text)
                    result = explore_parallel(
                        source, backend, engine, options, coverage=coverage, edges=order.edges
                    )
        except ModelFailure as failure:
            raise _failure_report(failure, report, spec, out) from None
        except ModelError as error:  # raised as the run was set up, before any choice
            at_start = ModelFailure(str(error), [], [])
            at_start.__cause__ = error
            raise _failure_report(at_start, report, spec, out) from None
        except KeyboardInterrupt:
            report.interrupted = True
            result = _interrupted(monitor, engine)
        if on_progress is not None:
            snapshot = monitor.snapshot()
            elapsed = time.perf_counter() - suite_started
            status = "interrupted" if report.interrupted else "done"
            on_progress(Progress(index, len(specs), spec, snapshot, elapsed, status))
        expected = design_cls.expected.get(spec.name, frozenset()) if spec.name else None
        check = ScenarioCheck(spec, result, expected=expected, lock_cycles=lock_cycles(order))
        if spec.name is not None:
            check.guard = design_cls.reach.get(spec.name, ())
        if not result.violations:
            check.unreached = unreached(design_cls, spec.name, coverage, spec.scenario)
        recorded = counterexample.engine_options(options, result.options)
        for found in representatives(result.violations):
            cx = counterexample.from_found(
                found,
                design_cls=design_cls,
                design_source=design_source,
                scenario=spec.scenario,
                engine=engine,
                options=recorded,
            )
            smaller = _minimised(cx, design_cls) if minimize else None
            if smaller is not None:
                cx = smaller.cx
            saved = counterexample.save(cx, out)
            check.saved.append(SavedViolation(found, saved.path, saved.reused, smaller))
        report.scenarios.append(check)
        if on_scenario is not None:
            on_scenario(check)
        if report.interrupted:
            break
    return report


def _minimised(cx: counterexample.Counterexample, design_cls: type[Design]) -> Minimized | None:
    """``cx`` minimised, or None where that found nothing smaller or cannot replay it."""
    try:
        smaller = minimize_cx(cx, design_cls)
    except (ValueError, ModelFailure):
        return None
    return smaller if smaller.smaller else None


def _interrupted(monitor: Monitor, engine: str) -> Result:
    """The result of a search Ctrl-C stopped: its figures so far, cut by the interrupt."""
    result = monitor.result if monitor.result is not None else Result(engine=engine)
    result.stats.seconds = monitor.elapsed()
    result.cut(f"interrupted after {result.stats.seconds:.1f} s")
    return result


def representatives(violations: Sequence[Found]) -> list[Found]:
    """One violation per property, the one with the shortest schedule (the easiest to
    read), in the order the properties were first found."""
    best: dict[str, Found] = {}
    for found in violations:
        kept = best.get(found.prop)
        if kept is None or len(found.schedule) < len(kept.schedule):
            best[found.prop] = found
    return list(best.values())


def _failure_report(
    failure: ModelFailure, report: CheckReport, spec: ScenarioSpec, out: Path
) -> ModelFailureReport:
    cx = counterexample.from_failure(
        failure,
        design_cls=report.design_cls,
        design_source=report.design_source,
        scenario=spec.scenario,
        engine=report.engine,
        options=counterexample.engine_options(report.options, {}),
    )
    try:
        saved = counterexample.save(cx, out)
    except (OSError, counterexample.CounterexampleError) as err:
        return ModelFailureReport(failure, spec, None, str(err))
    return ModelFailureReport(failure, spec, saved.path, None)
