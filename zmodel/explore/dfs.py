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

from collections.abc import Callable

from zmodel.explore.drive import DEFAULT_MAX_STEPS, Search, drive, found
from zmodel.explore.program import Program
from zmodel.explore.result import Choice, ModelFailure, Result
from zmodel.explore.subtree import WHOLE, Subtree, shared_cache
from zmodel.runtime import Executor, ModelError, Violation


class _DFS(Search):
    """The search of :func:`explore_dfs`, run by :func:`~zmodel.explore.drive.drive`."""

    def __init__(
        self,
        program: Program,
        cache: bool,
        max_steps: int,
        max_preemptions: int | None,
        on_end: Callable[[Executor], None] | None,
        subtree: Subtree,
    ) -> None:
        name = "dfs-cached" if cache else "dfs"
        super().__init__(program, name, max_steps, max_preemptions, on_end, subtree)
        self.visited: dict[object, int] | None = None
        if cache:
            self.visited = {} if max_preemptions is not None else shared_cache("dfs", dict)
        # The DFS stack: per depth, the options at that scheduling point, the
        # index of the one the current run takes, and (all zero when unbounded)
        # the preemptions each option costs.  A subtree's prefix points have one
        # option each, so backtracking never moves them.
        self.options_stack: list[list[Choice]] = [[c] for c in subtree.prefix]
        self.index_stack: list[int] = [0] * subtree.base
        self.cost_stack: list[list[int]] = [[0] for _ in subtree.prefix]

    def run(self, div: int) -> None:
        """Replay the current prefix (``div`` is its last point), then extend it."""
        stats = self.result.stats
        visited, bound = self.visited, self.bound
        prefix = [opts[i] for opts, i in zip(self.options_stack, self.index_stack, strict=True)]
        ex = self.program()
        schedule: list[Choice] = []
        at_end = cut = False
        try:
            for tid, outcome in prefix:
                # Recorded before it runs: the prefix ends with the sibling choice just
                # backtracked to, which runs here for the first time and may violate.
                schedule.append((tid, outcome))
                ex.step(tid, outcome)
            stats.transitions += len(prefix)
            depth = len(prefix)
            used = sum(c[i] for c, i in zip(self.cost_stack, self.index_stack, strict=True))
            last = prefix[-1][0] if prefix else None
            while True:
                enabled = ex.enabled()
                at_end = not enabled
                if self.ended(ex, enabled, depth):
                    break
                if visited is not None:
                    key: object = ex.fingerprint()
                    if bound is not None:
                        key = (key, last, bound - used)
                    remaining = self.max_steps - depth
                    if visited.get(key, -1) >= remaining:
                        cut = True
                        break
                    visited[key] = remaining
                opts = [(t, k) for t in enabled for k in range(ex.outcomes(t))]
                costs = [_cost(last, t, enabled) for t, _ in opts]
                if bound is not None and used + max(costs) > bound:
                    keep = [i for i, c in enumerate(costs) if used + c <= bound]
                    self.preemption_cuts += len(opts) - len(keep)
                    opts = [opts[i] for i in keep]
                    costs = [costs[i] for i in keep]
                self.options_stack.append(opts)
                self.index_stack.append(0)
                self.cost_stack.append(costs)
                used += costs[0]
                choice = opts[0]
                last = choice[0]
                schedule.append(choice)
                ex.step(*choice)
                stats.transitions += 1
                depth += 1
        except Violation as v:
            self.result.violations.append(found(v, schedule, ex, at_end))
        except ModelError as err:
            raise ModelFailure.of(err, schedule, ex.trace)  # noqa: B904 - .of sets the cause
        if self.on_end is None:  # else the hook may have kept the run
            ex.discard()
        if cut:
            stats.cut += 1
        else:
            stats.executions += 1

    def backtrack(self) -> int | None:
        """Move to the deepest scheduling point with an untried option."""
        index_stack, options_stack = self.index_stack, self.options_stack
        while index_stack and index_stack[-1] + 1 >= len(options_stack[-1]):
            index_stack.pop()
            options_stack.pop()
            self.cost_stack.pop()
        if not index_stack:
            return None
        index_stack[-1] += 1
        return len(index_stack) - 1

    def depth(self) -> int:
        return len(self.index_stack)

    def levels(self) -> list[tuple[float, int]]:
        return [(i, len(o)) for o, i in zip(self.options_stack, self.index_stack, strict=True)]

    def cache_size(self) -> int | None:
        return None if self.visited is None else len(self.visited)


def explore_dfs(
    program: Program,
    *,
    cache: bool = True,
    max_steps: int = DEFAULT_MAX_STEPS,
    stop_on_first: bool = True,
    time_limit: float | None = None,
    max_preemptions: int | None = None,
    on_end: Callable[[Executor], None] | None = None,
    subtree: Subtree = WHOLE,
) -> Result:
    """Run every schedule (with ``cache``, every schedule from each new state).

    ``max_preemptions`` keeps only schedules with at most that many preemptions
    (switching away from a thread that is still enabled); the cache key then
    holds the preemptions left and the running thread.  ``on_end`` is called with
    the executor at every quiescent state (all threads finished, or none can
    move), before the end-state checks.
    """
    search = _DFS(program, cache, max_steps, max_preemptions, on_end, subtree)
    result = drive(search, stop_on_first=stop_on_first, time_limit=time_limit)
    result.options = {"cache": cache, **result.options}
    return result


def _cost(last: int | None, tid: int, enabled: list[int]) -> int:
    """1 if running ``tid`` preempts ``last`` (a non-setup thread still enabled)."""
    return int(last is not None and last != 0 and tid != last and last in enabled)
