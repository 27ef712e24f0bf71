"""What ``zmodel verify NEW --against BASE`` does, without the presentation.

Both designs run on the same scenarios with the same engine and options, through
zmodel.check (so each side saves its counterexamples as ``zmodel check`` does),
and the results are compared property by property: for every scenario, each
property either side violated is one row with each side's status and what
changed.  The report is rendered by zmodel.report.verify.

Both sides are explored for *every* violated property (``check --all``): with
stop-at-first, a design that violates Q first would say nothing about P, and "P
fixed" could not be told from "P not looked at".

Scenarios: by default the union of the two designs' suites (NEW's first, then
BASE's that NEW's does not have, compared by canonical text).  A ``--scenario``
is a suite name of either design (NEW's wins a tie) or a scenario text.  Each
side sees a scenario under its own suite name only, so the expected verdict a
design declares is never applied to another design's scenario.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

from zmodel.check import (
    EXIT_INTERRUPTED,
    VERDICT_EXIT,
    CheckReport,
    Job,
    Progress,
    SavedViolation,
    ScenarioCheck,
    ScenarioSpec,
    run_check,
    run_jobs,
)
from zmodel.explore import EngineOptions
from zmodel.explore.backends import Backend
from zmodel.properties.lock_order import LOCK_ORDER
from zmodel.zswap.designs import Design
from zmodel.zswap.scenario import Scenario, ScenarioError, parse_scenario

# A side's status for one property in one scenario.
VIOLATED = "violated"
HOLDS = "holds"  # not violated, and the search was exhaustive
NOT_FOUND = "not found"  # not violated within the bounds the search ran under

# What changed from BASE to NEW.
FIXED = "fixed"
FIXED_WITHIN_BOUNDS = "fixed within bounds"
REGRESSED = "regressed"
SAME = "same"
CHANGES = (FIXED, FIXED_WITHIN_BOUNDS, REGRESSED, SAME)

#: The row that stands for every property neither side violated.
OTHER_PROPERTIES = "(every other property)"
ALL_PROPERTIES = "(every property)"


@dataclass(frozen=True)
class VerifyScenario:
    """A scenario both sides run, with its suite name in each design (if any)."""

    scenario: Scenario
    new_name: str | None = None
    base_name: str | None = None

    @property
    def name(self) -> str | None:
        return self.new_name or self.base_name

    @property
    def title(self) -> str:
        return f"{self.name}: {self.scenario.text}" if self.name else self.scenario.text


@dataclass(frozen=True)
class Row:
    """One property of one scenario: each side's status and the change."""

    prop: str
    base: str
    new: str
    change: str
    base_saved: SavedViolation | None = None
    new_saved: SavedViolation | None = None


@dataclass
class Comparison:
    scenario: VerifyScenario
    new: ScenarioCheck
    base: ScenarioCheck
    rows: list[Row] = field(default_factory=list)
    new_source: str = ""  # the spec NEW was given as, to replay BASE's files against it


@dataclass
class VerifyReport:
    new: CheckReport
    base: CheckReport
    comparisons: list[Comparison] = field(default_factory=list)
    interrupted: bool = False  # Ctrl-C: the sides checked so far (exit 130)

    @property
    def verdict(self) -> str:
        """NEW's verdict: verify answers "is NEW clean here?"."""
        return self.new.verdict

    @property
    def exit_code(self) -> int:
        """NEW's verdict's code: 0 pass, 1 violation, 4 no violation within bounds."""
        return EXIT_INTERRUPTED if self.interrupted else VERDICT_EXIT[self.new.verdict]

    def changes(self) -> Counter[str]:
        """How many rows of each change (the catch-all rows count as same)."""
        return Counter(row.change for cmp in self.comparisons for row in cmp.rows)


def resolve_verify_scenarios(
    new_cls: type[Design], base_cls: type[Design], specs: Sequence[str]
) -> list[VerifyScenario]:
    """Scenario texts or suite names of either design; none means both suites."""
    new_suite = {name: parse_scenario(text) for name, text in new_cls.suite}
    base_suite = {name: parse_scenario(text) for name, text in base_cls.suite}
    new_by_text = {sc.text: name for name, sc in new_suite.items()}
    base_by_text = {sc.text: name for name, sc in base_suite.items()}

    def named(scenario: Scenario) -> VerifyScenario:
        text = scenario.text
        return VerifyScenario(scenario, new_by_text.get(text), base_by_text.get(text))

    if not specs:
        union = {sc.text: sc for sc in (*new_suite.values(), *base_suite.values())}
        return [named(sc) for sc in union.values()]
    resolved: list[VerifyScenario] = []
    for spec in specs:
        key = spec.strip()
        if key in new_suite or key in base_suite:
            resolved.append(named(new_suite.get(key) or base_suite[key]))
            continue
        try:
            resolved.append(named(parse_scenario(spec)))
        except ScenarioError as err:
            if key and not any(c in spec for c in " ;:|"):
                names = ", ".join(dict.fromkeys([*new_suite, *base_suite])) or "none"
                raise ScenarioError(
                    f"{spec!r} is neither a scenario of {new_cls.name}'s or {base_cls.name}'s"
                    f" suite ({names}) nor a scenario text: {err}"
                ) from None
            raise
    return resolved


