"""Plain-text reports of ``zmodel check`` and ``zmodel replay``."""

from __future__ import annotations

import shlex
from collections.abc import Callable

from zmodel.analysis.causality import observe_replay
from zmodel.analysis.minimize import Minimized
from zmodel.check import CheckReport, ScenarioCheck
from zmodel.counterexample import DIFFERENT, FIXED, RECURS, ReplayReport, thread_names
from zmodel.explore import BOUNDED, VERDICT_TEXT, VIOLATION, Result
from zmodel.properties.lock_order import LOCK_ORDER
from zmodel.report import state
from zmodel.report.swimlanes import (
    Lanes,
    Style,
    Violation,
    lane_headers,
    plain,
    render_swimlanes,
)
from zmodel.zswap.designs import Design


def replay_command(path: object) -> str:
    return f"zmodel replay {shlex.quote(str(path))}"


def render_header_for(design_cls: type[Design], engine: str) -> str:
    kernel = f" (Linux {design_cls.kernel})" if design_cls.kernel else ""
    return f"design {design_cls.name}{kernel}, engine {engine}\n"


def render_scenario(check: ScenarioCheck, style: Style = plain) -> str:
    spec, result = check.spec, check.result
    title = f"{spec.name}: {spec.scenario.text}" if spec.name else spec.scenario.text
    verdict = VERDICT_TEXT[check.verdict]
    if any(bound.startswith("interrupted") for bound in result.bounds):
        verdict += " (interrupted)"
    lines = [
        f"scenario {title}",
        "  verdict: "
        + style("violation" if check.verdict == VIOLATION else "pass", verdict)
        + _expected(check),
    ]
    if len(result.violations) > len(check.saved):
        lines.append(
            f"  {len(result.violations)} violating runs; one counterexample per property"
            " (the shortest)"
        )
    for saved in check.saved:
        found = saved.found
        lines.append(f"  {style('violation', found.prop)}: {found.message}")
        where = " (already saved)" if saved.reused else ""
        lines.append(f"    counterexample: {saved.path}{where}")
        if saved.minimized is not None:
            lines.append("    " + render_minimized(saved.minimized, spec.scenario.text))
        lines.append(f"    replay: {replay_command(saved.path)}")
    for cycle in check.lock_cycles:
        lines.append(f"  {style('violation', LOCK_ORDER)}: {cycle.message()}")
        lines.append("    (no counterexample file: the chains are from the runs explored)")
    if check.unreached:
        missed = "; ".join(check.unreached)
        lines.append(
            "  "
            + style("violation", "guard: racy window NOT reached")
            + f" (no run executed: {missed}): this pass is vacuous"
        )
    elif check.guard and not result.violations:
        lines.append(
            f"  guard: racy window reached ({len(check.guard)} step(s) of {check.spec.name})"
        )
    lines.append("  stats: " + render_stats(result))
    lines.append("  bounds: " + render_bounds(result))
    lines += [f"  note: {note}" for note in result.notes]  # a parallel search's dead workers
    return "\n".join(lines) + "\n"


def render_minimized(done: Minimized, checked: str) -> str:
    """One line: what minimising the saved file changed (check saves it minimised)."""
    b, a = done.before, done.after
    line = (
        f"minimised: {b.steps} -> {a.steps} steps, {b.preemptions} -> {a.preemptions}"
        f" preemptions, {b.ops} -> {a.ops} operations"
    )
    if done.cx.scenario != checked:
        line += f"; scenario {done.cx.scenario}"
    return line


def _expected(check: ScenarioCheck) -> str:
    if check.expected is None:
        return ""
    found = {s.found.prop for s in check.saved} | ({LOCK_ORDER} if check.lock_cycles else set())
    wanted = ", ".join(sorted(check.expected)) or "no violation"
    # With stop-at-first, one expected property found is as expected.
    if (check.expected and found and found <= check.expected) or (not check.expected and not found):
        return f" (as expected: {wanted})"
    return f" (UNEXPECTED: this design is expected to give {wanted})"


def render_stats(result: Result) -> str:
    s = result.stats
    states = f", {s.distinct_states} distinct states" if s.distinct_states is not None else ""
    # Runs stopped at an explored state are not executions (they ran no trace to its end).
    cut = f" (+{s.cut} cut at explored states)" if s.cut else ""
    return (
        f"{s.executions} executions{cut}, {s.transitions} transitions{states},"
        f" {s.seconds:.2f} s, {s.transitions_per_second:,.0f} transitions/s"
    )


def render_bounds(result: Result) -> str:
    limits = [
        f"{key.replace('_', ' ')} {value}"
        for key, value in result.options.items()
        if key.startswith("max_") and value is not None
    ]
    under = f" (ran under {', '.join(limits)})" if limits else ""
    if result.bounds:
        return "hit: " + "; ".join(result.bounds) + under
    return "none hit" + under


