"""The memo of reversed steps (zmodel/explore/reversed_steps.py) changes nothing but speed.

Optimal DPOR runs a reversed step where the reversal puts it to learn its
footprint, and remembers the answer by the whole schedule.  Here the memo is
shown to be used and to leave every outcome and execution count as without it,
and a memo keyed without the schedule's prefix (two places that end alike taken
for one) is shown to lose what plain enumeration reaches, so the comparison the
differential suites make with the memo on can fail.
"""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

import zmodel.explore.reversed_steps as reversed_steps
from tests.explore.differential import outcome
from tests.explore.programs import Spec, build, flat_specs, specs
from tests.explore.test_dpor import _settings
from zmodel.explore.dfs import explore_dfs
from zmodel.explore.optimal_dpor import explore_optimal_dpor
from zmodel.explore.reversed_steps import ReversedSteps


@given(st.one_of(specs(), flat_specs()))
@_settings(150)
def test_the_memo_changes_no_outcome_and_no_count(spec: Spec) -> None:
    program = build(spec)
    with_memo, a = outcome(explore_optimal_dpor, program)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(ReversedSteps, "footprint", _replay_always)
        without, b = outcome(explore_optimal_dpor, program)
    assert with_memo == without
    assert (a.stats.executions, a.stats.pruned) == (b.stats.executions, b.stats.pruned)


def _replay_always(self: ReversedSteps, schedule: list[tuple[int, int]], tid: int, o: int) -> Any:
    return self._run(schedule, tid, o)


def test_the_memo_is_used_on_a_zswap_scenario() -> None:
    from zmodel.harness import build_program
    from zmodel.zswap.designs import resolve_design
    from zmodel.zswap.scenario import parse_scenario

    memos: list[ReversedSteps] = []
    original = ReversedSteps.__init__

    def init(self: ReversedSteps, *args: Any, **kwargs: Any) -> None:
        original(self, *args, **kwargs)
        memos.append(self)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(ReversedSteps, "__init__", init)
        scenario = parse_scenario("store 1 A :: writeback | load 1")
        program = build_program(resolve_design("zswap-3.11"), scenario)
        result = explore_optimal_dpor(program, stop_on_first=False)
    assert result.exhaustive
    assert memos and memos[0].hits > 0 and memos[0].memo


#: A program where a memo keyed by the reversed step and the schedule's last event
#: loses end states: found by Hypothesis's ``find`` over ``flat_specs`` with a memo
#: keyed by the step alone (92 s), then kept here so the check is fast and fixed.
PREFIX_MATTERS: Spec = (
    (
        (),
        (("rmw", 0, "a"),),
        (("pick", 0, "a"),),
        (("pick", 0, "a"),),
        (("r", 0, "b"),),
        (("casacc", 0, "b"),),
    ),
    None,
)


def _misses(spec: Spec) -> bool:
    program = build(spec)
    want = outcome(explore_dfs, program, cache=False)[0]
    return outcome(explore_optimal_dpor, program)[0] != want


@pytest.mark.parametrize("kept", [0, 1], ids=["the step alone", "the last event"])
def test_a_memo_keyed_without_the_prefix_is_caught(
    monkeypatch: pytest.MonkeyPatch, kept: int
) -> None:
    assert not _misses(PREFIX_MATTERS)
    original = reversed_steps._digest

    def digest(schedule: list[tuple[int, int]], tid: int, o: int) -> bytes:
        return original(schedule[len(schedule) - kept :] if kept else [], tid, o)

    monkeypatch.setattr(reversed_steps, "_digest", digest)
    assert _misses(PREFIX_MATTERS)
