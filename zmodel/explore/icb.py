"""Iterative context bounding: preemption-bounded DPOR with the bound raised 0, 1, ...

Most concurrency bugs need few preemptions (Musuvathi and Qadeer, PLDI 2007), and
a search with a small bound is much smaller than the full one.  This runs
:func:`~zmodel.explore.dpor.explore_dpor` with ``max_preemptions`` = 0, 1, ...,
``max_bound`` and stops at the first bound that finds a violation, or at the
first bound that skipped nothing (that search was complete, so the result is
exhaustive and the verdict may be PASS).  Otherwise the last result stands, with
``"max preemptions N"`` in its bounds and the verdict NO VIOLATION WITHIN BOUNDS.

The figures reported are the sums over every round run (the work really done).
"""

from __future__ import annotations

from zmodel.explore.dpor import explore_dpor
from zmodel.explore.drive import DEFAULT_MAX_STEPS, EndHook
from zmodel.explore.program import Program
from zmodel.explore.result import Result, Stats


def explore_icb(
    program: Program,
    *,
    max_bound: int,
    max_steps: int = DEFAULT_MAX_STEPS,
    stop_on_first: bool = True,
    time_limit: float | None = None,
    on_end: EndHook | None = None,
) -> Result:
    if max_bound < 0:
        raise ValueError("max_bound must be >= 0")
    total = Stats()
    result: Result | None = None
    for bound in range(max_bound + 1):
        result = explore_dpor(
            program,
            max_steps=max_steps,
            max_preemptions=bound,
            stop_on_first=stop_on_first,
            time_limit=time_limit,
            on_end=on_end,
        )
        total.executions += result.stats.executions
        total.transitions += result.stats.transitions
        total.seconds += result.stats.seconds
        total.pruned += result.stats.pruned
        total.cut += result.stats.cut
        skipped = any(b.startswith("max preemptions") for b in result.bounds)
        if result.violations or not skipped:
            break
    assert result is not None
    result.engine = "dpor-icb"
    result.options = {**result.options, "icb_rounds": bound + 1, "max_bound": max_bound}
    result.stats = total
    return result
