"""Q5, zbud against zsmalloc: entries written back per reclaim that frees page frames.

``python benchmarks/reclaim_cost.py`` explores each scenario exhaustively on each
design and prints, side by side, every reclaim outcome met at the quiescent
states of the search: ``entries -> frames xN`` means N reclaims wrote back (or
evicted) that many entries and freed that many page frames.  "freed none" lists
reclaims that freed no frame (zbud logs only reclaims that freed one, so its
column says "not logged").  ``--json`` prints the same as one JSON object.

Designs: ``zswap-3.11`` (zbud, <= 2 objects per frame), ``zswap-zsmalloc`` (the
same zswap paths on zsmalloc's 6.2-6.4 zs_reclaim_page, 3 objects per 2-frame
zspage), its unpinned variant, ``zswap-2013`` (entry LRU, flush of up to 16
entries) and, for Dan's "free up 100 zpages ... but not ... a single pageframe",
``zswap-2013`` flushing one entry per call.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any, ClassVar

if __package__ in (None, ""):  # run as a script: make the repository importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from zmodel.analysis.reclaim_cost import ReclaimCost, describe, reclaim_costs
from zmodel.zswap.designs import Design, resolve_design
from zmodel.zswap.designs.zswap_2013 import Zswap2013


class Zswap2013FlushOne(Zswap2013):
    """zswap-2013 whose ``writeback`` is zswap_flush_entries(type, 1): one LRU entry."""

    name = "zswap-2013 (flush 1)"
    flush_nr: ClassVar[int] = 1


DESIGNS: list[tuple[str, type[Design]]] = [
    ("zswap-3.11 (zbud)", resolve_design("zswap-3.11")),
    ("zswap-zsmalloc", resolve_design("zswap-zsmalloc")),
    ("zswap-zsmalloc-unpinned", resolve_design("zswap-zsmalloc-unpinned")),
    ("zswap-2013 (flush 16)", resolve_design("zswap-2013")),
    ("zswap-2013 (flush 1)", Zswap2013FlushOne),
]

SCENARIOS: list[tuple[str, str]] = [
    ("three stores, one reclaim", "store 1 A; store 2 B; store 3 C :: writeback"),
    ("... and a concurrent free", "store 1 A; store 2 B; store 3 C :: writeback | free 2"),
    ("... and a concurrent load", "store 1 A; store 2 B; store 3 C :: writeback | load 1"),
    ("a store races the reclaim", "store 1 A :: writeback | store 2 B"),
    (
        "three reclaims in a row",
        "store 1 A; store 2 B; store 3 C :: writeback; writeback; writeback",
    ),
]


def measure(
    designs: list[tuple[str, type[Design]]], scenarios: list[tuple[str, str]]
) -> list[tuple[str, str, ReclaimCost, float]]:
    rows = []
    for title, text in scenarios:
        for label, design in designs:
            started = time.perf_counter()
            cost = reclaim_costs(design, text, name=label)
            rows.append((title, text, cost, time.perf_counter() - started))
    return rows


def table(rows: list[tuple[str, str, ReclaimCost, float]]) -> str:
    out = []
    header = (
        f"  {'design':24} {'reclaims that freed frames':52} {'reclaims that freed none':44} "
        f"{'states':>6} {'s':>5}"
    )
    last = None
    for title, text, cost, seconds in rows:
        if text != last:
            out += ["", f"{title}: {text}", header]
            last = text
        barren = "not logged" if cost.frees_only else describe(cost.barren)
        if cost.hollow:
            n = sum(cost.hollow.values())
            barren += f" ({n} said freed)"
        flags = f"  [{', '.join(sorted(cost.violations))}]" if cost.violations else ""
        if not cost.exhaustive:
            flags += "  (bounded)"
        out.append(
            f"  {cost.design:24} {describe(cost.freeing):52} {barren:44} "
            f"{cost.quiescent:6d} {seconds:5.1f}{flags}"
        )
    out += [
        "",
        "entries -> frames xN: N reclaims wrote back that many entries and freed that many",
        "frames; states: quiescent states the exhaustive (cached DFS) search reached;",
        "(n said freed): n of those reclaims returned success although no frame was freed;",
        "[..]: violations found on the way.",
    ]
    return "\n".join(out)


def as_json(rows: list[tuple[str, str, ReclaimCost, float]]) -> dict[str, Any]:
    return {
        "rows": [
            {
                "scenario": text,
                "design": cost.design,
                "freeing": [[e, f, n] for (e, f), n in sorted(cost.freeing.items())],
                "barren": None
                if cost.frees_only
                else [[e, f, n] for (e, f), n in sorted(cost.barren.items())],
                "reported_success_freed_none": [
                    [e, f, n] for (e, f), n in sorted(cost.hollow.items())
                ],
                "quiescent_states": cost.quiescent,
                "executions": cost.executions,
                "exhaustive": cost.exhaustive,
                "violations": sorted(cost.violations),
                "seconds": round(seconds, 3),
            }
            for _title, text, cost, seconds in rows
        ]
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args(argv)
    rows = measure(DESIGNS, SCENARIOS)
    print(json.dumps(as_json(rows), indent=2) if args.json else table(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
