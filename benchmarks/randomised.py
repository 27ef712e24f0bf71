"""Randomised engines on the 2013 leak: ``python benchmarks/randomised.py``.

Design ``zswap-3.11``, scenario ``store 1 A :: writeback | free 1``, seeds 0..9:

* the Hypothesis engine (profile ``ci``, ``--seed``): seconds to find *and
  shrink* the leak, examples run, and the preemptions and length of the shrunk
  counterexample;
* PCT with depth 2: the run that first hit the leak, the per-run bound
  ``1/(n*k^(d-1))`` it printed, and ``k``;
* the uniform random walk, for comparison: the run that first hit it.

Prints one table per engine, then the medians and the targets of issue 5:
Hypothesis median under 10 s with at most 2 preemptions, PCT median at most
1,000 runs.  Exits 1 if a target is missed.  ``--json`` prints the figures as
one JSON object instead; ``--seeds N`` uses seeds 0..N-1.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a script: make ``zmodel`` importable from a checkout
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from zmodel.explore.hypothesis_engine import explore_hypothesis
from zmodel.explore.randomwalk import count_preemptions, explore_pct, explore_random
from zmodel.harness import build_program
from zmodel.zswap.designs import REGISTRY
from zmodel.zswap.scenario import parse_scenario

DESIGN = "zswap-3.11"
SCENARIO = "store 1 A :: writeback | free 1"
PROPERTY = "leak"
MAX_RUNS = 100_000  # PCT and random stop at the first find; this only caps a miss


def measure(seeds: int) -> dict[str, Any]:
    program = build_program(REGISTRY[DESIGN], parse_scenario(SCENARIO))
    rows: dict[str, list[dict[str, Any]]] = {"hypothesis": [], "pct": [], "random": []}
    for seed in range(seeds):
        started = time.perf_counter()
        result = explore_hypothesis(program, profile="ci", seed=seed)
        seconds = time.perf_counter() - started
        found = result.violations[0] if result.violations else None
        rows["hypothesis"].append(
            {
                "seed": seed,
                "found": found is not None and found.prop == PROPERTY,
                "seconds": seconds,
                "examples": result.stats.executions,
                "preemptions": count_preemptions(program, found.schedule) if found else None,
                "steps": len(found.schedule) if found else None,
            }
        )
        pct = explore_pct(program, depth=2, runs=MAX_RUNS, seed=seed)
        rows["pct"].append(
            {
                "seed": seed,
                "found": bool(pct.violations) and pct.violations[0].prop == PROPERTY,
                "runs": pct.options["found_at_run"],
                "k": pct.options["k"],
                "n": pct.options["n"],
                "bound": pct.options["bound_per_run"],
                "seconds": pct.stats.seconds,
            }
        )
        walk = explore_random(program, runs=MAX_RUNS, seed=seed)
        rows["random"].append(
            {
                "seed": seed,
                "found": bool(walk.violations) and walk.violations[0].prop == PROPERTY,
                "runs": walk.options["found_at_run"],
                "seconds": walk.stats.seconds,
            }
        )
    return {"design": DESIGN, "scenario": SCENARIO, "property": PROPERTY, "rows": rows}


def summarise(figures: dict[str, Any]) -> dict[str, Any]:
    hyp, pct, walk = (figures["rows"][k] for k in ("hypothesis", "pct", "random"))

    def median(rows: list[dict[str, Any]], key: str) -> float:
        # A miss counts as infinitely slow, so it can only push the median up.
        return statistics.median(r[key] if r["found"] else float("inf") for r in rows)

    summary = {
        "hypothesis_median_seconds": median(hyp, "seconds"),
        "hypothesis_max_preemptions": max((r["preemptions"] if r["found"] else 99) for r in hyp),
        "pct_median_runs": median(pct, "runs"),
        "random_median_runs": median(walk, "runs"),
        "pct_bound": pct[0]["bound"],
    }
    summary["targets"] = {
        "hypothesis median < 10 s": summary["hypothesis_median_seconds"] < 10,
        "hypothesis preemptions <= 2": summary["hypothesis_max_preemptions"] <= 2,
        "pct depth 2 median <= 1,000 runs": summary["pct_median_runs"] <= 1000,
    }
    return summary


def table(figures: dict[str, Any], summary: dict[str, Any]) -> str:
    rows = figures["rows"]
    out = [f"{figures['design']}: {figures['scenario']!r}, property {figures['property']}", ""]
    out.append("Hypothesis engine (profile ci, --seed N): find + shrink")
    out.append(
        f"{'seed':>4} {'found':>5} {'seconds':>8} {'examples':>8} {'preempt':>7} {'steps':>5}"
    )
    for r in rows["hypothesis"]:
        out.append(
            f"{r['seed']:>4} {_yes(r['found']):>5} {r['seconds']:>8.3f} {r['examples']:>8}"
            f" {r['preemptions']!s:>7} {r['steps']!s:>5}"
        )
    out.append("")
    out.append("PCT, depth 2 (--engine pct --depth 2): runs to the first find")
    out.append(
        f"{'seed':>4} {'found':>5} {'runs':>6} {'n':>2} {'k':>4} {'bound 1/(n*k^(d-1))':>22}"
    )
    for r in rows["pct"]:
        bound = f"1/{round(1 / r['bound'])} = {r['bound']:.4f}"
        out.append(
            f"{r['seed']:>4} {_yes(r['found']):>5} {r['runs']!s:>6} {r['n']:>2} {r['k']:>4}"
            f" {bound:>22}"
        )
    out.append("")
    out.append("Uniform random walk (--engine random): runs to the first find")
    out.append(f"{'seed':>4} {'found':>5} {'runs':>6}")
    for r in rows["random"]:
        out.append(f"{r['seed']:>4} {_yes(r['found']):>5} {r['runs']!s:>6}")
    out.append("")
    out.append(
        f"Hypothesis: median {summary['hypothesis_median_seconds']:.3f} s to find and shrink,"
    )
    out.append(f"  at most {summary['hypothesis_max_preemptions']} preemption(s) after shrinking")
    out.append(
        f"PCT depth 2: median {summary['pct_median_runs']:g} runs"
        f" (per-run bound {summary['pct_bound']:.4f})"
    )
    out.append(f"Random walk: median {summary['random_median_runs']:g} runs")
    out.append("")
    for name, ok in summary["targets"].items():
        out.append(f"{'met ' if ok else 'MISSED'}  {name}")
    return "\n".join(out)


def _yes(flag: bool) -> str:
    return "yes" if flag else "NO"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=10)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    figures = measure(args.seeds)
    summary = summarise(figures)
    if args.json:
        print(json.dumps({**figures, "summary": summary}, indent=2, default=str))
    else:
        print(table(figures, summary))
    return 0 if all(summary["targets"].values()) else 1


if __name__ == "__main__":
    sys.exit(main())
