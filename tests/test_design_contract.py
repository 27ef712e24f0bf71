"""The design contract (designs/contract.py) on every registered design, and its failures."""

from __future__ import annotations

from typing import ClassVar

import pytest

from zmodel.design_contract import check_design
from zmodel.zswap.designs import REGISTRY
from zmodel.zswap.designs.base import Design, Steps
from zmodel.zswap.designs.zswap_612 import Zswap612
from zmodel.zswap.scenario import OpKind


@pytest.mark.parametrize("name", sorted(REGISTRY))
def test_every_registered_design_keeps_the_contract(name: str) -> None:
    assert check_design(REGISTRY[name]) == []


def test_a_design_missing_its_paths_and_views_is_told_which() -> None:
    class Bare(Design):
        name = "bare"

    problems = check_design(Bare)
    assert "Bare.store is not defined (Design's stub raises NotImplementedError)" in problems
    assert any("Bare.holds" in p for p in problems)


def test_tables_that_name_no_scenario_or_property_are_reported() -> None:
    class Typos(Zswap612):
        name = "typos"
        expected: ClassVar[dict[str, frozenset[str]]] = {
            "writeback-vs-fre": frozenset({"leak"}),
            "writeback-vs-free": frozenset({"leek"}),
        }
        ops: ClassVar[frozenset[OpKind]] = Zswap612.ops | {OpKind.STORE}

    problems = check_design(Typos)
    assert "Typos.expected names 'writeback-vs-fre', which is not a suite scenario" in problems
    assert "Typos.expected['writeback-vs-free']: no property 'leek'" in problems
    assert "Typos.ops: 'store' is not an optional operation" in problems


def test_a_view_that_reads_with_get_is_reported() -> None:
    class Peeking(Zswap612):
        name = "peeking"
        suite = (("store-load", "store 1 A :: load 1"),)

        def offsets(self) -> set[int]:
            self.heap.get(self.globals, "zswap_trees")  # a view must peek
            return super().offsets()

    (problem,) = check_design(Peeking)
    assert problem.startswith("Peeking.offsets on 'store-load': ")
    assert problem.endswith("(views must read with heap.peek)")


def test_an_op_without_its_path_is_reported() -> None:
    class NoSwitch(Zswap612):
        name = "no-switch"

        def pool_switch(self) -> Steps:  # type: ignore[override]
            return Design.pool_switch(self)

    NoSwitch.pool_switch = Design.pool_switch  # type: ignore[method-assign]
    assert "NoSwitch.ops has 'pool_switch' but NoSwitch.pool_switch is not defined" in (
        check_design(NoSwitch)
    )
