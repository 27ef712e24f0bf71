"""The swap-cache-bypass fault of SWP_SYNCHRONOUS_IO devices (swapin_bypass.py)."""

from __future__ import annotations

import pytest

from tests.zswap.scenario_runs import covered, end_states, live, only_slot, violated
from zmodel.harness import build_program
from zmodel.runtime import Executor
from zmodel.zswap.designs import resolve_design
from zmodel.zswap.scenario import ScenarioError, parse_scenario

BYPASS = "swapcache_bypass=on"
REFAULT = "do_swap_page (SWP_SYNCHRONOUS_IO): schedule_timeout_uninterruptible(1); refault"
TWO_FAULTS = f"{BYPASS} :: store 1 A :: load 1 | load 1; store 1 B"
EXCLUSIVE = f"{BYPASS}, exclusive_loads=on :: store 1 A :: load 1 | load 1"


def _after_fault(ex: Executor) -> tuple[bool, int, bool, bool, int]:
    """(mapped, count, SWAP_HAS_CACHE, a swap-cache page, live zswap entries)."""
    f = only_slot(ex)
    return (
        f["resident"] is not None,
        f["count"],
        bool(f["has_cache"]),
        f["cache"] is not None,
        live(ex, "zswap_entry"),
    )


@pytest.mark.parametrize("design", ["zswap-6.8", "zswap-6.12", "zswap-6.8-nopin"])
def test_a_bypass_fault_maps_a_private_page_and_frees_the_slot(design: str) -> None:
    """No swap-cache page; swap_free (and the pin's swapcache_clear) free the slot,
    and zswap's entry goes with it (zswap_invalidate)."""
    scenario = f"{BYPASS} :: store 1 A :: load 1"
    assert end_states(design, scenario, _after_fault) == {(True, 0, False, False, 0)}


def test_zswap_load_runs_on_a_folio_outside_the_swap_cache() -> None:
    labels = covered("zswap-6.12", f"{BYPASS} :: store 1 A :: load 1")
    assert "do_swap_page (SWP_SYNCHRONOUS_IO): vma_alloc_folio; __folio_set_locked" in labels
    assert not any(label.startswith("read_swap_cache_async") for label in labels)


@pytest.mark.parametrize("design", ["zswap-6.8", "zswap-6.12"])
def test_the_pin_sends_a_second_fault_back_and_nothing_is_lost(design: str) -> None:
    assert REFAULT in covered(design, TWO_FAULTS)
    assert violated(design, TWO_FAULTS) == set()


def test_13ddaf26be32_before_and_after() -> None:
    """Without the pin both faults bypass; the second maps old data (ABA on the pte)."""
    assert violated("zswap-6.8-nopin", TWO_FAULTS) == {"stale-data", "data-loss"}
    assert REFAULT not in covered("zswap-6.8-nopin", TWO_FAULTS)
    assert violated("zswap-6.8", TWO_FAULTS) == set()


def test_25cd241408a2_exclusive_load_into_a_private_folio() -> None:
    """6.8's exclusive load drops zswap's copy for a private folio; without the pin a
    second bypassing fault then reads a device that never had the data."""
    assert violated("zswap-6.8-nopin", EXCLUSIVE) == {"data-loss"}
    assert violated("zswap-6.8-nopin", f"{BYPASS} :: store 1 A :: load 1 | load 1") == set()
    assert violated("zswap-6.8", EXCLUSIVE) == set()


@pytest.mark.parametrize("design", ["zswap-6.8", "zswap-6.12"])
def test_a_mapped_page_is_unmapped_or_swapped_out_again(design: str) -> None:
    """free of a mapped page touches no slot; a store swaps it out to the same pte."""
    assert violated(design, f"{BYPASS} :: store 1 A :: load 1; free 1") == set()
    again = f"{BYPASS} :: store 1 A :: load 1; store 1 B; load 1"
    assert violated(design, again) == set()
    assert violated(design, f"{BYPASS} :: store 1 A :: load 1 | free 1") == set()
    assert violated(design, f"{BYPASS} :: store 1 A :: load 1 | swapoff") == set()


def test_6_12_keeps_the_entry_a_private_folio_reads_from_writeback() -> None:
    scenario = f"{BYPASS} :: store 1 A; writeback :: load 1 | writeback"
    assert violated("zswap-6.12", scenario) == set()


@pytest.mark.parametrize("design", ["zswap-3.11", "zswap-3.13", "zswap-2013"])
def test_designs_before_synchronous_io_refuse_the_bypass(design: str) -> None:
    with pytest.raises(ScenarioError, match="no 'swapcache_bypass' mechanism"):
        build_program(resolve_design(design), parse_scenario(f"{BYPASS} :: store 1 A :: load 1"))
