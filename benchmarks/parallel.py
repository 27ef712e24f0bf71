"""Scaling of the parallel search: 1, 2, 4 and 8 workers on lastzero and two zswap scenarios.

``python benchmarks/parallel.py`` runs each workload serially (the engine itself,
in this process), on 2 local worker processes (``--jobs 2``), and on a dask
``LocalCluster`` of 4 and of 8 single-threaded workers (``--cluster``), and
prints per run: executions, total CPU seconds (this process and every worker's
units), crit s (this process's CPU plus the busiest worker's), wall seconds, the speed-up over the
serial run (wall), the CPU speed-up (serial CPU over this process's CPU plus the
busiest worker's: the wall speed-up on idle cores), the overhead (total CPU over
the serial CPU: what extra workers cost in work), and the load average when the
run ended.

The wall speed-up needs idle cores.  On a shared Linux machine with
``sched_autogroup_enabled`` (``/proc/sys/kernel/sched_autogroup_enabled``), every
session's processes share one slice of the CPU: while another session keeps both
cores busy, this one gets one core whether it runs one process or three, and no
number of local workers is faster than the serial run.  The CPU speed-up is the
figure that holds there.

On a machine with 2 cores more than 2 workers cannot speed anything up: they
share the cores, so the 4- and 8-worker rows measure the overhead only.
``--time-limit S`` (default 600) bounds each run: a run cut by it says so.
Options: ``--lastzero N`` (default 12), ``--workers 1,2,4,8``, ``--only NAME``.

The suite row (``--suite DESIGN``, default zswap-3.13; ``--only suite`` runs it
alone) is ``zmodel check --all`` on the design's whole suite, as the command runs
it (every scenario, counterexamples minimised and saved, into a temporary
directory): in this process (1 worker) and on 2 local workers, the scenarios'
searches in flight together (:mod:`zmodel.explore.many`).  Per run: wall
seconds, this process's CPU (``time.process_time``), the workers' (their
``RUSAGE_CHILDREN`` once they have exited), the speed-up (wall) and the CPU
ratio (all CPU over the 1-worker run's), and whether every scenario's verdict
and violated properties are the 1-worker run's.
"""

from __future__ import annotations

import argparse
import functools
import os
import resource
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a script: make the repository importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.programs import lastzero
from zmodel.check import resolve_scenarios, run_check
from zmodel.engine_build import describe
from zmodel.explore import EngineOptions, Program, Result
from zmodel.explore.backends import Backend, LocalBackend
from zmodel.explore.dask_backend import DaskBackend
from zmodel.explore.engines import DEFAULT_ENGINE, run_engine
from zmodel.explore.parallel import Source, explore_parallel
from zmodel.shipping import ScenarioSource
from zmodel.zswap.designs import resolve_design

THREE = "store 1 A; store 2 B :: writeback | load 2 | free 1"
FOUR = "store 1 A; store 2 B :: writeback | load 2 | free 1 | load 1"


@dataclass(frozen=True)
class ProgramSource:
    """A :class:`Source` for a picklable program factory."""

    factory: Callable[[], Program]

    def program(self, coverage: set[str], edges: dict[Any, Any]) -> Program:
        return self.factory()


@dataclass(frozen=True)
class Row:
    workers: int
    backend: str
    result: Result
    cpu: float
    wall: float
    load: float
    #: The search's length in CPU seconds on idle cores (serial: its CPU).
    critical: float = 0.0


def serial(source: Source, options: EngineOptions) -> Row:
    program = source.program(set(), {})
    cpu, wall = time.process_time(), time.perf_counter()
    result = run_engine(program, None, options)
    used = time.process_time() - cpu
    return Row(1, "serial", result, used, time.perf_counter() - wall, os.getloadavg()[0], used)


