"""zswap-2013 (the v4 series with flush) and its Q4 variant without the refcount."""

from __future__ import annotations

from zmodel.explore import Found, explore_dfs
from zmodel.harness import build_program
from zmodel.runtime import Executor
from zmodel.zswap.designs import Design, resolve_design
from zmodel.zswap.scenario import parse_scenario

FULL = "pool_pages=2 :: store 1 A; store 2 B; store 3 C"


def first(design: str, scenario: str, prop: str) -> Found:
    result = explore_dfs(
        build_program(resolve_design(design), parse_scenario(scenario)), stop_on_first=False
    )
    assert result.exhaustive
    found = [f for f in result.violations if f.prop == prop]
    assert found, f"{design}: no {prop} on {scenario!r}"
    return min(found, key=lambda f: len(f.trace))


def labels(found: Found) -> list[tuple[int, str]]:
    return [(s.tid, s.label) for s in found.trace]


def index(steps: list[tuple[int, str]], tid: int, text: str, start: int = 0) -> int:
    return next(
        i for i, (t, label) in enumerate(steps) if i >= start and t == tid and text in label
    )


def test_registered_with_kernel_and_description() -> None:
    design = resolve_design("zswap-2013")
    assert design.kernel == "v4 Jan 2013 (pre-merge)"
    assert resolve_design("zswap-2013-norefcount").description.startswith("Q4")


def test_flush_from_the_store_path_writes_back_the_lru_and_frees_the_zspage() -> None:
    # A full pool (one zspage: 3 objects in 2 frames): the fourth store's
    # zs_malloc fails, flush writes back all three entries, the zspage goes, and
    # the retried allocation succeeds.
    scenario = parse_scenario(f"{FULL} :: store 4 D")
    ends: list[Executor] = []
    result = explore_dfs(build_program(resolve_design("zswap-2013"), scenario), on_end=ends.append)
    assert result.verdict == "pass"
    tree = next(o for o in ends[0].heap.objects.values() if o.kind == "zswap_tree")
    assert tree.fields["flush_log"] == ((3, 2),)
    slot4 = next(o for o in ends[0].heap.objects.values() if o.fields.get("latest") == "D")
    assert slot4.fields["frontswap"]  # the store was saved by flush


def test_flush_error_path_keeps_its_reference_and_leaks_the_entry() -> None:
    found = first("zswap-2013", "store 1 A :: writeback | free 1", "leak")
    steps = labels(found)
    dequeue = index(steps, 1, "list_del, zswap_entry_get")
    invalidate = index(steps, 2, "zswap_frontswap_invalidate_page (v4): zswap_rb_search")
    prepare = index(steps, 1, "zswap_get_swap_cache_page: swapcache_prepare", invalidate)
    put_back = index(steps, 1, "list_add(&entry->lru, &tree->lru)")
    assert dequeue < invalidate < prepare < put_back
    # The entry is retried at the LRU head 16 times, each time taking a reference.
    assert sum("zswap_entry_get" in label for _, label in steps) == 16
    assert "zswap_entry" in found.message


def test_load_relinks_an_entry_flush_holds_and_flush_frees_it_on_the_lru() -> None:
    found = first("zswap-2013", "store 1 A :: load 1 | writeback", "use-after-free")
    steps = labels(found)
    dequeue = index(steps, 2, "list_del, zswap_entry_get")
    relink = index(steps, 1, "if non-zero list_add_tail")
    free = index(steps, 2, "zswap_flush_entry (v4): zswap_entry_cache_free")
    again = index(steps, 2, "list_del, zswap_entry_get", free)
    assert dequeue < relink < free < again == found.step_index


def test_without_the_refcount_flush_from_the_store_path_touches_a_freed_entry() -> None:
    scenario = f"{FULL} :: store 4 D | free 1"
    found = first("zswap-2013-norefcount", scenario, "use-after-free")
    steps = labels(found)
    malloc_fails = index(steps, 1, "alloc_zspage")
    dequeue = index(steps, 1, "list_del (no reference taken)")
    freed = index(steps, 2, "zswap_entry_cache_free")
    assert malloc_fails < dequeue < freed < found.step_index
    assert steps[found.step_index][0] == 1  # the store's flush is the one that faults
    # With the refcount the same scenario only leaks (the error path above).
    refcounted = resolve_design("zswap-2013")
    assert refcounted.expected["store-flush-vs-free"] == frozenset({"leak"})


def test_refcount_stays_non_negative() -> None:
    design: type[Design] = resolve_design("zswap-2013")
    assert design.refcount_range == (0, None)
    result = explore_dfs(
        build_program(design, parse_scenario("store 1 A :: writeback | free 1")),
        stop_on_first=False,
    )
    assert "refcount" not in {f.prop for f in result.violations}
