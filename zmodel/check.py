"""What ``zmodel check`` does, without the presentation: resolve, explore, save.

For each scenario: run the engine, save one counterexample per violated property
(the shortest schedule found for it), and collect the results.  The CLI renders them
(zmodel.report); ``zmodel verify`` runs this once per design.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from zmodel import counterexample
from zmodel.analysis.lock_order import LockCycle, lock_cycles
from zmodel.analysis.minimize import Minimized
from zmodel.analysis.minimize import minimize as minimize_cx
from zmodel.explore import BOUNDED, PASS, VIOLATION, Found, ModelFailure, Result
from zmodel.explore.backends import Backend
from zmodel.explore.engines import EngineOptions
from zmodel.explore.many import Board, Search, explore_many
from zmodel.explore.progress import Monitor, Snapshot, figures, watching
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
    #: Spread over workers: every search on them (0-based, this one first).
    running: tuple[int, ...] = ()

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
    ``backend`` (``--jobs``, ``--cluster``) the scenarios' searches are spread over
    its workers, several at once (:func:`run_jobs`; ``observe`` is then not
    watched)."""
    report = CheckReport(design_cls, design_source, engine, options)
    jobs = [Job(report, spec) for spec in specs]
    for check in run_jobs(jobs, out=out, minimize=minimize, on_progress=on_progress,
                          interval=interval, observe=observe, backend=backend):  # fmt: skip
        report.scenarios.append(check)
        if on_scenario is not None:
            on_scenario(check)
    return report


@dataclass(frozen=True)
class Job:
    """One search of a check or a verify: the side (its design, engine and options,
    and the report its scenarios go to) and the scenario."""

    side: CheckReport
    spec: ScenarioSpec


def run_jobs(
    jobs: Sequence[Job],
    *,
    out: Path,
    minimize: bool = True,
    on_progress: Callable[[Progress], None] | None = None,
    interval: float = 1.0,
    observe: Sequence[Watcher] = (),
    backend: Backend | None = None,
) -> Iterator[ScenarioCheck]:
    """Each job searched, its counterexamples saved (minimised), in the jobs' order.

    Without ``backend`` one after another in this process; with it, on the
    back-end's workers, many at once (:mod:`zmodel.explore.many`), each still
    handed back, minimised and saved in order.  On Ctrl-C the jobs started come
    back (the ones not finished with the figures so far, cut by the interrupt),
    their sides' ``interrupted`` is set, and nothing more is searched."""
    if backend is None:
        yield from _serial(jobs, out, minimize, on_progress, interval, observe)
        return
    suite_started = time.perf_counter()
    searches = [
        Search(ScenarioSource.of(job.side.design_source, job.spec.scenario.text),
               job.side.engine, job.side.options)
        for job in jobs
    ]  # fmt: skip

    def board(flights: Board) -> None:
        if on_progress is not None and flights:
            first = flights[0]
            snapshot = figures(first.partial, 1, first.partial.stats.seconds,
                               first.units_done / first.units_known)  # fmt: skip
            elapsed = time.perf_counter() - suite_started
            running = tuple(f.index for f in flights if not f.finished)
            job = jobs[first.index]
            on_progress(Progress(first.index, len(jobs), job.spec, snapshot, elapsed,
                                 running=running))  # fmt: skip

    many = explore_many(searches, backend, on_progress=board, interval=interval)
    try:
        for index, job in enumerate(jobs):
            try:
                searched = next(many)
            except ModelFailure as failure:
                raise _failure_report(failure, job.side, job.spec, out) from None
            except KeyboardInterrupt:
                job.side.interrupted = True
                break
            yield _concluded(job, searched.result, searched.coverage, searched.edges, out,
                             minimize, on_progress, index, len(jobs), suite_started)  # fmt: skip
        else:
            return
    finally:
        many.close()
    for searched in many.interrupt():
        job = jobs[searched.index]
        job.side.interrupted = job.side.interrupted or searched.interrupted
        yield _concluded(job, searched.result, searched.coverage, searched.edges, out, minimize,
                         on_progress, searched.index, len(jobs), suite_started,
                         "interrupted" if searched.interrupted else "done")  # fmt: skip


def _serial(
    jobs: Sequence[Job],
    out: Path,
    minimize: bool,
    on_progress: Callable[[Progress], None] | None,
    interval: float,
    observe: Sequence[Watcher],
) -> Iterator[ScenarioCheck]:
    suite_started = time.perf_counter()
    for index, job in enumerate(jobs):
        side, spec = job.side, job.spec

        def tick(snapshot: Snapshot, index: int = index, spec: ScenarioSpec = spec) -> None:
            if on_progress is not None:
                elapsed = time.perf_counter() - suite_started
                on_progress(Progress(index, len(jobs), spec, snapshot, elapsed))

        coverage: set[str] = set()
        order = LockOrder()
        monitor = Monitor(tick, interval)
        interrupted = False
        try:
            with watching(monitor):
                result = run_engine(side.design_cls, spec.scenario, side.engine, side.options,
                                    coverage, [order, *observe])  # fmt: skip
        except ModelFailure as failure:
            raise _failure_report(failure, side, spec, out) from None
        except ModelError as error:  # raised as the run was set up, before any choice
            at_start = ModelFailure(str(error), [], [])
            at_start.__cause__ = error
            raise _failure_report(at_start, side, spec, out) from None
        except KeyboardInterrupt:
            side.interrupted = interrupted = True
            result = _interrupted(monitor, side.engine)
        if on_progress is not None:
            elapsed = time.perf_counter() - suite_started
            status = "interrupted" if interrupted else "done"
            on_progress(Progress(index, len(jobs), spec, monitor.snapshot(), elapsed, status))
        yield _concluded(job, result, coverage, order.edges, out, minimize)
        if interrupted:
            return


def _concluded(
    job: Job,
    result: Result,
    coverage: set[str],
    edges: dict[Any, Any],
    out: Path,
    minimize: bool,
    on_progress: Callable[[Progress], None] | None = None,
    index: int = 0,
    total: int = 1,
    suite_started: float = 0.0,
    status: str = "done",
) -> ScenarioCheck:
    """The scenario's check from its search: the lock-order cycles, the reachability
    guard, each violated property's counterexample saved (minimised).  With
    ``on_progress``, the search's last figures go to it first."""
    side, spec = job.side, job.spec
    design_cls = side.design_cls
    if on_progress is not None:
        snapshot = figures(result, 1, result.stats.seconds, None)
        elapsed = time.perf_counter() - suite_started
        on_progress(Progress(index, total, spec, snapshot, elapsed, status))
    expected = design_cls.expected.get(spec.name, frozenset()) if spec.name else None
    cycles = lock_cycles(LockOrder(edges=edges))
    check = ScenarioCheck(spec, result, expected=expected, lock_cycles=cycles)
    if spec.name is not None:
        check.guard = design_cls.reach.get(spec.name, ())
    if not result.violations:
        check.unreached = unreached(design_cls, spec.name, coverage, spec.scenario)
    recorded = counterexample.engine_options(side.options, result.options)
    for found in representatives(result.violations):
        cx = counterexample.from_found(
            found,
            design_cls=design_cls,
            design_source=side.design_source,
            scenario=spec.scenario,
            engine=side.engine,
            options=recorded,
        )
        smaller = _minimised(cx, design_cls) if minimize else None
        if smaller is not None:
            cx = smaller.cx
        saved = counterexample.save(cx, out)
        check.saved.append(SavedViolation(found, saved.path, saved.reused, smaller))
    return check


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
