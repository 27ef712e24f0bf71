"""zswap-3.13: the get/put refactor fixes the 2013 leak; swapoff frees the containers."""

from __future__ import annotations

from zmodel.explore import explore_dfs
from zmodel.harness import build_program
from zmodel.runtime import Acquire, Executor, MemObject, Release
from zmodel.zswap.designs import Design, Zswap313, resolve_design
from zmodel.zswap.designs.base import Steps
from zmodel.zswap.scenario import parse_scenario

LEAK_SCENARIO = "store 1 A :: writeback | free 1"


def violated(design: type[Design], scenario: str) -> set[str]:
    result = explore_dfs(build_program(design, parse_scenario(scenario)), stop_on_first=False)
    assert result.exhaustive
    return {f.prop for f in result.violations}


def test_the_2013_leak_is_fixed() -> None:
    assert violated(resolve_design("zswap-3.11"), LEAK_SCENARIO) == {"leak"}
    assert violated(resolve_design("zswap-3.13"), LEAK_SCENARIO) == set()


def test_refcount_never_goes_negative_where_3_11_reached_minus_one() -> None:
    # 3.11 reaches refcount -1 on this scenario by design; 3.13 BUG_ONs on a
    # negative count, and neither the BUG_ON nor the range check may fire.
    for scenario in (LEAK_SCENARIO, "store 1 A :: load 1 | writeback"):
        found = violated(Zswap313, scenario)
        assert not found & {"bug-on", "refcount"}, (scenario, found)


class NoSearchCompare(Zswap313):
    """Writeback success drops the tree's reference unconditionally (3.11's put; put)."""

    name = "test-313-no-search-compare"

    def writeback_done(self, entry: MemObject, offset: int) -> Steps:
        yield Acquire(self.tree, "lock", "test: spin_lock(&tree->lock)")
        yield from self.entry_put(entry, "test: drop local reference")
        yield from self.entry_put(entry, "test: drop the tree's reference, unchecked")
        yield Release(self.tree, "lock", "test: spin_unlock(&tree->lock)")


def test_the_search_compare_is_what_keeps_writeback_from_a_double_put() -> None:
    # Invalidate during writeback already dropped the tree's reference; a
    # second unconditional put touches the freed entry.
    assert "use-after-free" in violated(NoSearchCompare, LEAK_SCENARIO)


def _containers_freed(ex: Executor) -> None:
    kinds = {obj.kind: obj.freed for obj in ex.heap.objects.values()}
    assert kinds["zswap_tree"] and kinds["zbud_pool"]
    assert (
        ex.heap.peek(next(o for o in ex.heap.objects.values() if o.kind == "zswap_trees"), "tree")
        is None
    )


def test_swapoff_frees_the_tree_and_the_pool() -> None:
    result = explore_dfs(
        build_program(Zswap313, parse_scenario("store 1 A; store 2 B :: swapoff")),
        stop_on_first=False,
        on_end=_containers_freed,
    )
    assert result.verdict == "pass"


class UnpinnedReclaim(Zswap313):
    """A reclaim no store pins (as if zbud_reclaim_page ran from outside a store)."""

    name = "test-313-unpinned-reclaim"

    def _open_pin(self) -> bool:
        return True

    def _leave_pin(self) -> None:
        pass


def test_reclaim_after_swapoff_would_touch_the_freed_containers() -> None:
    # The kfree(tree)/zbud_destroy_pool lifetime is live in the model: only the
    # store that drives reclaim (holding its page against try_to_unuse) keeps
    # writeback away from them.
    # (The pinned design is clean there: its suite's swapoff-vs-writeback.)
    scenario = "reclaim_retries=1 :: store 1 A :: writeback | swapoff"
    assert "use-after-free" in violated(UnpinnedReclaim, scenario)


def test_a_failed_duplicate_store_lets_writeback_overwrite_newer_data() -> None:
    # The store of B fails (pool full, reclaim cannot evict A: the store holds
    # its page), frontswap clears the bit, zswap keeps A; writeback then writes
    # A over B on the device.
    found = violated(
        Zswap313, "pool_pages=0, reclaim_retries=1 :: store 1 A; store 1 B :: writeback | load 1"
    )
    assert found == {"stale-data"}


def test_expected_violations_name_scenarios_of_the_suite() -> None:
    assert set(Zswap313.expected) <= {name for name, _ in Zswap313.suite}
    assert LEAK_SCENARIO in dict(Zswap313.suite).values()
