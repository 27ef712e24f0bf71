"""The Hypothesis engine (``--engine hypothesis``): schedules, and scenarios, as test-case data.

A schedule is drawn in the relative encoding of :mod:`zmodel.explore.relative`
(one ``(switch, outcome)`` per step, 0 = keep running the current thread,
drawn run-length encoded), which the module documents with why it shrinks
to few preemptions.  :func:`hunt` runs one Hypothesis search: a test function
obtains the program (fixed, or built from a drawn scenario), drives one run
with the drawn choices, and raises for an interesting violation; Hypothesis
shrinks the failing draw, replays it last, and the run it replayed is the
result.  :func:`explore_hypothesis` is the engine over one program: the
shrunk run's absolute schedule is replayed with :mod:`zmodel.explore.replay`
into a :class:`~zmodel.explore.result.Found`, savable as a counterexample.

Generative use: :func:`hunt` takes a function that obtains the program from
the test case, so the same machinery draws a scenario first (see
``zmodel.zswap.strategies``) and then a schedule of it, and Hypothesis
shrinks both together, towards fewer threads and operations as well as fewer
preemptions.  The state machine over operations and steps is in
:mod:`zmodel.stateful`.

Settings profiles: ``ci`` (300 examples, derandomised: the same run every
time) and ``thorough`` (5,000, seeded).  ``seed`` makes any profile
reproducible.  The example database is off: a found violation is kept as a
counterexample file instead, which replays on its own.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Generic, TypeVar, cast

import hypothesis
from hypothesis import HealthCheck, Phase, Verbosity, given, settings
from hypothesis import strategies as st
from hypothesis.errors import Flaky, Unsatisfiable

from zmodel.explore import progress
from zmodel.explore.program import Program
from zmodel.explore.randomwalk import Run, count_preemptions, run_once
from zmodel.explore.relative import (
    RelativeDriver,
    RelChoice,
    candidates,
    decision_points,
    preemptions_of,
    to_absolute,
    to_relative,
)
from zmodel.explore.replay import replay
from zmodel.explore.result import Found, Result

T = TypeVar("T")


_BASE = settings(
    deadline=None,
    database=None,
    verbosity=Verbosity.quiet,
    report_multiple_bugs=False,
    print_blob=False,
    # A run of the model is slow by Hypothesis's standards and draws a lot of
    # data; that is the nature of the test, not a mistake in it.
    suppress_health_check=list(HealthCheck),
    # No "explain" phase: it re-runs the failing example hundreds of times to
    # say which draws could vary, which for a schedule costs more than the whole
    # search and says less than the swimlanes of the counterexample do.
    phases=[Phase.explicit, Phase.reuse, Phase.generate, Phase.target, Phase.shrink],
)
PROFILES: dict[str, settings] = {
    "ci": settings(_BASE, max_examples=300, derandomize=True, stateful_step_count=20),
    "thorough": settings(_BASE, max_examples=5000, stateful_step_count=50),
}
DEFAULT_PROFILE = "ci"


def profile_settings(profile: str) -> settings:
    try:
        return PROFILES[profile]
    except KeyError:
        known = ", ".join(sorted(PROFILES))
        raise ValueError(f"unknown Hypothesis profile {profile!r} (known: {known})") from None


# -- hunting with Hypothesis --------------------------------------------------
class _Interesting(Exception):  # noqa: N818 - control flow out of the Hypothesis test
    """Raised inside the test function for a run Hypothesis should keep and shrink."""

    def __init__(self, subject: object, run: Run) -> None:
        super().__init__(run.violation.prop if run.violation else "?")
        self.subject = subject
        self.run = run


@dataclass
class Hunt(Generic[T]):
    """What one Hypothesis search saw, and the shrunk failure if it found one."""

    subject: T | None  # what the failing example ran (e.g. its scenario); None if nothing found
    run: Run | None
    examples: int
    transitions: int
    cuts: int  # runs the step bound cut short
    timed_out: bool
    seconds: float


def hunt(
    draw_program: Callable[[st.DataObject], tuple[T, Program]],
    *,
    profile: str = DEFAULT_PROFILE,
    seed: int | None = None,
    max_steps: int = 400,
    interesting: Callable[[str], bool] | None = None,
    time_limit: float | None = None,
    on_run: Callable[[T, Run], None] | None = None,
    max_examples: int | None = None,
) -> Hunt[T]:
    """Search for a run whose violation ``interesting(prop)`` accepts (any, if None).

    ``draw_program`` obtains the subject and its program from the test case,
    drawing from it if it likes (a scenario), or not (a fixed program).  The
    schedule is then drawn step by step in the relative encoding.  The returned
    run is the one Hypothesis shrank to and replayed last.  ``on_run`` sees
    every run (to note violations that are expected, say).  ``max_examples``
    overrides the profile's.
    """
    counts = {"examples": 0, "transitions": 0, "cuts": 0}
    started = time.perf_counter()
    timed_out = False
    # The last interesting run the test saw: Hypothesis only keeps a smaller
    # one, so this is the best it had when the time limit cut the search.
    latest: list[_Interesting] = []
    draws: dict[int, st.SearchStrategy[int]] = {}
    # Per subject (each generated scenario has its own), the gap span.  Keyed
    # by the subject, which must be hashable, so a run depends only on its data.
    spans: dict[object, int] = {}

    def draw_below(data: st.DataObject, n: int) -> int:
        strategy = draws.get(n)
        if strategy is None:
            strategy = draws[n] = st.integers(0, n - 1)
        return data.draw(strategy)

    def test(data: st.DataObject) -> None:
        nonlocal timed_out
        if time_limit is not None and time.perf_counter() - started > time_limit:
            timed_out = True
            hypothesis.reject()  # burns the remaining budget without running anything
        subject, program = draw_program(data)
        span = spans.get(subject)
        if span is None:
            # Half the decision points of the default run: over the suites'
            # known races, gaps up to half the run hit windows about twice as
            # often as gaps up to all of it, and no less often for bugs that
            # need one switch late in the run (measured with random draws).
            span = spans[subject] = max(decision_points(program, max_steps) // 2, 1)
        driver = RelativeDriver(lambda n: draw_below(data, n), span)
        run = run_once(program, driver.pick, driver.outcome, max_steps)
        counts["examples"] += 1
        counts["transitions"] += len(run.schedule)
        counts["cuts"] += run.cut
        if on_run is not None:
            on_run(subject, run)
        v = run.violation
        if v is not None and (interesting is None or interesting(v.prop)):
            hit = _Interesting(subject, run)
            latest[:] = [hit]
            raise hit

    conf = profile_settings(profile)
    if max_examples is not None:
        conf = settings(conf, max_examples=max_examples)
    if seed is not None:
        conf = settings(conf, derandomize=False)
    wrapped = given(st.data())(conf(test))
    if seed is not None:
        wrapped = hypothesis.seed(seed)(wrapped)
    subject: T | None = None
    failing: Run | None = None
    try:
        wrapped()
    except _Interesting as hit:
        # The subject came from draw_program, so it is a T; the exception cannot say so.
        subject, failing = cast(T, hit.subject), hit.run
    except Unsatisfiable:
        pass  # every example was rejected: the time limit hit before the first one
    except Flaky:
        # The clock is state outside the test case: once the time limit rejects
        # an example Hypothesis had seen draw further (while shrinking, or in
        # the final replay of the failure), it reports inconsistent data
        # generation.  That is the limit, not the model; anything else is.
        if not timed_out:
            raise
        if latest:
            subject, failing = cast(T, latest[0].subject), latest[0].run
    return Hunt(
        subject,
        failing,
        counts["examples"],
        counts["transitions"],
        counts["cuts"],
        timed_out,
        time.perf_counter() - started,
    )


def explore_hypothesis(
    program: Program,
    *,
    profile: str = DEFAULT_PROFILE,
    seed: int | None = None,
    max_steps: int = 400,
    all_violations: bool = False,
    time_limit: float | None = None,
) -> Result:
    """Hypothesis over the schedules of one program; the engine ``hypothesis``.

    With ``all_violations``, searches again for violations of other properties
    after each find, until a search finds nothing new.
    """
    if seed is None and not profile_settings(profile).derandomize:
        seed = random.SystemRandom().randrange(2**32)  # reported, so the run can be repeated
    result = Result(engine="hypothesis", exhaustive=False)
    stats = result.stats
    started = time.perf_counter()
    props: set[str] = set()
    preempts: list[int] = []
    searches = 0
    timed_out = cuts = False
    # The figures while Hypothesis runs (for --progress, and for Ctrl-C): every run
    # counts, the search's examples are the measure of the work done.
    live = Result(engine="hypothesis", exhaustive=False)
    budget = profile_settings(profile).max_examples
    progress.started(live)

    def tick(_subject: None, run: Run) -> None:
        live.stats.executions += 1
        live.stats.transitions += len(run.schedule)
        done = live.stats.executions - stats.executions  # of this search
        progress.executed(live, len(run.schedule), lambda: [(done, budget)])

    while True:
        remaining = None if time_limit is None else time_limit - (time.perf_counter() - started)
        h = hunt(
            lambda data: (None, program),
            profile=profile,
            seed=seed,
            max_steps=max_steps,
            interesting=lambda prop: prop not in props,
            time_limit=remaining,
            on_run=tick,
        )
        searches += 1
        stats.executions += h.examples
        stats.transitions += h.transitions
        timed_out |= h.timed_out
        cuts |= h.cuts > 0
        if h.run is None:
            break
        rep = replay(program, h.run.schedule)
        found = rep.violation
        if found is None:  # the model is deterministic; this would be a runtime bug
            raise RuntimeError("a Hypothesis-found schedule did not replay to its violation")
        result.violations.append(found)
        live.violations.append(found)
        props.add(found.prop)
        preempts.append(count_preemptions(program, found.schedule))
        if not all_violations:
            break

    stats.seconds = time.perf_counter() - started
    conf = profile_settings(profile)
    result.bounds.append(
        f"Hypothesis profile {profile}: {stats.executions} example(s) in {searches} search(es)"
        f" of at most {conf.max_examples}"
    )
    if timed_out:
        result.bounds.append(f"time limit {time_limit:g}s")
    if cuts:
        result.bounds.append(f"step bound {max_steps} cut some run(s)")
    result.options = {
        "profile": profile,
        "seed": seed if seed is not None else "derandomized",
        "max_examples": conf.max_examples,
        "max_steps": max_steps,
        "preemptions": ",".join(map(str, preempts)) if preempts else None,
    }
    return result


def found_of(program: Program, run: Run) -> Found:
    """The replayed Found of a hunt's run (raises if it does not reproduce)."""
    rep = replay(program, run.schedule)
    if rep.violation is None:
        raise RuntimeError("a Hypothesis-found schedule did not replay to its violation")
    return rep.violation


__all__ = [
    "DEFAULT_PROFILE",
    "PROFILES",
    "Hunt",
    "RelChoice",
    "RelativeDriver",
    "candidates",
    "decision_points",
    "explore_hypothesis",
    "found_of",
    "hunt",
    "preemptions_of",
    "profile_settings",
    "to_absolute",
    "to_relative",
]
