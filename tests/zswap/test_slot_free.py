"""6.x slot freeing (slot_free.py): the reserved state, free_swap_slot, the slot cache."""

from __future__ import annotations

import pytest

from tests.zswap.scenario_runs import covered, end_states, live, only_slot, violated
from zmodel.harness import build_program
from zmodel.runtime import Executor
from zmodel.zswap.designs import resolve_design
from zmodel.zswap.scenario import ScenarioError, parse_scenario


def _after_free(ex: Executor) -> tuple[bool, bool, int]:
    """(the slot's SWAP_HAS_CACHE, whether the slot cache holds it, live entries)."""
    fields = only_slot(ex)
    cache = [o for o in ex.heap.objects.values() if o.kind == "swap_slots_cache"]
    held = bool(cache) and cache[0].fields["ret"] is not None
    return bool(fields["has_cache"]), held, live(ex, "zswap_entry")


@pytest.mark.parametrize("design", ["zswap-6.8", "zswap-6.12"])
def test_without_the_slot_cache_a_free_completes(design: str) -> None:
    assert end_states(design, "store 1 A :: free 1", _after_free) == {(False, False, 0)}


def test_the_slot_cache_defers_the_free_and_68_its_invalidate() -> None:
    """6.8 invalidates zswap in swap_range_free, at the real free: the entry stays
    while the slot waits, reserved, in the cache.  6.12 invalidates first (0827a1fb143f)."""
    scenario = "slot_cache=on :: store 1 A :: free 1"
    assert end_states("zswap-6.8", scenario, _after_free) == {(True, True, 1)}
    assert end_states("zswap-6.12", scenario, _after_free) == {(True, True, 0)}


@pytest.mark.parametrize("design", ["zswap-6.8", "zswap-6.12"])
def test_a_full_cache_and_a_store_that_wants_the_slot_drain_it(design: str) -> None:
    both = "slot_cache=on :: store 1 A; store 2 B :: free 1; free 2"
    assert violated(design, both) == set()
    restore = "slot_cache=on :: store 1 A :: free 1; store 1 B; load 1"
    assert end_states(design, restore, lambda ex: only_slot(ex)["count"]) == {1}
    racing = "slot_cache=on :: store 1 A; store 2 B :: free 1 | free 2; store 1 C"
    assert violated(design, racing) == set()


@pytest.mark.parametrize("design", ["zswap-6.8", "zswap-6.12"])
def test_swapoff_drains_the_slot_cache_before_try_to_unuse(design: str) -> None:
    """disable_swap_slots_cache_lock: otherwise try_to_unuse would wait forever on
    the reserved slot (deadlock) and 6.8 would leave its entry behind."""
    assert violated(design, "slot_cache=on :: store 1 A :: free 1; swapoff") == set()
    assert violated(design, "slot_cache=on :: store 1 A :: free 1 | swapoff") == set()


def test_68_writeback_meets_the_entry_of_a_slot_in_the_cache() -> None:
    """The -ENOMEM writeback 0827a1fb143f removed: the slot has no user, zswap's
    entry is still on the LRU, __read_swap_cache_async skips the unused slot."""
    scenario = "slot_cache=on :: store 1 A; store 2 B :: free 1 | writeback"
    assert "shrink_memcg_cb (6.8): zswap_lru_putback (LRU_RETRY)" in covered("zswap-6.8", scenario)
    assert violated("zswap-6.8", scenario) == set()


@pytest.mark.parametrize("design", ["zswap-3.11", "zswap-3.13", "zswap-2013", "zswap-zsmalloc"])
def test_designs_before_the_slot_cache_refuse_it(design: str) -> None:
    with pytest.raises(ScenarioError, match="no 'slot_cache' mechanism"):
        build_program(resolve_design(design), parse_scenario("slot_cache=on :: store 1 A"))