def run_verify(
    new_cls: type[Design],
    new_source: str,
    base_cls: type[Design],
    base_source: str,
    scenarios: Sequence[VerifyScenario],
    *,
    engine: str,
    options: EngineOptions,
    out: Path,
    on_scenario: Callable[[Comparison], None] | None = None,
    on_progress: Callable[[Progress], None] | None = None,
    minimize: bool = True,
    backend: Backend | None = None,
) -> VerifyReport:
    """Check both designs on every scenario and compare.  Raises what run_check raises.

    Each side's counterexamples are saved minimised, as ``zmodel check`` saves them
    (``minimize=False``: as found).  The comparison is of the scenario explored; a
    minimised file may hold a smaller scenario (its ``minimised:`` line says so), and
    still replays against the other design.  On Ctrl-C the report ends with the sides
    checked so far and ``interrupted`` set."""
    # Every violated property, on both sides (see the module docstring).
    options = replace(options, all_violations=True)
    report = VerifyReport(
        new=CheckReport(new_cls, new_source, engine, options),
        base=CheckReport(base_cls, base_source, engine, options),
    )
    if backend is not None:
        _spread(report, scenarios, new_source, out, on_scenario, on_progress, minimize, backend)
        return report
    for vs in scenarios:
        sides = []
        for cls, source, name, side in (
            (base_cls, base_source, vs.base_name, report.base),
            (new_cls, new_source, vs.new_name, report.new),
        ):
            spec = ScenarioSpec(vs.scenario, name)
            done = run_check(
                cls, source, [spec], engine=engine, options=options, out=out,
                minimize=minimize, on_progress=on_progress, backend=backend,
            )  # fmt: skip
            side.scenarios += done.scenarios
            sides += done.scenarios
            if done.interrupted:
                report.interrupted = side.interrupted = True
                return report
        base_check, new_check = sides
        rows = compare(base_check, new_check)
        comparison = Comparison(vs, new_check, base_check, rows, new_source)
        report.comparisons.append(comparison)
        if on_scenario is not None:
            on_scenario(comparison)
    return report


def _spread(
    report: VerifyReport,
    scenarios: Sequence[VerifyScenario],
    new_source: str,
    out: Path,
    on_scenario: Callable[[Comparison], None] | None,
    on_progress: Callable[[Progress], None] | None,
    minimize: bool,
    backend: Backend,
) -> None:
    """Both sides of every scenario as one list of searches on the back-end (base,
    new, scenario by scenario), so the workers take either side's units; compared
    in order as each pair comes back."""
    jobs = [
        Job(side, ScenarioSpec(vs.scenario, name))
        for vs in scenarios
        for side, name in ((report.base, vs.base_name), (report.new, vs.new_name))
    ]
    checks: list[ScenarioCheck] = []
    for check in run_jobs(jobs, out=out, minimize=minimize, on_progress=on_progress,
                          backend=backend):  # fmt: skip
        jobs[len(checks)].side.scenarios.append(check)
        checks.append(check)
        report.interrupted = report.base.interrupted or report.new.interrupted
        if len(checks) % 2 or report.interrupted:
            continue  # a pair is compared once both sides are whole
        base_check, new_check = checks[-2:]
        vs = scenarios[len(checks) // 2 - 1]
        comparison = Comparison(vs, new_check, base_check, compare(base_check, new_check),
                                new_source)  # fmt: skip
        report.comparisons.append(comparison)
        if on_scenario is not None:
            on_scenario(comparison)


def compare(base: ScenarioCheck, new: ScenarioCheck) -> list[Row]:
    """One row per property either side violated (in the order found), then a row for
    every other property."""
    base_saved = {s.found.prop: s for s in base.saved}
    new_saved = {s.found.prop: s for s in new.saved}
    # lock-order has no file: a side violates it when its lock-order graph has a cycle.
    base_bad = {*base_saved, *([LOCK_ORDER] if base.lock_cycles else [])}
    new_bad = {*new_saved, *([LOCK_ORDER] if new.lock_cycles else [])}
    props = list(dict.fromkeys([*base_saved, *new_saved, *sorted(base_bad | new_bad)]))
    rows = []
    for prop in props:
        b = _status(base, prop in base_bad)
        n = _status(new, prop in new_bad)
        rows.append(Row(prop, b, n, _change(b, n), base_saved.get(prop), new_saved.get(prop)))
    other = OTHER_PROPERTIES if props else ALL_PROPERTIES
    b, n = _status(base, False), _status(new, False)
    rows.append(Row(other, b, n, SAME))
    return rows


def _status(check: ScenarioCheck, violated: bool) -> str:
    if violated:
        return VIOLATED
    return HOLDS if check.result.exhaustive else NOT_FOUND


def _change(base: str, new: str) -> str:
    if base == VIOLATED and new != VIOLATED:
        return FIXED if new == HOLDS else FIXED_WITHIN_BOUNDS
    if new == VIOLATED and base != VIOLATED:
        return REGRESSED
    return SAME
