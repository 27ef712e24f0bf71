"""Randomised engines: uniform random walk and PCT.

Both run many independent executions from the initial state, each driven to its
end by a randomised scheduler, and stop at the first violation (or collect one
per distinct violation with ``all_violations``).  They explore a sample, not the
space: a run that finds nothing says ``NO VIOLATION WITHIN BOUNDS``, never
``PASS`` (design.md, soundness rule 3), and the bound it ran under (runs, time,
and for PCT the per-run probability guarantee) is reported.

Random walk.  At every scheduling point, an enabled thread uniformly at random,
then an outcome of its step uniformly at random.  Cheap and unbiased per step,
but a bug that needs one thread to run a long stretch without interruption is
found with probability exponentially small in that stretch's length.

PCT (Burckhardt, Kothari, Musuvathi, Nagarakatte, "A randomized scheduler with
probabilistic guarantees of finding bugs", ASPLOS 2010).  Each of the ``n``
concurrent threads gets a distinct random initial priority in ``d .. d+n-1``;
``d-1`` priority change points are drawn uniformly from the ``k`` steps of a run.
At every step the highest-priority enabled thread runs; at the ``j``-th change
point the thread that would run next is first demoted to priority ``d-j``, below
every initial priority and every earlier demotion, so a change point is a
preemption placed at a random step.  A bug of depth ``d`` (one that needs ``d``
ordering constraints between steps) is then hit by each run with probability at
least ``1/(n * k^(d-1))``, the figure the engine reports.  Because the
guarantee counts preemptions instead of interleavings, bugs that need one or
two well-placed preemptions inside long runs (the 2013 leak needs one) are
found in tens or hundreds of runs where a random walk needs many more.

``k`` is the number of steps of the concurrent threads (the setup, thread 0,
always runs alone first and has no scheduling choices), estimated as the
maximum over a few warm-up runs (random priorities, no change points: depth-1
PCT runs, checked like any other) and raised whenever a later run is longer.
The bound is computed from the final ``k``.  Nondeterministic outcomes
(allocation failures) are drawn uniformly; the PCT guarantee is then
conditional on drawing the outcomes the bug needs.
"""

from __future__ import annotations

import math
import random
import time
from collections.abc import Callable
from dataclasses import dataclass

from zmodel.explore import progress
from zmodel.explore.drive import found
from zmodel.explore.program import Program
from zmodel.explore.result import Choice, Found, ModelFailure, Result
from zmodel.runtime import Executor, ModelError, Violation

DEFAULT_RUNS = 1000
DEFAULT_DEPTH = 2
WARMUP_RUNS = 5

#: Picks the thread to run next: (executor, enabled threads, concurrent steps so far).
Picker = Callable[[Executor, list[int], int], int]
#: Picks the outcome of a step that has several: (thread, number of outcomes).
OutcomePicker = Callable[[int, int], int]


@dataclass
class Run:
    """One randomised execution."""

    schedule: list[Choice]
    violation: Found | None
    concurrent_steps: int  # steps of threads other than the setup
    cut: bool  # the step bound ended the run early
    choices: int = 0  # scheduling points with more than one option


def run_once(program: Program, pick: Picker, outcome_of: OutcomePicker, max_steps: int) -> Run:
    """Drive one execution: ``pick`` chooses threads, ``outcome_of`` outcomes.

    Neither is asked when there is nothing to choose (one enabled thread, one
    outcome), so a randomised driver spends its choices only where they matter.
    """
    ex = program()
    schedule: list[Choice] = []
    concurrent = choices = 0
    at_end = False
    try:
        while True:
            if ex.finished():
                at_end = True
                ex.check_end()
                break
            enabled = ex.enabled()
            if not enabled:
                at_end = True
                ex.check_deadlock()
            if len(schedule) >= max_steps:
                return Run(schedule, None, concurrent, True, choices)
            tid = enabled[0] if len(enabled) == 1 else pick(ex, enabled, concurrent)
            n_out = ex.outcomes(tid)
            outcome = outcome_of(tid, n_out) if n_out > 1 else 0
            choices += len(enabled) > 1 or n_out > 1
            schedule.append((tid, outcome))
            if tid != 0:
                concurrent += 1
            ex.step(tid, outcome)
    except Violation as v:
        return Run(schedule, found(v, schedule, ex, at_end), concurrent, False, choices)
    except ModelError as err:
        raise ModelFailure(str(err), schedule, ex.trace) from err
    return Run(schedule, None, concurrent, False, choices)


