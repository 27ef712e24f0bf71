"""The loop the DPOR engines share: run, backtrack, stop at a violation or the clock.

A search object keeps its own stack and knows how to run one execution from a
divergence depth and where the next one diverges; this loop calls the two in
turn and turns what the search counted into the result's honest bounds.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from typing import Protocol

from zmodel.explore import progress
from zmodel.explore.result import Result


class Search(Protocol):
    result: Result
    step_cuts: int

    def run(self, div: int) -> None: ...

    def backtrack(self) -> int | None: ...

    def depth(self) -> int:
        """Scheduling points on the backtrack stack."""
        ...

    def levels(self) -> Iterable[tuple[float, int]]:
        """Per point of the stack: branches done before the current one, branches known."""
        ...

    def cache_size(self) -> int | None: ...


def drive(
    search: Search, *, max_steps: int, stop_on_first: bool, time_limit: float | None
) -> Result:
    """Run ``search`` to the end (or the first violation, or ``time_limit`` seconds)."""
    result = search.result
    started = time.perf_counter()
    div: int | None = 0
    progress.started(result)
    while div is not None:
        search.run(div)
        progress.executed(result, search.depth(), search.levels, search.cache_size())
        if result.violations and stop_on_first:
            break
        if time_limit is not None and time.perf_counter() - started > time_limit:
            result.cut(f"time limit {time_limit:g}s")
            break
        div = search.backtrack()
    result.stats.seconds = time.perf_counter() - started
    if search.step_cuts:
        result.cut(f"step bound {max_steps} cut {search.step_cuts} run(s)")
    return result
