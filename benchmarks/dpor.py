"""The engines on the classic benchmarks, against published trace counts: ``benchmarks/dpor.py``.

For each benchmark and engine prints executions, transitions, CPU seconds
(user + system of the run) next to wall seconds, peak memory, transitions per
CPU-second and executions per trace (1.00 is optimal).  Every engine run is a
forked child measured by ``os.wait4`` (:mod:`benchmarks.measure`): peak memory is
that child's ``ru_maxrss``, which includes most of the interpreter it inherited
(the size printed in the header).

The benchmarks are the published families of :mod:`benchmarks.families`
(lastzero, indexer, filesystem, linuxrwlock, readers, fetch-add, load-store-inc,
lock-inc at the sizes the issue names), GenMC's CAS families and the small
classic instances of :mod:`benchmarks.programs`.  ``traces`` is the published
count (its source is printed under the table, with how zmodel's program differs
where it does); for the small instances it is counted by brute force (every
schedule, grouped by trace equivalence; :mod:`benchmarks.traces`) in a separate,
untimed run, and checked against the published one where both exist.

``--only`` takes a parameterised name (``--only 'lastzero(12)'``: that instance,
at any size) or a substring of the names.  ``--engines`` picks engines
(``default`` is whatever :func:`zmodel.explore.explore` runs with no engine named;
``plain``, ``dfs``, ``dpor``, ``dpor-nocache``, ``odpor``); plain and cached DFS
are skipped, with a message, where the family's size is past what they finish.
The cached rows stop runs at explored states: ``execs`` counts the runs that
reached an end, the notes the runs cut at a cache hit (each stands for every trace
below its state, so those rows complete fewer runs than there are traces) and
those ended with every enabled thread asleep (``pruned``).  ``--covered`` also counts the distinct
traces the stateless engines' finished runs cover (it must be all of them;
the counting is inside their CPU figures then).  ``--json`` prints one JSON object;
``--zswap`` adds the default suites of the zswap designs (no published counts).
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a script: make ``benchmarks`` importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.families import FAMILIES
from benchmarks.measure import Measured, baseline_mb, in_child
from benchmarks.programs import CAS_FAMILIES, EXTRA_BENCHMARKS, classic
from benchmarks.traces import count_traces, foata
from zmodel.engine_build import describe
from zmodel.explore import Program, explore
from zmodel.runtime import Executor

#: Engine name -> (the engine explore() runs, its -X options).
ENGINES: dict[str, tuple[str | None, dict[str, Any]]] = {
    "plain": ("plain", {}),
    "dfs": ("dfs", {}),
    "default": (None, {}),
    "dpor": ("dpor", {}),
    "dpor-nocache": ("dpor", {"cache": "off"}),
    "odpor": ("odpor", {}),
}
DEFAULT_ENGINES = ("plain", "dfs", "default", "dpor-nocache", "odpor")
#: Engines that enumerate schedules without reduction: skipped past ``plain_max``.
ENUMERATING = ("plain", "dfs")
#: Engines whose executions must equal the published count (the issue's check).
OPTIMAL = ("default", "odpor")
#: Engines that run every trace to its end (no state cache), whose coverage
#: ``--covered`` counts.
STATELESS = ("dpor-nocache", "odpor")


@dataclass(frozen=True)
class Case:
    name: str
    program: Program
    traces: int | None  # published (or known by hand); None if not
    source: str = ""
    differs: str = ""
    plain_ok: bool = True  # plain enumeration finishes
    brute_force: bool = False  # count the traces by enumeration (untimed)


def family_case(family_name: str, n: int) -> Case:
    family = FAMILIES[family_name]
    return Case(
        f"{family.name}({n})",
        family.build(n),
        family.count(n),
        family.source,
        family.differs,
        plain_ok=n <= family.plain_max,
        brute_force=n <= family.plain_max,
    )


def cas_case(name: str, n: int) -> Case:
    build, counts = CAS_FAMILIES[name]
    source = f"GenMC v0.11.0 tests/correct/synthetic/{name}/expected.sc.mo.in"
    return Case(f"{name}({n})", build(n), counts.get(n), source, plain_ok=n <= 4)


def default_cases() -> list[Case]:
    cases = [family_case(name, n) for name, family in FAMILIES.items() for n in family.sizes]
    cases += [cas_case(name, n) for name in CAS_FAMILIES for n in (3, 4)]
    for bench in classic():
        cases.append(
            Case(f"classic {bench.name}", bench.program, bench.traces, brute_force=bench.count)
        )
    for extra in EXTRA_BENCHMARKS:
        for bench in extra():
            cases.append(Case(bench.name, bench.program, bench.traces, plain_ok=False))
    return cases


def zswap_cases(designs: list[str] | None = None) -> list[Case]:
    """The default suites of the zswap designs (their trace counts are not known)."""
    from zmodel.harness import build_program
    from zmodel.zswap.designs import REGISTRY
    from zmodel.zswap.scenario import parse_scenario

    return [
        Case(f"{name} {label}", build_program(REGISTRY[name], parse_scenario(text)), None)
        for name in designs or sorted(REGISTRY)
        for label, text in REGISTRY[name].suite
    ]


_PARAMETERISED = re.compile(r"^\s*([\w-]+)\((\d+)\)\s*$")


def select(only: str | None, cases: list[Case]) -> list[Case]:
    """``name(n)`` builds that instance; anything else filters by substring."""
    if only is None:
        return cases
    match = _PARAMETERISED.match(only)
    if match:
        name, n = match.group(1), int(match.group(2))
        if name in FAMILIES:
            return [family_case(name, n)]
        if name in CAS_FAMILIES:
            return [cas_case(name, n)]
    chosen = [case for case in cases if only in case.name]
    if not chosen:
        known = ", ".join([*FAMILIES, *CAS_FAMILIES])
        raise SystemExit(f"no benchmark matches {only!r} (families: {known}; e.g. 'lastzero(12)')")
    return chosen


def covering(program: Program) -> tuple[Program, Callable[[], int]]:
    """``program`` that also remembers the trace of every run that finished, and how
    many distinct traces (Foata normal forms) those were so far.

    Built from the factory alone (a run is over when the engine asks for the next
    executor), so it needs no hook in the engines.
    """
    seen: set[Any] = set()
    last: list[Executor] = []

    def note() -> None:
        if last and last[0].finished():
            seen.add(foata(last[0].trace))
        last.clear()

    def fresh() -> Executor:
        note()
        ex = program()
        last.append(ex)
        return ex

    def covered() -> int:
        note()
        return len(seen)

    return fresh, covered


def run_engine(
    program: Program, engine: str, time_limit: float | None, covered: bool = False
) -> dict[str, Any]:
    """One search, in the measuring child: the figures of its Result."""
    name, extra = ENGINES[engine]
    count: Callable[[], int] | None = None
    if covered and engine in STATELESS:
        program, count = covering(program)
    result = explore(program, name, all_violations=True, time_limit=time_limit, **extra)
    stats = result.stats
    return {
        "traces_covered": None if count is None else count(),
        "executions": stats.executions,
        "transitions": stats.transitions,
        "exhaustive": result.exhaustive,
        "violations": len(result.violations),
        "distinct_states": stats.distinct_states,
        "pruned": stats.pruned,
        "cut": stats.cut,
        "engine_run": result.engine,
    }


def measure(
    case: Case, engines: list[str], time_limit: float | None, covered: bool = False
) -> dict[str, Any]:
    counted = None
    if case.brute_force:
        counted = count_traces(case.program)
        if case.traces is not None and counted != case.traces:
            raise AssertionError(f"{case.name}: {counted} traces counted, {case.traces} published")
    traces = case.traces if case.traces is not None else counted
    rows = []
    for engine in engines:
        if engine in ENUMERATING and not case.plain_ok:
            rows.append({"engine": engine, "skipped": "plain enumeration cannot finish here"})
            continue
        run: Measured = in_child(partial(run_engine, case.program, engine, time_limit, covered))
        if run.error is not None:
            rows.append({"engine": engine, "error": run.error})
            continue
        row: dict[str, Any] = dict(run.value)
        row |= {
            "engine": engine,
            "cpu_seconds": round(run.cpu, 3),
            "wall_seconds": round(run.wall, 3),
            "peak_mb": round(run.peak_mb, 1),
            "transitions_per_cpu_second": round(row["transitions"] / run.cpu) if run.cpu else None,
            "executions_per_trace": round(row["executions"] / traces, 2) if traces else None,
            "matches_published": row["executions"] == case.traces
            if case.traces and engine in OPTIMAL
            else None,
        }
        rows.append(row)
    return {
        "benchmark": case.name,
        "traces": traces,
        "published": case.traces,
        "counted": counted,
        "source": case.source,
        "differs": case.differs,
        "engines": rows,
    }


HEAD = (
    f"{'benchmark':<26} {'traces':>7}  {'engine':<12} {'execs':>7} {'transitions':>11} "
    f"{'CPU s':>8} {'wall s':>8} {'peak MB':>8} {'trans/CPU-s':>11} {'execs/trace':>11}  notes"
)


def rows_text(bench: dict[str, Any]) -> list[str]:
    lines = []
    for i, row in enumerate(bench["engines"]):
        name = bench["benchmark"] if i == 0 else ""
        traces = ("?" if bench["traces"] is None else str(bench["traces"])) if i == 0 else ""
        if "skipped" in row or "error" in row:
            lines.append(
                f"{name:<26} {traces:>7}  {row['engine']:<12} {row.get('skipped') or row['error']}"
            )
            continue
        notes = [] if row["exhaustive"] else ["cut by a bound"]
        if row["distinct_states"] is not None:
            notes.append(f"{row['distinct_states']} states, {row['pruned']} pruned")
        elif row["pruned"]:
            notes.append(f"{row['pruned']} sleep-blocked")
        if row["violations"]:
            notes.append(f"{row['violations']} violations")
        if row["traces_covered"] is not None:
            notes.append(f"{row['traces_covered']} traces covered")
        if row.get("cut"):
            notes.append(f"{row['cut']} cut at a cached state")
        if row["matches_published"] is not None:
            if row["matches_published"]:
                notes.append("= published")
            elif row.get("cut"):
                # A run stopped at a state explored before stands for every trace
                # below it: a cached engine completes fewer runs than there are traces.
                notes.append("!= published: the cut runs stand for the rest")
            else:
                notes.append("!= published")
        ratio = row["executions_per_trace"]
        lines.append(
            f"{name:<26} {traces:>7}  {row['engine']:<12} {row['executions']:>7} "
            f"{row['transitions']:>11} {row['cpu_seconds']:>8.3f} {row['wall_seconds']:>8.3f} "
            f"{row['peak_mb']:>8.1f} {row['transitions_per_cpu_second'] or '-':>11} "
            f"{'-' if ratio is None else f'{ratio:.2f}':>11}  {', '.join(notes)}"
        )
    return lines


def sources_text(results: list[dict[str, Any]]) -> list[str]:
    lines, seen = ["", "traces: where each count comes from"], set()
    for bench in results:
        family = bench["benchmark"].split("(")[0]
        if family in seen or not (bench["source"] or bench["counted"] is not None):
            continue
        seen.add(family)
        source = bench["source"] or "counted by brute force (benchmarks/traces.py)"
        lines.append(f"  {family}: {source}")
        if bench["differs"]:
            lines.append(f"    differs: {bench['differs']}")
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--zswap", action="store_true", help="add the zswap default suites")
    parser.add_argument("--only", help="'family(n)' (e.g. 'lastzero(12)') or a substring of names")
    parser.add_argument(
        "--engines",
        default=",".join(DEFAULT_ENGINES),
        help=f"comma-separated, of {', '.join(ENGINES)} (default: {','.join(DEFAULT_ENGINES)})",
    )
    parser.add_argument("--time-limit", type=float, default=300.0, help="seconds per engine run")
    parser.add_argument(
        "--covered",
        action="store_true",
        help="count the traces the stateless engines' runs cover (their CPU then includes it)",
    )
    args = parser.parse_args(argv)
    engines = [e.strip() for e in args.engines.split(",") if e.strip()]
    unknown = [e for e in engines if e not in ENGINES]
    if unknown:
        parser.error(f"unknown engine(s) {', '.join(unknown)} (known: {', '.join(ENGINES)})")
    cases = default_cases() + (zswap_cases() if args.zswap else [])
    cases = select(args.only, cases)
    if not args.json:
        print(f"zmodel: {describe()}")
        print(
            f"(peak MB: each run's ru_maxrss; it holds most of this {baseline_mb():.0f} MB process)"
        )
        print(HEAD)
        print("-" * len(HEAD))
    results = []
    for case in cases:
        results.append(measure(case, engines, args.time_limit, args.covered))
        if not args.json:
            print("\n".join(rows_text(results[-1])), flush=True)
    if args.json:
        print(json.dumps({"baseline_mb": round(baseline_mb(), 1), "benchmarks": results}, indent=2))
    else:
        print("\n".join(sources_text(results)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
