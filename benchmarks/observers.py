"""What the observers cost: ``python benchmarks/observers.py``.

The lock-order graph is kept by every ``zmodel check``; the state graph only with
``--state-graph``.  On design ``zswap-3.11``, one scenario (default
``store 1 A :: writeback | free 1``), engine ``dfs`` over every violation (the
largest search of the three), each way ``--repeat`` times: CPU seconds
(time.process_time) next to wall seconds, the best of the repeats, and the ratio
to no observer.  Also ``zmodel check``'s minimisation of the counterexample the
search saves, once.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

if __package__ in (None, ""):  # run as a script: make ``zmodel`` importable from a checkout
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from zmodel.analysis.minimize import minimize
from zmodel.analysis.state_graph import StateGraph
from zmodel.check import representatives
from zmodel.counterexample import engine_options, from_found
from zmodel.explore.engines import EngineOptions
from zmodel.harness import Watcher, run_engine
from zmodel.properties.lock_order import LockOrder
from zmodel.zswap.designs import resolve_design
from zmodel.zswap.scenario import parse_scenario


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenario", default="store 1 A :: writeback | free 1")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    design = resolve_design("zswap-3.11")
    scenario = parse_scenario(args.scenario)
    options = EngineOptions(all_violations=True)
    ways = ("no observer", "lock-order (every check)", "lock-order + state graph")
    base = 0.0
    print(f"zswap-3.11, {scenario.text!r}, engine dfs --all, best of {args.repeat}")
    for name in ways:
        best_cpu, best_wall, transitions = float("inf"), float("inf"), 0
        for _ in range(args.repeat):
            watchers: list[Watcher] = []
            if name != "no observer":
                watchers.append(LockOrder())
            if "state graph" in name:
                watchers.append(StateGraph())
            cpu, wall = time.process_time(), time.perf_counter()
            result = run_engine(design, scenario, "dfs", options, None, watchers)
            best_cpu = min(best_cpu, time.process_time() - cpu)
            best_wall = min(best_wall, time.perf_counter() - wall)
            transitions = result.stats.transitions
        base = base or best_cpu
        print(
            f"  {name:26} {best_cpu:7.2f} CPU-s {best_wall:7.2f} wall-s"
            f"  x{best_cpu / base:.2f} CPU  ({transitions} transitions)"
        )
    (found,) = representatives(result.violations)
    cx = from_found(
        found,
        design_cls=design,
        design_source=design.name,
        scenario=scenario,
        engine="dfs",
        options=engine_options(options, {}),
    )
    cpu, wall = time.process_time(), time.perf_counter()
    done = minimize(cx, design)
    print(
        f"  minimising the saved counterexample: {time.process_time() - cpu:.2f} CPU-s"
        f" {time.perf_counter() - wall:.2f} wall-s ({done.before.steps} -> {done.after.steps}"
        f" steps, {done.before.preemptions} -> {done.after.preemptions} preemptions)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
