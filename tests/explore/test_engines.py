"""The public entry point: zmodel.explore.explore."""

from __future__ import annotations

import pytest

from zmodel.explore import PASS, VIOLATION, EngineError, Program, explore
from zmodel.harness import build_program
from zmodel.zswap.designs import REGISTRY
from zmodel.zswap.scenario import parse_scenario

LEAK = "store 1 A :: writeback | free 1"


def program(text: str) -> Program:
    return build_program(REGISTRY["zswap-3.11"], parse_scenario(text))


def test_default_engine_finds_the_leak() -> None:
    assert explore(program(LEAK)).verdict == VIOLATION


@pytest.mark.parametrize("engine", ["dpor", "odpor", "dfs"])
def test_every_exhaustive_engine_agrees_on_a_clean_scenario(engine: str) -> None:
    assert explore(program("store 1 A :: load 1 | load 1"), engine).verdict == PASS


def test_engine_options_pass_through() -> None:
    result = explore(program(LEAK), "dpor", cache="off", all_violations=True)
    assert result.verdict == VIOLATION


def test_unknown_engine_and_unknown_option_are_refused() -> None:
    with pytest.raises(EngineError, match="unknown engine"):
        explore(program(LEAK), "nope")
    with pytest.raises(EngineError, match="does not take"):
        explore(program(LEAK), "odpor", cache="off")
