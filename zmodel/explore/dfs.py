"""Exhaustive depth-first search over every schedule, with an optional state cache.

Runs are stateless in the sense of VeriSoft and CHESS: a Python generator cannot
be copied, so to explore a sibling branch the engine re-runs the model from its
initial state along the branch's prefix, then continues from there.  The search
tree's nodes are scheduling points; the edges out of a node are every
``(thread, outcome)`` pair enabled there, so nondeterministic outcomes (an
allocation that fails) are explored exactly like thread choices.

The state cache (``cache=True``) prunes a run when it reaches a state whose
fingerprint was already expanded with at least as much of the step budget left.
Keeping the budget in the key is what makes caching sound under the step bound
(design.md, rule 4): a state first met deep in a run, with little budget left,
must be expanded again when met with more.  Without a bound being hit, the
pruned subtree was, or is being, explored in full from the same state, so no
violation is lost.

Every property this engine checks is either checked inside a step (lifetime
faults, BUG_ON, stale data at a load) or at quiescence, so pruning on equal
states is sound for all of them.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from zmodel.explore import progress
from zmodel.explore.program import Program
from zmodel.explore.result import Choice, Found, ModelFailure, Result
from zmodel.runtime import Executor, ModelError, Violation

DEFAULT_MAX_STEPS = 400


def explore_dfs(
    program: Program,
    *,
    cache: bool = True,
    max_steps: int = DEFAULT_MAX_STEPS,
    stop_on_first: bool = True,
    time_limit: float | None = None,
    max_preemptions: int | None = None,
    on_end: Callable[[Executor], None] | None = None,
) -> Result:
    """Run every schedule (with ``cache``, every schedule from each new state).

    ``max_preemptions`` keeps only schedules with at most that many preemptions
    (switching away from a thread that is still enabled); the cache key then
    holds the preemptions left and the running thread.  ``on_end`` is called with
    the executor at every quiescent state (all threads finished, or none can
    move), before the end-state checks.
    """
    result = Result(engine="dfs-cached" if cache else "dfs")
    stats = result.stats
    visited: dict[object, int] = {}
    # The DFS stack: per depth, the options at that scheduling point and the
    # index of the one the current run takes.
    options_stack: list[list[Choice]] = []
    index_stack: list[int] = []
    # Per depth and option, the preemptions it costs (all zero when unbounded).
    cost_stack: list[list[int]] = []
    bound_hits = 0
    preemption_cuts = 0
    started = time.perf_counter()
    progress.started(result)

    def levels() -> list[tuple[float, int]]:
        return [(i, len(o)) for o, i in zip(options_stack, index_stack, strict=True)]

    while True:
        prefix = [opts[i] for opts, i in zip(options_stack, index_stack, strict=True)]
        ex = program()
        schedule: list[Choice] = []
        at_end = False
        try:
            for tid, outcome in prefix:
                # Recorded before it runs: the prefix ends with the sibling choice just
                # backtracked to, which runs here for the first time and may violate.
                schedule.append((tid, outcome))
                ex.step(tid, outcome)
            stats.transitions += len(prefix)
            depth = len(prefix)
            used = sum(c[i] for c, i in zip(cost_stack, index_stack, strict=True))
            last = prefix[-1][0] if prefix else None
            while True:
                if ex.finished():
                    at_end = True
                    if on_end is not None:
                        on_end(ex)
                    ex.check_end()
                    break
                enabled = ex.enabled()
                if not enabled:
                    at_end = True
                    if on_end is not None:
                        on_end(ex)
                    ex.check_deadlock()
                if depth >= max_steps:
                    bound_hits += 1
                    break
                if cache:
                    key: object = ex.fingerprint()
                    if max_preemptions is not None:
                        key = (key, last, max_preemptions - used)
                    remaining = max_steps - depth
                    if visited.get(key, -1) >= remaining:
                        stats.pruned += 1
                        break
                    visited[key] = remaining
                opts = [(t, k) for t in enabled for k in range(ex.outcomes(t))]
                costs = [_cost(last, t, enabled) for t, _ in opts]
                if max_preemptions is not None and used + max(costs) > max_preemptions:
                    keep = [i for i, c in enumerate(costs) if used + c <= max_preemptions]
                    preemption_cuts += len(opts) - len(keep)
                    opts = [opts[i] for i in keep]
                    costs = [costs[i] for i in keep]
                options_stack.append(opts)
                index_stack.append(0)
                cost_stack.append(costs)
                used += costs[0]
                choice = opts[0]
                last = choice[0]
                schedule.append(choice)
                ex.step(*choice)
                stats.transitions += 1
                depth += 1
        except Violation as v:
            result.violations.append(found(v, schedule, ex, at_end))
        except ModelError as err:
            raise ModelFailure(str(err), schedule, ex.trace) from err
        stats.executions += 1
        progress.executed(result, len(index_stack), levels, len(visited) if cache else None)
        if result.violations and stop_on_first:
            break
        if time_limit is not None and time.perf_counter() - started > time_limit:
            result.cut(f"time limit {time_limit:g}s")
            break
        # Backtrack to the deepest scheduling point with an untried option.
        while index_stack and index_stack[-1] + 1 >= len(options_stack[-1]):
            index_stack.pop()
            options_stack.pop()
            cost_stack.pop()
        if not index_stack:
            break
        index_stack[-1] += 1

    stats.seconds = time.perf_counter() - started
    stats.distinct_states = len(visited) if cache else None
    if bound_hits:
        result.cut(f"step bound {max_steps} cut {bound_hits} run(s)")
    if preemption_cuts:
        result.cut(f"max preemptions {max_preemptions} (skipped {preemption_cuts} branch(es))")
    result.options = {"cache": cache, "max_steps": max_steps, "max_preemptions": max_preemptions}
    return result


def _cost(last: int | None, tid: int, enabled: list[int]) -> int:
    """1 if running ``tid`` preempts ``last`` (a non-setup thread still enabled)."""
    return int(last is not None and last != 0 and tid != last and last in enabled)


def found(v: Violation, schedule: list[Choice], ex: Executor, at_end: bool) -> Found:
    """Package a violation; ``at_end`` marks an end-state or deadlock check."""
    trace = list(ex.trace)
    return Found(v.prop, v.message, list(schedule), trace, len(trace) if at_end else len(trace) - 1)


def quiesce(ex: Executor, on_end: Callable[[Executor], None] | None) -> None:
    """A run's end, where no thread can move: report the state, then check it
    (the end-state properties if every thread finished, else a deadlock)."""
    if on_end is not None:
        on_end(ex)
    if ex.finished():
        ex.check_end()
    else:
        ex.check_deadlock()