def parallel(source: Source, options: EngineOptions, backend: Backend, name: str) -> Row:
    cpu, wall = time.process_time(), time.perf_counter()
    result = explore_parallel(source, backend, None, options)
    here = time.process_time() - cpu
    total = here + (result.stats.worker_cpu or 0.0)
    return Row(backend.workers, name, result, total, time.perf_counter() - wall,
               os.getloadavg()[0], here + (result.stats.busiest_cpu or 0.0))  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--lastzero", type=int, default=12)
    parser.add_argument("--workers", default="1,2,4,8")
    parser.add_argument("--time-limit", type=float, default=600.0)
    parser.add_argument("--only", default=None, help="lastzero, zswap-3, zswap-4 or suite")
    parser.add_argument("--suite", default="zswap-3.13", help="the design of the suite row")
    args = parser.parse_args(argv)
    counts = [int(n) for n in args.workers.split(",")]
    workloads: dict[str, Source] = {
        f"lastzero({args.lastzero})": ProgramSource(functools.partial(lastzero, args.lastzero)),
        "zswap-3": ScenarioSource.of("zswap-3.11", THREE),
        "zswap-4": ScenarioSource.of("zswap-3.11", FOUR),
    }
    if args.only:
        workloads = {k: v for k, v in workloads.items() if k.startswith(args.only)}
    if args.only == "suite":
        return suite(args.suite, args.time_limit)
    options = EngineOptions(all_violations=True, time_limit=args.time_limit)
    cores = os.cpu_count() or 1
    print(f"zmodel: {describe()}")
    print(f"{cores} core(s); the default engine; every violation (--all);"
          f" time limit {args.time_limit:g} s per run")  # fmt: skip
    if cores <= 2:
        print(f"This machine has {cores} cores: more than {cores} workers cannot speed up;"
              " their rows show the overhead (total CPU against the serial CPU).")  # fmt: skip
    print(f"{'workload':14} {'workers':>7} {'backend':8} {'executions':>10} {'CPU s':>7}"
          f" {'crit s':>7} {'wall s':>7} {'speed-up':>8} {'CPU s-up':>8} {'overhead':>8}"
          f" {'load':>5}  verdict")  # fmt: skip
    for name, source in workloads.items():
        base: Row | None = None
        for n in counts:
            row = serial(source, options) if n == 1 else _on_workers(n, source, options)
            base = base or row
            r = row.result
            verdict = r.verdict + ("" if r.exhaustive else f" ({'; '.join(r.bounds)})")
            print(f"{name:14} {row.workers:>7} {row.backend:8} {r.stats.executions:>10}"
                  f" {row.cpu:>7.1f} {row.critical:>7.1f} {row.wall:>7.1f}"
                  f" {base.wall / row.wall:>7.2f}x {base.cpu / row.critical:>7.2f}x"
                  f" {row.cpu / base.cpu:>7.2f}x {row.load:>5.2f}  {verdict}",
                  flush=True)  # fmt: skip
    if args.only is None:
        suite(args.suite, args.time_limit)
    return 0


def suite(design: str, time_limit: float) -> int:
    """The suite row: ``check --all`` on ``design``'s suite, on 1 and 2 workers."""
    design_cls = resolve_design(design)
    specs = resolve_scenarios(design_cls, [])
    options = EngineOptions(all_violations=True, time_limit=time_limit)
    print(f"\ncheck --all on {design}'s suite ({len(specs)} scenarios; minimised, saved)")
    print(f"{'workers':>7} {'wall s':>7} {'own CPU s':>9} {'workers CPU s':>13} {'speed-up':>8}"
          f" {'CPU ratio':>9} {'load':>5}  verdicts")  # fmt: skip
    first: tuple[float, float, list[Any]] | None = None
    for workers in (1, 2):
        children = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu, wall = time.process_time(), time.perf_counter()
        local = LocalBackend(workers) if workers > 1 else None
        with tempfile.TemporaryDirectory() as out:
            try:
                report = run_check(design_cls, design, specs, engine=DEFAULT_ENGINE,
                                   options=options, out=Path(out), backend=local)  # fmt: skip
            finally:
                if local is not None:
                    local.close()
        wall = time.perf_counter() - wall
        own = time.process_time() - cpu
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        theirs = (after.ru_utime + after.ru_stime) - (children.ru_utime + children.ru_stime)
        verdicts = [(s.verdict, sorted({v.prop for v in s.result.violations}))
                    for s in report.scenarios]  # fmt: skip
        first = first or (wall, own + theirs, verdicts)
        same = "(1 worker's)" if verdicts == first[2] else "DIFFER from 1 worker's"
        print(f"{workers:>7} {wall:>7.1f} {own:>9.1f} {theirs:>13.1f} {first[0] / wall:>7.2f}x"
              f" {(own + theirs) / first[1]:>8.2f}x {os.getloadavg()[0]:>5.2f}  {report.verdict}"
              f" {same}", flush=True)  # fmt: skip
    return 0


def _on_workers(n: int, source: Source, options: EngineOptions) -> Row:
    if n <= 2:
        local = LocalBackend(n)
        try:
            return parallel(source, options, local, "local")
        finally:
            local.close()
    from distributed import LocalCluster

    with LocalCluster(n_workers=n, threads_per_worker=1, host="127.0.0.1",
                      dashboard_address=None) as cluster:  # fmt: skip
        dask = DaskBackend(cluster.scheduler_address, timeout=30)
        try:
            return parallel(source, options, dask, "dask")
        finally:
            dask.close()


if __name__ == "__main__":
    sys.exit(main())
