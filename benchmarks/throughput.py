"""zswap throughput, transitions per CPU-second of ``check --all``: ``benchmarks/throughput.py``.

Runs ``zmodel check --design D --all --json`` (the CLI, in a forked child, its
output discarded but for the JSON) for each design, and prints the transitions
it made (the sum of every scenario's ``stats.transitions``), CPU seconds (the
child's ``time.process_time`` around the command, so the interpreter's start
and imports do not count) next to wall seconds, peak memory and transitions per
CPU-second.  Next to that, in the same run, a bare CPython loop doing the least
a step can do (resume a thread generator, call the step it yields on a dict,
append it to a trace) gives the ceiling, and the ratio to it.

The issue's target is 150,000 transitions per CPU-second on zswap-3.11 (about a
sixth of the bare loop), and each design's suite in at most a third of the CPU
measured before (the ``before`` column: the issue's figures, default engine).
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import sys
import tempfile
import time
from collections.abc import Callable, Generator
from functools import partial
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a script: make ``benchmarks`` importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.measure import in_child
from zmodel.engine_build import describe

#: CPU seconds of each design's ``--all`` suite before issue 10 (default engine,
#: measured on this machine; the issue's figures).
BEFORE = {
    "zswap-3.11": 9.3,
    "zswap-3.13": 6.8,
    "zswap-6.8": 2.1,
    "zswap-6.12": 0.6,
    "zswap-2013": 1.8,
}
TARGET = 150_000


def check_suite(design: str, extra: list[str]) -> dict[str, Any]:
    """In the child: the CLI's ``check --all`` on ``design``, timed around the command."""
    from zmodel.cli import main

    with tempfile.TemporaryDirectory(prefix="zmodel-throughput-") as out:
        argv = ["check", "--design", design, "--all", "--json", "--out", out, *extra]
        buffer = io.StringIO()
        start_cpu, start_wall = time.process_time(), time.perf_counter()
        with contextlib.redirect_stdout(buffer), contextlib.suppress(SystemExit):
            main(argv)
        cpu, wall = time.process_time() - start_cpu, time.perf_counter() - start_wall
    report = json.loads(buffer.getvalue())
    scenarios = report["scenarios"]
    return {
        "verdict": report["verdict"],
        "scenarios": len(scenarios),
        "transitions": sum(s["stats"]["transitions"] for s in scenarios),
        "executions": sum(s["stats"]["executions"] for s in scenarios),
        "cpu": cpu,
        "wall": wall,
    }


def _bump(world: dict[str, int], key: str) -> int:
    world[key] += 1
    return world[key]


Step = tuple[Callable[[dict[str, int], str], int], str]


def _thread(steps: int) -> Generator[Step, int, None]:
    done = 0
    while done < steps:
        done = yield (_bump, "x")


def bare_loop(steps: int = 2_000_000) -> float:
    """Steps per CPU-second of the least an executor can do per step."""
    world = {"x": 0}
    trace: list[Step] = []
    gen = _thread(steps)
    request = next(gen)
    start = time.process_time()
    with contextlib.suppress(StopIteration):
        while True:
            fn, key = request
            result = fn(world, key)
            trace.append(request)
            request = gen.send(result)
    return steps / (time.process_time() - start)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument(
        "--designs",
        default="zswap-3.11",
        help=f"comma-separated, or 'all' for {', '.join(BEFORE)} (default zswap-3.11)",
    )
    parser.add_argument("--engine", help="passed to check --engine (default: the default)")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args(argv)
    designs = list(BEFORE) if args.designs == "all" else args.designs.split(",")
    extra = ["--engine", args.engine] if args.engine else []
    bare = in_child(bare_loop)
    ceiling = float(bare.value)
    rows = []
    for design in designs:
        run = in_child(partial(check_suite, design, extra))
        if run.error is not None:
            rows.append({"design": design, "error": run.error})
            continue
        row = dict(run.value) | {"design": design, "peak_mb": round(run.peak_mb, 1)}
        row["per_cpu_second"] = row["transitions"] / row["cpu"] if row["cpu"] else 0.0
        row["of_bare_loop"] = row["per_cpu_second"] / ceiling
        row["before_cpu"] = BEFORE.get(design)
        rows.append(row)
    if args.json:
        print(json.dumps({"bare_loop_per_cpu_second": round(ceiling), "designs": rows}, indent=2))
        return 0
    print(f"zmodel: {describe()}")
    print(f"bare generator loop: {ceiling:,.0f} steps per CPU-second (this run)")
    print(
        f"{'design':<12} {'verdict':<10} {'transitions':>11} {'CPU s':>7} {'wall s':>7} "
        f"{'before':>7} {'peak MB':>8} {'trans/CPU-s':>11} {'of bare':>8} {'of target':>9}"
    )
    for row in rows:
        if "error" in row:
            print(f"{row['design']:<12} {row['error']}")
            continue
        before = "-" if row["before_cpu"] is None else f"{row['before_cpu']:.1f}"
        print(
            f"{row['design']:<12} {row['verdict']:<10} {row['transitions']:>11} {row['cpu']:>7.2f} "
            f"{row['wall']:>7.2f} {before:>7} {row['peak_mb']:>8.1f} "
            f"{row['per_cpu_second']:>11,.0f} {row['of_bare_loop']:>8.3f} "
            f"{row['per_cpu_second'] / TARGET:>9.2f}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
