"""``zmodel minimize``: a smaller counterexample for the same property.

Two passes, each candidate replayed with the real executor and kept only if the
same property fails again:

1. the scenario, delta-debugged greedily: drop a thread, drop one operation, lower
   ``reclaim_retries`` and ``pool_pages``; the saved schedule is carried over to each
   candidate (thread numbers shifted past a dropped thread, choices of threads that
   finished or are blocked skipped, the run completed keeping the running thread);
   a candidate is kept when it has fewer operations, or as many and fewer steps;
2. the schedule: the linearisation of the happens-before graph with the fewest
   preemptions, found and proved by z3 (:mod:`zmodel.analysis.linearize`); it is
   the same Mazurkiewicz trace, so the violation recurs by construction, and it is
   replayed anyway.

"Proved minimal" is z3's word for pass 2: no order of the final trace's steps that
keeps every dependent pair's order has fewer preemptions.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path

from zmodel.analysis.happens_before import happens_before
from zmodel.analysis.linearize import fewest_preemptions, preemptions
from zmodel.counterexample import RECURS, Counterexample, CounterexampleError, replay_file
from zmodel.counterexample.store import Saved, build, save, save_in
from zmodel.explore import Choice, Found, ModelFailure, Program, replay
from zmodel.harness import build_program
from zmodel.runtime import ModelError, Violation
from zmodel.zswap.designs import Design
from zmodel.zswap.scenario import Scenario, parse_scenario

#: Steps a carried-over run may take beyond the saved schedule's length.
EXTRA_STEPS = 400
LOWERED = ("reclaim_retries", "pool_pages")


@dataclass(frozen=True)
class Size:
    steps: int
    preemptions: int
    ops: int

    def to_json(self) -> dict[str, int]:
        return {"steps": self.steps, "preemptions": self.preemptions, "ops": self.ops}


@dataclass(frozen=True)
class Minimized:
    cx: Counterexample
    before: Size
    after: Size
    proved_minimal: bool
    candidates: int  # scenario candidates replayed
    smaller: bool = True  # False: nothing smaller was found, ``cx`` is the original


def op_count(scenario: Scenario) -> int:
    return len(scenario.setup) + sum(len(ops) for ops in scenario.threads)


def size_of(found: Found, scenario: Scenario) -> Size:
    tids = [s.tid for s in found.trace]
    return Size(len(found.trace), preemptions(tids), op_count(scenario))


def carry_over(program: Program, choices: list[Choice], limit: int) -> list[Choice]:
    """Run ``choices`` as far as they fit, then to the end; the choices that ran."""
    ex = program()
    ran: list[Choice] = []

    def run(tid: int, outcome: int) -> None:
        ran.append((tid, outcome))
        ex.step(tid, outcome)

    try:
        for tid, outcome in choices:
            if not 0 <= tid < ex.thread_count or ex.is_done(tid):
                continue
            while tid > 0 and not ex.is_done(0) and ex.is_enabled(0):
                run(0, 0)
            if not ex.is_enabled(tid):
                continue
            run(tid, outcome if outcome < ex.outcomes(tid) else 0)
        while not ex.finished() and len(ran) < limit:
            enabled = ex.enabled()
            if not enabled:
                break
            current = ran[-1][0] if ran else 0
            run(current if current in enabled else enabled[0], 0)
    except (Violation, ModelError):
        pass  # the replay of ``ran`` reports it
    ex.discard()  # nothing of the run escapes (zmodel/explore/collector.py)
    return ran


def _try(
    design_cls: type[Design], scenario: Scenario, choices: list[Choice], prop: str
) -> Found | None:
    program = build_program(design_cls, scenario)
    try:
        ran = carry_over(program, choices, len(choices) + EXTRA_STEPS)
        run = replay(program, ran)
    except (ModelFailure, ModelError):
        return None
    found = run.violation
    return found if found is not None and found.prop == prop else None


def _valid(design_cls: type[Design], scenario: Scenario) -> Scenario | None:
    try:
        parsed = parse_scenario(scenario.text)
        design_cls.check_scenario(parsed)
    except Exception:  # any refusal (a parse error, a design without the knob) drops it
        return None
    return parsed


def candidates(
    scenario: Scenario, schedule: list[Choice]
) -> Iterator[tuple[Scenario, list[Choice]]]:
    """Smaller scenarios, each with the schedule carried over to it."""
    threads = scenario.threads
    if len(threads) > 1:
        for t in range(len(threads)):
            tid = t + 1
            mapped = [(c - 1 if c > tid else c, o) for c, o in schedule if c != tid]
            yield replace(scenario, threads=threads[:t] + threads[t + 1 :]), mapped
    for t, ops in enumerate(threads):
        for j in range(len(ops)):
            if len(ops) > 1:
                smaller = (*threads[:t], ops[:j] + ops[j + 1 :], *threads[t + 1 :])
                yield replace(scenario, threads=smaller), schedule
    for j in range(len(scenario.setup)):
        setup = scenario.setup[:j] + scenario.setup[j + 1 :]
        yield replace(scenario, setup=setup), schedule
    for name in LOWERED:
        value = scenario.option(name)
        if not isinstance(value, int) or isinstance(value, bool):
            continue
        for lower in range(value):
            options = tuple((k, v) for k, v in scenario.options if k != name)
            yield replace(scenario, options=(*options, (name, lower))), schedule


def minimize(cx: Counterexample, design_cls: type[Design]) -> Minimized:
    """The smaller counterexample; raises ModelFailure if the saved one does not replay."""
    scenario = parse_scenario(cx.scenario)
    best = replay(build_program(design_cls, scenario), list(cx.schedule)).violation
    if best is None or best.prop != cx.prop:
        raise ValueError(f"{cx.prop} does not recur on {design_cls.name}: nothing to minimise")
    before = size_of(best, scenario)
    tried = 0
    improved = True
    while improved:
        improved = False
        for candidate, choices in candidates(scenario, best.schedule):
            valid = _valid(design_cls, candidate)
            if valid is None:
                continue
            tried += 1
            found = _try(design_cls, valid, choices, cx.prop)
            if found is None:
                continue
            old, new = size_of(best, scenario), size_of(found, valid)
            if (new.ops, new.steps) < (old.ops, old.steps):
                scenario, best, improved = valid, found, True
                break
    trace = best.trace
    last = best.step_index if best.step_index < len(trace) else None
    lin = fewest_preemptions(trace, happens_before(trace), last=last)
    had = preemptions([s.tid for s in trace])
    proved = lin.proved and lin.preemptions >= had
    if lin.preemptions < had:
        program = build_program(design_cls, scenario)
        reordered = replay(program, [best.schedule[i] for i in lin.order]).violation
        if reordered is not None and reordered.prop == cx.prop:
            best, proved = reordered, lin.proved
        # else: cannot happen for a sound dependency relation; keep the order that failed
    after = size_of(best, scenario)
    if scenario.text == cx.scenario and best.schedule == list(cx.schedule):
        # Nothing smaller: the file stays as found (same name, same content), so a
        # check that minimises by default saves what it saved before.
        return Minimized(cx, before, after, proved, tried, smaller=False)
    out = build(
        design_cls=design_cls,
        design_source=cx.design_source,
        scenario=scenario,
        engine=cx.engine,
        options={**cx.engine_options, "minimized": True},
        prop=best.prop,
        message=best.message,
        step=best.step_index,
        schedule=best.schedule,
        trace=best.trace,
    )
    return Minimized(out, before, after, proved, tried)


def minimize_file(path: Path | str, out: Path | None = None) -> tuple[Minimized, Saved]:
    """Replay ``path`` strictly, minimise it, save the result (never over a file).

    Without ``out`` the new file goes beside the original; with it, under
    ``<out>/<design>/`` as ``zmodel check`` saves.  Raises CounterexampleError when
    the file does not replay to its own property.
    """
    report = replay_file(path)
    if report.status != RECURS:
        found = report.run.violation
        got = f"{found.prop} instead" if found is not None else "no violation"
        raise CounterexampleError(
            f"{path}: {report.cx.prop} does not recur on {report.design_cls.name} ({got}):"
            " nothing to minimise"
        )
    result = minimize(report.cx, report.design_cls)
    if out is not None:
        return result, save(result.cx, out)
    return result, save_in(result.cx, Path(path).parent)


__all__ = ["Minimized", "Size", "minimize", "minimize_file"]
