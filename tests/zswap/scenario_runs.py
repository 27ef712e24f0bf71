"""Helpers for the swap-layer tests: what a scenario violates, what its runs end in."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from zmodel.explore import explore_dfs, explore_dpor
from zmodel.harness import build_program
from zmodel.runtime import Executor
from zmodel.zswap.designs import resolve_design
from zmodel.zswap.scenario import parse_scenario


def violated(design: str, scenario: str) -> set[str]:
    """Every property an exhaustive search of ``scenario`` finds violated."""
    program = build_program(resolve_design(design), parse_scenario(scenario))
    result = explore_dpor(program, stop_on_first=False)
    assert result.exhaustive
    return {f.prop for f in result.violations}


def covered(design: str, scenario: str) -> set[str]:
    """The labels the concurrent threads execute over an exhaustive search."""
    coverage: set[str] = set()
    program = build_program(resolve_design(design), parse_scenario(scenario), coverage)
    assert explore_dpor(program, stop_on_first=False).exhaustive
    return coverage


def end_states(design: str, scenario: str, view: Callable[[Executor], Any]) -> set[Any]:
    """``view`` of the end state of every run (plain DFS, so every run is seen)."""
    seen: set[Any] = set()
    program = build_program(resolve_design(design), parse_scenario(scenario))
    explore_dfs(program, on_end=lambda ex: seen.add(view(ex)), stop_on_first=False)
    return seen


def only_slot(ex: Executor) -> dict[str, Any]:
    """The fields of the scenario's one swap slot at the end of a run."""
    (obj,) = (o for o in ex.heap.objects.values() if o.kind == "swap_slot")
    return obj.fields


def live(ex: Executor, kind: str) -> int:
    """How many objects of ``kind`` are allocated and not freed."""
    return sum(1 for o in ex.heap.objects.values() if o.kind == kind and not o.freed)
