"""Iterative context bounding."""

from __future__ import annotations

import pytest

from tests.explore.programs import Spec, build
from zmodel.explore import PASS, VIOLATION
from zmodel.explore.icb import explore_icb

NEEDS_ONE_PREEMPTION: Spec = (
    ((), (("w", 0, "a", 1), ("w", 0, "a", 0)), (("bug", 0, "a", 1),)),
    None,
)


def test_raises_the_bound_until_a_violation() -> None:
    result = explore_icb(build(NEEDS_ONE_PREEMPTION), max_bound=3)
    assert result.verdict == VIOLATION
    assert result.options["icb_rounds"] == 2 and result.options["max_preemptions"] == 1


def test_stops_when_a_bound_prunes_nothing() -> None:
    spec: Spec = (((), (("w", 0, "a", 1),), (("w", 1, "a", 1),)), None)
    result = explore_icb(build(spec), max_bound=5)
    assert result.verdict == PASS and result.exhaustive
    assert result.options["icb_rounds"] == 1


def test_a_bound_that_prunes_gives_a_bounded_verdict() -> None:
    spec: Spec = (
        ((), (("w", 0, "a", 1), ("w", 0, "a", 2), ("w", 0, "a", 0)), (("r", 0, "a"),)),
        None,
    )
    result = explore_icb(build(spec), max_bound=0)
    assert not result.exhaustive and result.bounds[0].startswith("max preemptions 0")
    full = explore_icb(build(spec), max_bound=5)
    assert full.verdict == PASS
    assert full.stats.executions > result.stats.executions  # figures add up over rounds


def test_rejects_a_negative_bound() -> None:
    with pytest.raises(ValueError):
        explore_icb(build(NEEDS_ONE_PREEMPTION), max_bound=-1)
