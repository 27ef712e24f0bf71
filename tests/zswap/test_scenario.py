"""The scenario syntax: OPTIONS :: SETUP :: THREAD | THREAD."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from zmodel.zswap.scenario import Op, Scenario, ScenarioError, parse_scenario


def test_setup_and_threads() -> None:
    sc = parse_scenario("store 1 A :: writeback | free 1; store 1 B")
    assert sc.setup == (Op("store", 1, "A"),)
    assert sc.threads == ((Op("writeback"),), (Op("free", 1), Op("store", 1, "B")))
    assert sc.slots == (1,)


def test_options_setup_and_threads() -> None:
    sc = parse_scenario("pool_pages=1, alloc_failures=on :: store 1 A :: load 1")
    assert sc.option("pool_pages") == 1
    assert sc.option("alloc_failures") is True
    assert sc.option("reclaim_retries") == 8  # the default


def test_two_parts_with_options_first() -> None:
    sc = parse_scenario("alloc_failures=on :: store 1 A | store 2 B")
    assert sc.setup == ()
    assert len(sc.threads) == 2


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ("", "empty"),
        ("store 1", "expected 'store OFF VAL'"),
        ("stor 1 A", "unknown operation"),
        ("store x A", "not a number"),
        ("bogus=1 :: store 1 A", "unknown option"),
        ("pool_pages=-1 :: store 1 A", "pool_pages"),
        ("store 1 A :: | load 1", "no operations"),
        ("a :: b :: c :: d", "at most three"),
        ("writeback 3", "takes no arguments"),
    ],
)
def test_errors_are_one_line(text: str, needle: str) -> None:
    with pytest.raises(ScenarioError) as exc:
        parse_scenario(text)
    assert needle in str(exc.value)
    assert "\n" not in str(exc.value)


ops = st.one_of(
    st.builds(Op, st.just("store"), st.integers(0, 9), st.sampled_from("ABC")),
    st.builds(Op, st.sampled_from(["load", "free"]), st.integers(0, 9)),
    st.builds(Op, st.sampled_from(["writeback", "swapoff"])),
)
scenarios = st.builds(
    Scenario,
    st.lists(ops, max_size=3).map(tuple),
    st.lists(st.lists(ops, min_size=1, max_size=3).map(tuple), min_size=1, max_size=3).map(tuple),
    st.sampled_from([(), (("pool_pages", 1),), (("alloc_failures", True), ("pool_pages", 0))]),
)


@given(scenarios)
def test_canonical_text_parses_back(sc: Scenario) -> None:
    assert parse_scenario(sc.text) == sc


@pytest.mark.parametrize(
    "text",
    [
        "store 1 A;;store 2 B",
        "store 1 A; ; load 1",
        "pool_pages=10000000000000000000000 :: store 1 A",
        "reclaim_retries=65 :: store 1 A",
    ],
)
def test_an_empty_operation_or_an_option_out_of_range_is_refused(text: str) -> None:
    with pytest.raises(ScenarioError):
        parse_scenario(text)


def test_one_trailing_semicolon_is_allowed() -> None:
    assert (
        parse_scenario("store 1 A; :: load 1;").setup == parse_scenario("store 1 A :: load 1").setup
    )