def pct_bound(n: int, k: int, depth: int) -> float:
    """PCT's per-run lower bound on hitting a depth-``depth`` bug: ``1/(n*k^(d-1))``.

    Computed in logs: a deep bound underflows to 0.0 instead of overflowing."""
    return math.exp(-(math.log(max(n, 1)) + (depth - 1) * math.log(max(k, 1))))


class PctScheduler:
    """One PCT run's priorities and change points (Burckhardt et al., Algorithm 1)."""

    def __init__(self, n: int, k: int, depth: int, rng: random.Random) -> None:
        self.depth = depth
        initial = list(range(depth, depth + n))
        rng.shuffle(initial)
        # Thread 0 is the setup: it runs alone, its priority never matters.
        self.priority = {tid + 1: p for tid, p in enumerate(initial)}
        # Change points are 1-based indices of concurrent steps.  Distinct
        # points, as in the paper; with fewer steps than points some coincide
        # with the end and simply never fire.
        points = rng.sample(range(1, k + 1), min(depth - 1, k))
        self.change = {step: j + 1 for j, step in enumerate(points)}

    def pick(self, ex: Executor, enabled: list[int], done: int) -> int:
        best = max(enabled, key=self.priority.__getitem__)
        j = self.change.get(done + 1)
        if j is not None:
            self.priority[best] = self.depth - j
            best = max(enabled, key=self.priority.__getitem__)
        return best


def _uniform(rng: random.Random) -> Picker:
    def pick(ex: Executor, enabled: list[int], done: int) -> int:
        return rng.choice(enabled)

    return pick


def _random_outcome(rng: random.Random) -> OutcomePicker:
    def outcome_of(tid: int, n_out: int) -> int:
        return rng.randrange(n_out)

    return outcome_of


class _Search:
    """The loop both engines share: runs, bounds, violations and figures."""

    def __init__(
        self,
        engine: str,
        runs: int,
        max_steps: int,
        all_violations: bool,
        time_limit: float | None,
    ) -> None:
        self.result = Result(engine=engine, exhaustive=False)
        self.runs = runs
        self.max_steps = max_steps
        self.all_violations = all_violations
        self.time_limit = time_limit
        self.started = time.perf_counter()
        self.cuts = 0
        self.seen: dict[tuple[str, str], int] = {}
        self.first_found_at: int | None = None
        self.single = False  # the first run met no choice: every run would repeat it
        progress.started(self.result)

    def done(self) -> bool:
        """Whether to stop before the next run."""
        if self.single or (self.result.violations and not self.all_violations):
            return True
        if self.result.stats.executions >= self.runs:
            return True
        elapsed = time.perf_counter() - self.started
        return self.time_limit is not None and elapsed > self.time_limit

    def record(self, run: Run) -> None:
        stats = self.result.stats
        stats.executions += 1
        stats.transitions += len(run.schedule)
        self.cuts += run.cut
        self.single = stats.executions == 1 and run.choices == 0 and not run.cut
        # The part done is the runs done of the runs asked for.
        progress.executed(self.result, len(run.schedule), lambda: [(stats.executions, self.runs)])
        v = run.violation
        if v is None:
            return
        if self.first_found_at is None:
            self.first_found_at = stats.executions
        # Keep one counterexample per distinct violation, the shortest seen.
        key = (v.prop, v.message)
        at = self.seen.get(key)
        if at is None:
            self.seen[key] = len(self.result.violations)
            self.result.violations.append(v)
        elif len(v.schedule) < len(self.result.violations[at].schedule):
            self.result.violations[at] = v

    def finish(self, options: dict[str, object]) -> Result:
        result = self.result
        stats = result.stats
        stats.seconds = time.perf_counter() - self.started
        if self.single:
            # Still not PASS: the verdict of a randomised engine never is.
            result.bounds.append("a single schedule (no choice point): ran it once")
        else:
            result.bounds.append(f"randomised: {stats.executions} run(s), limit {self.runs}")
        if self.time_limit is not None and stats.executions < self.runs and not result.violations:
            result.bounds.append(f"time limit {self.time_limit:g}s")
        if self.cuts:
            result.bounds.append(f"step bound {self.max_steps} cut {self.cuts} run(s)")
        result.options = {**options, "runs": self.runs, "max_steps": self.max_steps}
        result.options["runs_done"] = stats.executions
        result.options["found_at_run"] = self.first_found_at
        return result


