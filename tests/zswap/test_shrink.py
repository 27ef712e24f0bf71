"""``shrink N``: one shrinker call walking up to N LRU items (6.x designs only)."""

from __future__ import annotations

import pytest

from zmodel.explore import explore_dpor
from zmodel.harness import build_program, unreached
from zmodel.zswap.designs import resolve_design
from zmodel.zswap.scenario import Op, OpKind, ScenarioError, parse_scenario


def test_shrink_parses_and_prints_back() -> None:
    scenario = parse_scenario("store 1 A :: shrink 3 | free 1")
    assert scenario.threads[0] == (Op(OpKind.SHRINK, count=3),)
    assert parse_scenario(scenario.text) == scenario
    assert scenario.slots == (1,)  # N is not a slot
    for bad in ("shrink", "shrink 0", "shrink 17", "shrink x", "shrink 1 2"):
        with pytest.raises(ScenarioError):
            parse_scenario(f"store 1 A :: {bad} | free 1")


@pytest.mark.parametrize("design", ["zswap-3.11", "zswap-3.13", "zswap-2013"])
def test_designs_without_a_shrinker_refuse_it(design: str) -> None:
    with pytest.raises(ScenarioError, match="no 'shrink' operation"):
        build_program(resolve_design(design), parse_scenario("store 1 A :: shrink 2 | free 1"))


def test_612_writes_back_in_the_second_item_what_the_first_rotated() -> None:
    """6.12's second chance: a fresh entry is referenced, one item only rotates it
    (LRU_ROTATE); the walk's next item writes it back."""
    cls = resolve_design("zswap-6.12")
    for items, reached in ((1, False), (2, True)):
        coverage: set[str] = set()
        scenario = parse_scenario(f"store 1 A :: shrink {items} | free 1; store 1 B")
        result = explore_dpor(build_program(cls, scenario, coverage), stop_on_first=False)
        assert result.exhaustive and not result.violations
        assert (unreached(cls, None, coverage, scenario) == []) is reached


def test_68_has_no_second_chance_and_its_shrinker_race_stays() -> None:
    cls = resolve_design("zswap-6.8")
    coverage: set[str] = set()
    scenario = parse_scenario("store 1 A :: shrink 1 | free 1; store 1 B")
    explore_dpor(build_program(cls, scenario, coverage))
    assert unreached(cls, None, coverage, scenario) == []
    result = explore_dpor(build_program(cls, parse_scenario("store 1 A :: shrink 2 | swapoff")))
    assert {f.prop for f in result.violations} == {"use-after-free"}
