"""The Hypothesis engine: the relative encoding, finds that replay, seeds, the state machine."""

from __future__ import annotations

import subprocess
import sys
from functools import partial
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from zmodel.counterexample.store import from_found, save
from zmodel.explore import BOUNDED, PASS, VIOLATION, EngineOptions, Program, replay
from zmodel.explore.hypothesis_engine import (
    RelativeDriver,
    candidates,
    decision_points,
    explore_hypothesis,
    hunt,
    to_absolute,
    to_relative,
)
from zmodel.explore.randomwalk import Run, count_preemptions, run_once
from zmodel.harness import build_program, run_engine
from zmodel.stateful import run_machine
from zmodel.zswap.designs import REGISTRY
from zmodel.zswap.scenario import parse_scenario

LEAK = "store 1 A :: writeback | free 1"
DESIGN = REGISTRY["zswap-3.11"]


def program(text: str) -> Program:
    return build_program(DESIGN, parse_scenario(text))


def test_candidates_order() -> None:
    # The running thread first if it can go on, then the others cyclically after it.
    assert candidates(2, [1, 2, 3]) == [2, 3, 1]
    assert candidates(3, [1, 2, 3]) == [3, 1, 2]
    # It cannot go on: the next ones cyclically, all free switches.
    assert candidates(2, [1, 3]) == [3, 1]
    assert candidates(None, [3, 1]) == [1, 3]
    assert candidates(0, [1, 2]) == [1, 2]


def test_all_zeros_runs_each_thread_as_long_as_it_can() -> None:
    prog = program(LEAK)
    schedule = to_absolute(prog, [])
    tids = [tid for tid, _ in schedule]
    # Setup, then T1 (writeback) to its end, then T2: no preemption at all.
    first = tids.index(1)
    assert set(tids[:first]) == {0}
    assert tids[first:] == sorted(tids[first:])
    assert count_preemptions(prog, schedule) == 0


def test_one_switch_is_one_preemption_and_stays_switched() -> None:
    prog = program(LEAK)
    base = to_absolute(prog, [])
    first = [tid for tid, _ in base].index(1)
    at = first + 3  # three steps into T1, switch to the other thread
    schedule = to_absolute(prog, [(0, 0)] * at + [(1, 0)])
    assert [t for t, _ in schedule[:at]] == [t for t, _ in base[:at]]
    assert schedule[at][0] == 2
    # After the switch, 0 means "keep running T2", until it finishes or blocks.
    rest = [t for t, _ in schedule[at:]]
    assert rest[: rest.index(1)] == [2] * rest.index(1)
    assert count_preemptions(prog, schedule) == 1


def test_out_of_range_relative_choice_is_refused() -> None:
    prog = program(LEAK)
    with pytest.raises(ValueError, match="switch"):
        to_absolute(prog, [(1, 0)])  # the setup runs alone: one candidate
    with pytest.raises(ValueError, match="outcome"):
        to_absolute(prog, [(0, 1)])


@settings(max_examples=40, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    text=st.sampled_from(
        [LEAK, "store 1 A :: writeback | store 1 B", "alloc_failures=on :: store 1 A | store 2 B"]
    ),
)
def test_relative_and_absolute_round_trip(seed: int, text: str) -> None:
    import random

    prog = program(text)
    rng = random.Random(seed)
    # A random absolute schedule (uniform thread and outcome per step).
    run = run_once(prog, lambda ex, en, done: rng.choice(en), lambda t, n: rng.randrange(n), 400)
    relative = to_relative(prog, run.schedule)
    assert len(relative) == len(run.schedule)
    assert to_absolute(prog, relative) == run.schedule
    # And back: the relative form of what a relative schedule runs is itself (padded).
    assert to_relative(prog, to_absolute(prog, relative)) == relative


def test_driver_draws_only_at_real_decisions() -> None:
    prog = program(LEAK)
    draws: list[int] = []

    def draw(n: int) -> int:
        draws.append(n)
        return 0  # "no more switches"

    driver = RelativeDriver(draw, span=10)
    run = run_once(prog, driver.pick, driver.outcome, 400)
    assert draws == [3]  # one "another switch?" question, answered no
    assert run.schedule == to_absolute(prog, [])
    assert decision_points(prog) > 0


