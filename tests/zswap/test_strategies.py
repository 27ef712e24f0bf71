"""Scenario strategies: parseable, well-formed workloads; the swarm and the failed-dup switch."""

from __future__ import annotations

from hypothesis import find, given, settings

from zmodel.zswap.scenario import Op, Scenario, parse_scenario
from zmodel.zswap.strategies import may_fail_dup, scenarios, well_formed


@settings(max_examples=200, deadline=None)
@given(scenarios())
def test_generated_scenarios_parse_back(scenario: Scenario) -> None:
    assert parse_scenario(scenario.text) == scenario
    assert 2 <= len(scenario.threads) <= 3
    assert all(op.kind == "store" for op in scenario.setup)
    assert sum(op.kind == "swapoff" for ops in scenario.threads for op in ops) <= 1
    assert well_formed(list(scenario.setup), [list(t) for t in scenario.threads]) == [
        list(t) for t in scenario.threads
    ]


def test_free_and_alloc_failures_meet_swapoff() -> None:
    """Since swapoff takes slots over and fails with -ENOMEM as the kernel does
    (issue 13), a free racing it and failing allocations are fair workloads."""
    find(
        scenarios(),
        lambda sc: (
            {"free", "swapoff"} <= {op.kind for ops in sc.threads for op in ops}
            and bool(sc.option("alloc_failures"))
        ),
    )


@settings(max_examples=200, deadline=None)
@given(scenarios(failed_dups=False))
def test_failed_dups_can_be_left_out(scenario: Scenario) -> None:
    assert not may_fail_dup(scenario)


def test_well_formed_frees() -> None:
    store1, free1, free2 = Op("store", 1, "A"), Op("free", 1), Op("free", 2)
    # A free needs its slot held (by the setup, or by the thread's own store) ...
    assert well_formed([], [[free1], [store1, free1]]) == [[], [store1, free1]]
    assert well_formed([store1], [[free1], [free2]]) == [[free1], []]
    # ... and all frees and stores of a freed slot belong to one thread.
    assert well_formed([store1], [[free1], [store1]]) == [[free1], []]
    # A second swapoff goes.
    swapoff = Op("swapoff")
    assert well_formed([], [[swapoff], [swapoff]]) == [[swapoff], []]


def test_may_fail_dup() -> None:
    dup = parse_scenario("pool_pages=0 :: store 1 A :: store 1 B")
    assert may_fail_dup(dup)
    assert not may_fail_dup(parse_scenario("store 1 A :: store 1 B"))
    assert not may_fail_dup(parse_scenario("pool_pages=0 :: store 1 A :: store 2 B"))