def explore_random(
    program: Program,
    *,
    runs: int = DEFAULT_RUNS,
    seed: int | None = None,
    max_steps: int = 400,
    all_violations: bool = False,
    time_limit: float | None = None,
) -> Result:
    """Uniform random walk over schedules and outcomes, ``runs`` times."""
    seed = _seed(seed)
    rng = random.Random(seed)
    search = _Search("random", runs, max_steps, all_violations, time_limit)
    pick = _uniform(rng)
    while not search.done():
        search.record(run_once(program, pick, _random_outcome(rng), max_steps))
    return search.finish({"seed": seed})


def explore_pct(
    program: Program,
    *,
    depth: int = DEFAULT_DEPTH,
    runs: int = DEFAULT_RUNS,
    seed: int | None = None,
    max_steps: int = 400,
    all_violations: bool = False,
    time_limit: float | None = None,
    warmup: int = WARMUP_RUNS,
) -> Result:
    """PCT with bug depth ``depth``; ``k`` is estimated from ``warmup`` runs."""
    if depth < 1:
        raise ValueError("PCT depth must be at least 1")
    seed = _seed(seed)
    rng = random.Random(seed)
    search = _Search("pct", runs, max_steps, all_violations, time_limit)
    n = max(program().thread_count - 1, 1)
    k = 1
    while not search.done():
        # Warm-up runs are PCT runs without change points (depth 1).
        d = 1 if search.result.stats.executions < warmup else depth
        sched = PctScheduler(n, k, d, rng)
        run = run_once(program, sched.pick, _random_outcome(rng), max_steps)
        k = max(k, run.concurrent_steps)
        search.record(run)
    bound = pct_bound(n, k, depth)
    result = search.finish({"seed": seed, "depth": depth, "n": n, "k": k, "warmup": warmup})
    result.options["bound_per_run"] = bound
    # The chance that every one of the PCT runs missed a depth-d bug is at most
    # (1 - bound)^runs; reported as a figure, not a verdict.
    pct_runs = max(result.stats.executions - warmup, 0)
    result.options["miss_probability"] = (1.0 - bound) ** pct_runs
    result.bounds.append(
        f"PCT depth {depth}: n={n} threads, k={k} steps, per-run bound "
        f"1/(n*k^(d-1)) = 1/{_inverse(bound)} over {pct_runs} PCT run(s)"
    )
    return result


def _inverse(p: float) -> str:
    if p <= 0:
        return "inf"
    return f"{round(1 / p):,}" if p > 1e-12 else f"{1 / p:.3g}"


def _seed(seed: int | None) -> int:
    # An unseeded search still reports the seed it used, so it can be re-run.
    return seed if seed is not None else random.SystemRandom().randrange(2**32)


def preemptions(schedule: list[Choice], enabled_at: list[list[int]]) -> int:
    """Preemptions of a schedule, given the enabled threads before each step."""
    count = 0
    last: int | None = None
    for (tid, _), enabled in zip(schedule, enabled_at, strict=True):
        if last is not None and last != 0 and tid != last and last in enabled:
            count += 1
        last = tid
    return count


def count_preemptions(program: Program, schedule: list[Choice]) -> int:
    """Re-run ``schedule`` and count its preemptions (switches away from an enabled thread)."""
    ex = program()
    enabled_at: list[list[int]] = []
    for tid, outcome in schedule:
        enabled_at.append(ex.enabled())
        try:
            ex.step(tid, outcome)
        except Violation:
            break
    return preemptions(schedule[: len(enabled_at)], enabled_at)


__all__ = [
    "DEFAULT_DEPTH",
    "DEFAULT_RUNS",
    "OutcomePicker",
    "PctScheduler",
    "Picker",
    "Run",
    "count_preemptions",
    "explore_pct",
    "explore_random",
    "pct_bound",
    "preemptions",
    "run_once",
]
