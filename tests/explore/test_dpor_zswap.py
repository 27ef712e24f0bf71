"""DPOR on the zswap model: the same verdicts as the cached search, and the 2013 leak."""

from __future__ import annotations

import pytest

from tests.explore.differential import describe, outcome
from zmodel.explore import BOUNDED, PASS, VIOLATION, Program, replay
from zmodel.explore.dfs import explore_dfs
from zmodel.explore.dpor import explore_dpor
from zmodel.explore.icb import explore_icb

harness = pytest.importorskip("zmodel.harness")
designs = pytest.importorskip("zmodel.zswap.designs")
scenario = pytest.importorskip("zmodel.zswap.scenario")

LEAK_2013 = "store 1 A :: writeback | free 1"


def program(design: str, text: str) -> Program:
    return harness.build_program(designs.REGISTRY[design], scenario.parse_scenario(text))


def test_the_2013_leak_is_found_unbounded_and_within_one_preemption() -> None:
    leaky = program("zswap-3.11", LEAK_2013)
    for result in (explore_dpor(leaky), explore_dpor(leaky, max_preemptions=1)):
        assert result.verdict == VIOLATION and result.violations[0].prop == "leak"
        again = replay(leaky, result.violations[0].schedule).violation
        assert again is not None and again.prop == "leak"
    assert explore_dpor(leaky, max_preemptions=0).verdict == BOUNDED
    assert explore_icb(leaky, max_bound=3).options["max_preemptions"] == 1


def test_the_leak_fix_passes_exhaustively() -> None:
    assert explore_dpor(program("zswap-3.11-leakfix", LEAK_2013)).verdict == PASS


QUICK = [
    ("zswap-3.11", "writeback-vs-free"),
    ("zswap-3.11", "two-slots-writeback"),
    ("zswap-3.11", "full-pool-store"),
    ("zswap-3.13", "failed-dup-store"),
    ("zswap-6.12", "writeback-vs-recycle"),
    ("zswap-6.12", "swapoff-vs-writeback"),
]


@pytest.mark.parametrize(("design", "name"), QUICK, ids=[f"{d} {n}" for d, n in QUICK])
def test_same_end_states_and_violations_as_the_cached_search(design: str, name: str) -> None:
    if design not in designs.REGISTRY:
        pytest.skip(f"{design} is not registered")
    text = dict(designs.REGISTRY[design].suite).get(name)
    if text is None:
        pytest.skip(f"{design} has no scenario {name}")
    run = program(design, text)
    want, _ = outcome(explore_dfs, run, cache=True)
    got, dpor = outcome(explore_dpor, run)
    assert got == want, describe(want, got)
    assert dpor.exhaustive
