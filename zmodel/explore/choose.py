"""The default unbounded search: cached source-DPOR, or optimal DPOR where the cache
does not pay.

Neither engine wins everywhere.  On the zswap suites many traces meet in one
state (two threads bumping a counter under a lock, in either order), and source-DPOR
with its state cache (:mod:`zmodel.explore.dpor_cache`) stops there; optimal DPOR
has no cache and runs every one of those traces to its end (on zswap-3.11's
``load 1 | writeback`` cached source-DPOR takes 100 runs and 10 k transitions, 0.5
CPU-s; optimal DPOR had not finished after 10 CPU-s, 1,695 runs and 0.76 M
transitions).  On lastzero no explored state is met again where threads may
interleave, the cache never hits, and source-DPOR wastes runs that end with every
enabled thread asleep (lastzero(10): 20,195 runs for 3,328 traces, 20 CPU-s) where
optimal DPOR runs one per trace (3.5 CPU-s).

So the search starts as cached source-DPOR and keeps it once :data:`PROBE_HITS`
runs have stopped at a cached state; if :data:`PROBE_RUNS` runs end with fewer, the
cache is not paying and the search starts again as optimal DPOR.  Measured with
the probe's figures (runs stopped at a hit, of the first 64): every zswap suite
scenario that outlasts the probe has 6 to 43 (6.12's alloc-failures the fewest),
and there cached source-DPOR wins by far (3.13's swapoff-vs-writeback: 533 runs,
2.1 CPU-s, where optimal DPOR had not finished in 43 CPU-s); lastzero(5) and
lastzero(6), whose loads and stores have known footprints, have 3 and 2, against 13
and 8 runs that end with every enabled thread asleep, and optimal DPOR runs half as
many; lastzero(7) and up, none.  A lone early hit is a poorer sign than the waste
around it.  The probe's runs are
thrown away (their transitions still count in the figures; ``on_end`` sees their
end states too); both engines are exhaustive and sound on their own (each is
checked against plain enumeration), so the choice never changes a verdict, only
which schedule of a violation is found first.  A search that ends or stops at a
violation within the probe is what cached source-DPOR reports.  (Optimal DPOR
that goes on after a violation starts again halting-safe at the first run that
halts, :mod:`zmodel.explore.halting_safe`.)
"""

from __future__ import annotations

import time

from zmodel.explore.dpor import explore_dpor
from zmodel.explore.drive import DEFAULT_MAX_STEPS, EndHook
from zmodel.explore.optimal_dpor import explore_optimal_dpor
from zmodel.explore.program import Program
from zmodel.explore.result import Result

#: Runs of cached source-DPOR before the choice is made.
PROBE_RUNS = 64
#: Runs stopped at a cached state within the probe that keep the cache.
PROBE_HITS = 4


class _Switch(Exception):  # noqa: N818 - control flow, not an error
    def __init__(self, probe: Result) -> None:
        super().__init__("switch to optimal DPOR")
        self.probe = probe


def chosen(probe: Result, probe_runs: int) -> str | None:
    """The engine the runs so far choose: ``dpor-cached`` once :data:`PROBE_HITS`
    runs stopped at a cache hit, ``odpor`` after ``probe_runs`` runs with fewer,
    else None (not yet)."""
    stats = probe.stats
    if stats.cut >= PROBE_HITS:
        return "dpor-cached"
    return "odpor" if stats.executions + stats.cut >= probe_runs else None


class _Chosen(Exception):  # noqa: N818 - control flow, not an error
    def __init__(self, engine: str) -> None:
        super().__init__(engine)
        self.engine = engine


def choose_engine(
    program: Program, *, max_steps: int, stop_on_first: bool, time_limit: float | None,
    on_end: EndHook | None, probe_runs: int = PROBE_RUNS, whole_runs: int = 0,
) -> Result | str:  # fmt: skip
    """The choice :func:`explore_default` makes, made alone (a parallel search makes it
    before it splits): the whole search's result if it ends within the probe, else
    the engine chosen.  With ``whole_runs``, a search that keeps the cache goes on as
    :func:`explore_default` goes on, and is that whole result if it ends within
    ``whole_runs`` runs."""

    def choose(result: Result) -> None:
        choice = chosen(result, probe_runs)
        runs = result.stats.executions + result.stats.cut
        if choice == "odpor" or (choice == "dpor-cached" and runs >= whole_runs):
            raise _Chosen(choice)

    try:
        return explore_dpor(
            program, max_steps=max_steps, stop_on_first=stop_on_first, time_limit=time_limit,
            on_end=on_end, after_run=choose,
        )  # fmt: skip
    except _Chosen as choice:
        return choice.engine


def explore_default(
    program: Program,
    *,
    max_steps: int = DEFAULT_MAX_STEPS,
    stop_on_first: bool = True,
    time_limit: float | None = None,
    on_end: EndHook | None = None,
    cache_mb: int | None = None,
    probe_runs: int = PROBE_RUNS,
) -> Result:
    """Explore every trace of ``program`` with the engine its first runs favour."""
    started = time.perf_counter()
    decided = False

    def choose(result: Result) -> None:
        nonlocal decided
        if decided:
            return
        choice = chosen(result, probe_runs)
        if choice == "dpor-cached":
            decided = True  # the cache pays: keep it
        elif choice == "odpor":
            raise _Switch(result)

    try:
        result = explore_dpor(
            program,
            max_steps=max_steps,
            stop_on_first=stop_on_first,
            time_limit=time_limit,
            on_end=on_end,
            cache_mb=cache_mb,
            after_run=choose,
        )
    except _Switch as switch:
        probe = switch.probe
    else:
        result.options["chosen"] = "dpor-cached"
        return result
    spent = time.perf_counter() - started
    left = None if time_limit is None else max(time_limit - spent, 1e-3)
    result = explore_optimal_dpor(
        program, max_steps=max_steps, stop_on_first=stop_on_first, time_limit=left, on_end=on_end
    )
    result.stats.transitions += probe.stats.transitions
    result.stats.seconds = time.perf_counter() - started
    result.options["chosen"] = "odpor"
    result.options["probe"] = (
        f"{probe.stats.executions + probe.stats.cut} runs of cached source-DPOR,"
        f" {probe.stats.cut} stopped at a cache hit (fewer than {PROBE_HITS})"
        f" ({probe.stats.pruned} with every enabled thread asleep)"
    )
    return result
