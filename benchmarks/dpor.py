"""DPOR against plain and cached DFS on the classic benchmarks: ``python benchmarks/dpor.py``.

For each benchmark and engine (plain DFS, cached DFS, source-DPOR with its state
cache (``dpor``, the default engine) and without it (``dpor-nocache``), optimal
DPOR) prints executions, transitions, seconds, transitions per second,
executions per Mazurkiewicz trace (1.00 is optimal) and the speed-up over plain
DFS, all measured in this run.  The number of traces is counted by brute force
(every schedule, grouped by trace equivalence; :mod:`benchmarks.traces`) in a
separate, untimed run, and the stateless DPOR rows also say how many distinct
traces their executions covered (it must be all of them).  ``sleep-blocked`` is
the number of their runs that ended because every enabled thread was in the
sleep set: they are counted in executions.  The cached rows stop runs at
explored states instead, so they cover fewer traces to the end and may take
fewer executions than there are traces; they say how many states they kept and
how many runs they pruned (cache hits and sleep-blocked runs).

``--json`` prints one JSON object instead of the table.  ``--zswap`` adds the
default suites of the registered zswap designs (see :func:`zswap_benchmarks`).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a script: make ``benchmarks`` importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.programs import EXTRA_BENCHMARKS, Benchmark, classic
from benchmarks.traces import count_traces, foata
from zmodel.explore import Program, Result
from zmodel.explore.dfs import explore_dfs
from zmodel.explore.dpor import explore_dpor
from zmodel.explore.optimal_dpor import explore_optimal_dpor
from zmodel.runtime import Executor

Engine = Callable[..., Result]
ENGINES: list[tuple[str, Engine, dict[str, Any]]] = [
    ("plain DFS", explore_dfs, {"cache": False}),
    ("cached DFS", explore_dfs, {"cache": True}),
    ("dpor", explore_dpor, {"cache": True}),
    ("dpor-nocache", explore_dpor, {"cache": False}),
    ("odpor", explore_optimal_dpor, {}),
]
#: The engines that run every trace to its end, whose coverage is checked.
TRACE_ENGINES = ("dpor-nocache", "odpor")


def zswap_benchmarks(designs: list[str] | None = None) -> list[Benchmark]:
    """The default suites of the zswap designs, as benchmarks (the hook for layer 2).

    Built through :mod:`zmodel.harness` when it is importable; their trace counts
    are not known (a scenario with a violation cannot be enumerated to the end).
    """
    try:
        from zmodel.harness import build_program
        from zmodel.zswap.designs import REGISTRY
        from zmodel.zswap.scenario import parse_scenario
    except ImportError:
        return []
    chosen = designs or sorted(REGISTRY)
    return [
        Benchmark(
            f"{name} {label}",
            build_program(REGISTRY[name], parse_scenario(text)),
            count=False,
        )
        for name in chosen
        for label, text in REGISTRY[name].suite
    ]


def measure(bench: Benchmark, time_limit: float | None, count: bool) -> dict[str, Any]:
    traces = bench.traces
    counted = None
    if count:
        try:
            counted = count_traces(bench.program)
        except ValueError:
            counted = None
        if traces is not None and counted is not None and traces != counted:
            raise AssertionError(f"{bench.name}: {counted} traces counted, {traces} known")
        traces = counted if counted is not None else traces
    rows = []
    plain_seconds = None
    for name, engine, options in ENGINES:
        covered: set[Any] = set()
        on_end = _collect(covered) if name in TRACE_ENGINES else None
        result = engine(
            bench.program,
            stop_on_first=False,
            time_limit=time_limit,
            on_end=on_end,
            **options,
        )
        stats = result.stats
        if name == "plain DFS":
            plain_seconds = stats.seconds
        row: dict[str, Any] = {
            "engine": name,
            "executions": stats.executions,
            "transitions": stats.transitions,
            "seconds": round(stats.seconds, 4),
            "transitions_per_second": round(stats.transitions_per_second),
            "executions_per_trace": round(stats.executions / traces, 2) if traces else None,
            "speedup": round(plain_seconds / stats.seconds, 1)
            if plain_seconds and stats.seconds
            else None,
            "exhaustive": result.exhaustive,
            "violations": len(result.violations),
        }
        if stats.distinct_states is not None:
            row["distinct_states"] = stats.distinct_states
            if name == "dpor":
                row["pruned"] = stats.pruned
        if name in TRACE_ENGINES:
            row["sleep_blocked"] = stats.pruned
            row["traces_covered"] = len(covered)
        rows.append(row)
    return {"benchmark": bench.name, "traces": traces, "engines": rows}


def _collect(into: set[Any]) -> Callable[[Executor], None]:
    def on_end(ex: Executor) -> None:
        into.add(foata(ex.trace))

    return on_end


def table(results: list[dict[str, Any]]) -> str:
    head = (
        f"{'benchmark':<26} {'traces':>6}  {'engine':<12} {'execs':>7} {'transitions':>11} "
        f"{'seconds':>8} {'trans/s':>8} {'execs/trace':>11} {'speed-up':>8}  notes"
    )
    lines = [head, "-" * len(head)]
    for bench in results:
        for i, row in enumerate(bench["engines"]):
            name = bench["benchmark"] if i == 0 else ""
            traces = str(bench["traces"] if bench["traces"] is not None else "?") if i == 0 else ""
            ratio = row["executions_per_trace"]
            speedup = row["speedup"]
            notes = [] if row["exhaustive"] else ["cut by a bound"]
            if "distinct_states" in row:
                notes.append(f"{row['distinct_states']} states")
            if "pruned" in row:
                notes.append(f"{row['pruned']} pruned")
            if "sleep_blocked" in row:
                notes.append(f"{row['traces_covered']} traces covered")
                notes.append(f"{row['sleep_blocked']} sleep-blocked")
            if row["violations"]:
                notes.append(f"{row['violations']} violations")
            lines.append(
                f"{name:<26} {traces:>6}  {row['engine']:<12} {row['executions']:>7} "
                f"{row['transitions']:>11} {row['seconds']:>8.3f} "
                f"{row['transitions_per_second']:>8} "
                f"{'-' if ratio is None else f'{ratio:.2f}':>11} "
                f"{'-' if speedup is None else f'{speedup:g}x':>8}  {', '.join(notes)}"
            )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--zswap", action="store_true", help="add the zswap default suites")
    parser.add_argument("--only", help="run the benchmarks whose name contains this")
    parser.add_argument("--time-limit", type=float, default=300.0, help="seconds per engine run")
    args = parser.parse_args(argv)
    benches = classic()
    for extra in EXTRA_BENCHMARKS:
        benches.extend(extra())
    if args.zswap:
        benches.extend(zswap_benchmarks())
    if args.only:
        benches = [b for b in benches if args.only in b.name]
    results = []
    for bench in benches:
        results.append(measure(bench, args.time_limit, count=bench.count))
        if not args.json:
            print(table(results[-1:]).split("\n", 2)[-1] if len(results) > 1 else table(results))
            sys.stdout.flush()
    if args.json:
        print(json.dumps({"benchmarks": results}, indent=2))
    return 0


def programs() -> list[tuple[str, Program]]:
    """Every benchmark's name and program (for profiling)."""
    return [(b.name, b.program) for b in classic()]


if __name__ == "__main__":
    sys.exit(main())