def render_summary(report: CheckReport) -> str:
    verdicts = [s.verdict for s in report.scenarios]
    total = len(verdicts)
    counts = ", ".join(
        f"{verdicts.count(v)} {VERDICT_TEXT[v]}" for v in VERDICT_TEXT if verdicts.count(v)
    )
    plural = "s" if total != 1 else ""
    verdict = VERDICT_TEXT[report.verdict] + (" (interrupted)" if report.interrupted else "")
    line = f"{report.design_cls.name}: {verdict} ({total} scenario{plural}: {counts})"
    if report.interrupted:
        line += "\nexit 130: interrupted; the figures above are the search's so far" + (
            ", its violations are saved" if report.verdict == VIOLATION else ""
        )
    elif report.verdict == VIOLATION:
        line += "\nexit 1: a property failed; replay a counterexample to see the interleaving"
    elif report.verdict == BOUNDED:
        line += "\nexit 4: no violation found, but the search was bounded: this is not a proof"
    return line + "\n"


def render_check(report: CheckReport, style: Style = plain) -> str:
    parts = [render_header_for(report.design_cls, report.engine)]
    parts += [render_scenario(check, style) for check in report.scenarios]
    parts.append(render_summary(report))
    return "\n".join(parts)


def render_replay(
    report: ReplayReport,
    *,
    width: int = 100,
    setup: str = "fold",
    style: Style = plain,
    values: bool = False,
    draw: Callable[[Lanes], str] | None = None,
) -> str:
    """The replay; ``values`` adds what each step changed and marks the racing pair;
    ``draw`` draws the lanes (rich on a terminal) instead of the plain text."""
    cx, run = report.cx, report.run
    lines = [
        f"counterexample {report.path}",
        f"  saved: {cx.prop} at step {cx.step} on {cx.design_name}, engine {cx.engine},"
        f" zmodel {cx.zmodel_version}",
        f"  scenario: {cx.scenario}",
    ]
    if report.same_design:
        note = (
            "; its source changed since, the trace still matches"
            if report.fingerprint_changed
            else ""
        )
        lines.append(f"  replayed against: {report.design_cls.name} (the saved design{note})")
    else:
        lines.append(
            f"  replayed against: {report.design_cls.name} (saved against {cx.design_name})"
        )
        adapted = [
            f"{n} {what}"
            for n, what in (
                (report.skipped, "choices of finished threads skipped"),
                (report.inserted, "setup steps run first"),
                (report.completed, "steps added after the schedule ran out"),
            )
            if n
        ]
        if adapted:
            lines.append("  schedule adapted: " + ", ".join(adapted))
    lines.append("")
    lanes = _lanes(report)
    found, failure = run.violation, report.failure
    marked = Violation(found.step_index, found.prop, found.message) if found else None
    steps = [(step.tid, step.label) for step in run.trace]
    notes: dict[int, list[str]] = {}
    marks: dict[int, str] = {}
    under: list[str] = []
    if values:
        obs, why = observe_replay(report)
        notes = state.lane_notes(obs, lanes)
        if why is not None and why.pair is not None:
            marks = {why.pair.first.step: state.PAIR_MARK, why.pair.second.step: state.PAIR_MARK}
        under = state.legend(why)
    if failure is not None:
        if len(failure.schedule) > len(steps):  # it raised inside a step: never recorded
            steps.append((failure.schedule[-1][0], "(the step that raised)"))
        marked = Violation(len(steps) - 1, "model error", failure.message)
    lines.append(
        render_swimlanes(
            steps,
            lanes,
            violation=marked,
            width=width,
            setup=setup,
            style=style,
            notes=notes,
            marks=marks,
            draw=draw,
        )
    )
    lines.extend(style("note", line) for line in under)
    if under:
        lines.append("")
    if failure is not None:
        lines.append(style("violation", "MODEL ERROR: the model raised; fix the model") + "\n")
    else:
        lines.append(_verdict(report, style))
    return "\n".join(lines)


def _lanes(report: ReplayReport) -> list[str]:
    names = thread_names(report.design_cls, report.scenario)
    scenario = report.scenario
    threads = ["; ".join(str(op) for op in ops) for ops in scenario.threads]
    setup = "; ".join(str(op) for op in scenario.setup)
    return lane_headers(names, threads, setup)


def _verdict(report: ReplayReport, style: Style) -> str:
    found, cx, status = report.run.violation, report.cx, report.status
    if status == RECURS and found is not None:
        return style("violation", f"VIOLATION RECURS: {found.prop}: {found.message}") + "\n"
    if status == DIFFERENT and found is not None:
        return (
            style("violation", f"A DIFFERENT VIOLATION: {found.prop}: {found.message}")
            + f" (saved: {cx.prop})\n"
        )
    if status == FIXED:
        if report.same_design:
            return (
                style("pass", f"NO VIOLATION: {cx.prop} does not recur on {cx.design_name}") + "\n"
            )
        return (
            style("pass", f"FIXED: {cx.prop} does not recur on {report.design_cls.name}")
            + "; the run reached quiescence with no property failing\n"
        )
    return (
        style("pass", f"NO VIOLATION within {len(report.schedule)} steps")
        + f", but the run did not finish on {report.design_cls.name}\n"
    )