def test_finds_the_2013_leak_shrunk_and_it_replays() -> None:
    prog = program(LEAK)
    result = explore_hypothesis(prog, profile="ci")
    assert result.engine == "hypothesis" and result.verdict == VIOLATION
    found = result.violations[0]
    assert found.prop == "leak"
    assert count_preemptions(prog, found.schedule) <= 2
    again = replay(prog, found.schedule)
    assert again.violation is not None
    assert (again.violation.prop, again.violation.message) == (found.prop, found.message)
    assert [s.label for s in again.trace] == [s.label for s in found.trace]


def test_seeded_searches_are_deterministic() -> None:
    prog = program(LEAK)
    a = explore_hypothesis(prog, seed=5)
    b = explore_hypothesis(prog, seed=5)
    assert [f.schedule for f in a.violations] == [f.schedule for f in b.violations]
    assert a.options["seed"] == 5


def test_nothing_found_is_bounded_never_pass() -> None:
    result = run_engine(
        DESIGN, parse_scenario("store 1 A :: load 1 | store 2 B"), "hypothesis", EngineOptions()
    )
    assert not result.violations
    assert result.verdict == BOUNDED != PASS
    assert result.stats.executions > 0


def test_hunt_targets_one_property() -> None:
    prog = program("store 1 A :: writeback | store 1 B")
    h = hunt(lambda data: (None, prog), interesting=lambda p: p == "stale-data", seed=3)
    assert h.run is not None and h.run.violation is not None
    assert h.run.violation.prop == "stale-data"


class _Clock:
    """A perf_counter that stands still until ``trip`` moves it an hour on."""

    def __init__(self) -> None:
        self.now = 0.0

    def perf_counter(self) -> float:
        return self.now

    def trip(self) -> None:
        self.now = 3600.0


@pytest.mark.parametrize("after", [1, 2, 4])
def test_time_limit_while_shrinking_keeps_the_violation(
    monkeypatch: pytest.MonkeyPatch, after: int
) -> None:
    # The limit strikes after the after-th violating run, while Hypothesis
    # shrinks: its replays of examples now rejected used to escape as
    # FlakyStrategyDefinition (an internal error, exit 3, of --time-limit).
    import zmodel.explore.hypothesis_engine as engine

    clock = _Clock()
    monkeypatch.setattr(engine, "time", clock)
    seen: list[str] = []

    def on_run(subject: object, run: Run) -> None:
        if run.violation is not None:
            seen.append(run.violation.prop)
            if len(seen) == after:
                clock.trip()

    prog = program("store 1 A :: writeback | store 1 B")
    h = hunt(lambda data: (None, prog), time_limit=60.0, on_run=on_run)
    assert h.timed_out
    assert h.run is not None and h.run.violation is not None
    again = replay(prog, h.run.schedule)
    assert again.violation is not None and again.violation.prop == h.run.violation.prop


def test_time_limit_cli_is_not_an_internal_error(tmp_path: Path) -> None:
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "zmodel",
            "check",
            "--engine",
            "hypothesis",
            "--time-limit",
            "0.3",
            "--design",
            "zswap-3.11",
            "--scenario",
            "writeback-vs-restore",
            "--out",
            str(tmp_path),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode in (1, 4), done.stdout + done.stderr


def test_counterexample_replays_with_the_cli(tmp_path: Path) -> None:
    scenario = parse_scenario(LEAK)
    result = explore_hypothesis(build_program(DESIGN, scenario), seed=1)
    cx = from_found(
        result.violations[0],
        design_cls=DESIGN,
        design_source=DESIGN.name,
        scenario=scenario,
        engine="hypothesis",
        options={"seed": 1},
    )
    path = save(cx, tmp_path).path
    done = subprocess.run(
        [sys.executable, "-m", "zmodel", "replay", str(path)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 1, done.stdout + done.stderr
    assert "leak" in done.stdout


def test_state_machine_failure_is_a_plain_scenario_and_schedule() -> None:
    result = run_machine(partial(build_program, DESIGN), profile="ci")
    assert result.found is not None and result.scenario is not None
    # The machine's run is an ordinary counterexample: scenario text and schedule.
    scenario = parse_scenario(result.scenario.text)
    again = replay(build_program(DESIGN, scenario), result.found.schedule)
    assert again.violation is not None
    assert again.violation.prop == result.found.prop
