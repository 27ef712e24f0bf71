"""Q5 reclaim cost: zbud frees a frame with at most 2 evictions, zsmalloc evicts a whole zspage."""

from __future__ import annotations

from zmodel.analysis.reclaim_cost import describe, reclaim_costs
from zmodel.zswap.designs import resolve_design

THREE = "store 1 A; store 2 B; store 3 C :: writeback"


def test_zbud_frees_one_frame_with_two_evictions() -> None:
    cost = reclaim_costs(resolve_design("zswap-3.11"), THREE)
    assert dict(cost.freeing) == {(2, 1): 1}
    assert cost.frees_only


def test_zsmalloc_evicts_the_whole_zspage_to_free_its_frames() -> None:
    cost = reclaim_costs(resolve_design("zswap-zsmalloc"), THREE)
    assert dict(cost.outcomes) == {(3, 2): 1}
    assert describe(cost.freeing) == "3 -> 2 frames x1"


def test_an_entry_lru_flush_can_write_back_without_freeing_a_frame() -> None:
    # Dan's point: flushing in LRU order has no relation to page frames.
    cost = reclaim_costs(resolve_design("zswap-2013"), THREE + "; writeback")
    assert dict(cost.outcomes) == {(3, 2): 1, (0, 0): 1}


def test_the_unpinned_reclaim_can_claim_a_frame_it_did_not_free() -> None:
    cost = reclaim_costs(
        resolve_design("zswap-zsmalloc-unpinned"), "store 1 A :: writeback | store 2 B"
    )
    assert cost.hollow
    assert cost.violations == {"uninitialised-read"}
    assert not reclaim_costs(
        resolve_design("zswap-zsmalloc"), "store 1 A :: writeback | store 2 B"
    ).hollow
