"""Q5: zswap on zsmalloc's zs_reclaim_page (6.2-6.4), pinned and unpinned."""

from __future__ import annotations

from zmodel.explore import explore_dfs
from zmodel.harness import build_program
from zmodel.runtime import Executor
from zmodel.zswap.designs import resolve_design
from zmodel.zswap.scenario import parse_scenario


def end_states(design: str, scenario: str, verdict: str = "pass") -> list[Executor]:
    ends: list[Executor] = []
    result = explore_dfs(
        build_program(resolve_design(design), parse_scenario(scenario)),
        on_end=ends.append,
        stop_on_first=False,
    )
    assert result.verdict == verdict
    return ends


def zs_pool(ex: Executor) -> dict[str, object]:
    pool = next(o for o in ex.heap.objects.values() if o.kind == "zs_pool")
    return pool.fields


def test_one_reclaim_writes_back_every_object_of_the_zspage() -> None:
    (end,) = end_states("zswap-zsmalloc", "store 1 A; store 2 B; store 3 C :: writeback")
    fields = zs_pool(end)
    assert fields["evictions_per_free"] == ((3, 2),)  # 3 entries written back for 2 frames
    assert fields["pages_nr"] == 0
    disk = sorted(o.fields["disk"] for o in end.heap.objects.values() if o.kind == "swap_slot")
    assert disk == ["A", "B", "C"]


def test_unpinned_reclaim_maps_a_handle_the_last_zs_free_released() -> None:
    scenario = "store 1 A; store 2 B :: writeback | free 2"
    assert (
        explore_dfs(
            build_program(resolve_design("zswap-zsmalloc"), parse_scenario(scenario)),
            stop_on_first=False,
        ).verdict
        == "pass"
    )
    result = explore_dfs(
        build_program(resolve_design("zswap-zsmalloc-unpinned"), parse_scenario(scenario)),
        stop_on_first=False,
    )
    found = min(
        (f for f in result.violations if "zs_handle" in f.message), key=lambda f: len(f.trace)
    )
    steps = [(s.tid, s.label) for s in found.trace]
    snapshot = steps.index(
        (1, "zs_reclaim_page (unpinned): list_last_entry, list_del, snapshot handles")
    )
    freed = max(i for i, (t, label) in enumerate(steps) if t == 2 and "obj_free" in label)
    assert snapshot < freed < found.step_index
    assert "zhdr->swpentry" in steps[found.step_index][1]


def test_unpinned_reclaim_can_report_success_and_free_no_frame() -> None:
    # A store allocates into the zspage being vacated (no remove_zspage): the
    # reclaim evicted everything it saw and returns 0, but the zspage lives on.
    outcomes = set()
    scenario = "store 1 A :: writeback | store 2 B"
    for end in end_states("zswap-zsmalloc-unpinned", scenario, "violation"):
        for evicted, which in zs_pool(end)["reclaim_log"]:  # type: ignore[attr-defined]
            outcomes.add((evicted, getattr(which, "freed", which)))
    assert (1, False) in outcomes  # one eviction, zspage not freed
    assert (1, True) in outcomes
