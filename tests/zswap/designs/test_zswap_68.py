"""zswap-6.8: refcounted rbtree, zswap-owned LRU, exclusive loads, the swapoff race."""

from __future__ import annotations

import pytest

from zmodel.explore import explore_dfs
from zmodel.harness import build_program
from zmodel.runtime import Acquire, Call, Executor, MemObject, Release
from zmodel.zswap import list_lru
from zmodel.zswap.designs import Design, Zswap68, resolve_design
from zmodel.zswap.designs.base import Steps
from zmodel.zswap.designs.zswap_68 import ENOMEM
from zmodel.zswap.scenario import ScenarioError, parse_scenario

LEAK_SCENARIO = "store 1 A :: writeback | free 1"


def violated(design: type[Design], scenario: str) -> set[str]:
    result = explore_dfs(build_program(design, parse_scenario(scenario)), stop_on_first=False)
    assert result.exhaustive
    return {f.prop for f in result.violations}


def test_the_2013_leak_scenario_is_clean() -> None:
    assert violated(resolve_design("zswap-6.8"), LEAK_SCENARIO) == set()


def test_writeback_locks_a_tree_swapoff_freed() -> None:
    # shrink_memcg_cb reads zswap_trees[type] under the lru lock, drops it, and
    # takes tree->lock later with nothing pinning the tree (5878303c5353).
    result = explore_dfs(build_program(Zswap68, parse_scenario("store 1 A :: writeback | swapoff")))
    [found] = result.violations
    assert found.prop == "use-after-free"
    assert "zswap_tree" in found.message
    steps = [(s.tid, s.label) for s in found.trace]
    read_tree = next(
        i for i, (t, label) in enumerate(steps) if t == 1 and "zswap_trees[type]" in label
    )
    kfree = next(i for i, (t, label) in enumerate(steps) if t == 2 and "kfree(tree)" in label)
    assert read_tree < kfree
    assert found.trace[found.step_index].tid == 1
    assert "shrink_memcg_cb" in found.trace[found.step_index].label


def _exclusive_end(ex: Executor) -> None:
    heap = ex.heap
    slot = next(o for o in heap.objects.values() if o.kind == "swap_slot")
    page = heap.peek(slot, "cache")
    assert page is not None and heap.peek(page, "dirty") and heap.peek(page, "data") == "A"
    tree = next(o for o in heap.objects.values() if o.kind == "zswap_tree")
    assert heap.peek(tree, "rb_node") is None


def test_an_exclusive_load_leaves_the_only_copy_in_a_dirty_swap_cache_page() -> None:
    scenario = parse_scenario("exclusive_loads=on :: store 1 A :: load 1")
    result = explore_dfs(build_program(Zswap68, scenario), on_end=_exclusive_end)
    assert result.verdict == "pass"


def test_exclusive_loads_are_off_by_default_as_in_the_kernel() -> None:
    """CONFIG_ZSWAP_EXCLUSIVE_LOADS_DEFAULT_ON defaults to n (mm/Kconfig of 6.8)."""
    for text in ("store 1 A :: load 1", "exclusive_loads=off :: store 1 A :: load 1"):
        result = explore_dfs(build_program(Zswap68, parse_scenario(text)), on_end=_shared_end)
        assert result.verdict == "pass"
    on = "exclusive_loads=on :: store 1 A :: load 1 | writeback"
    assert violated(Zswap68, on) == set()


@pytest.mark.parametrize("design", ["zswap-6.12", "zswap-3.11", "zswap-3.13"])
def test_designs_without_the_knob_refuse_it(design: str) -> None:
    with pytest.raises(ScenarioError, match="no 'exclusive_loads' mechanism"):
        build_program(resolve_design(design), parse_scenario("exclusive_loads=on :: load 1"))


class SharedLoads(Zswap68):
    name = "test-68-shared-loads"
    exclusive_loads = False


def _shared_end(ex: Executor) -> None:
    tree = next(o for o in ex.heap.objects.values() if o.kind == "zswap_tree")
    entry = ex.heap.peek(tree, "rb_node")
    assert entry is not None and ex.heap.peek(entry, "refcount") == 1


def test_with_exclusive_loads_off_the_entry_stays_and_is_rotated() -> None:
    result = explore_dfs(
        build_program(SharedLoads, parse_scenario("store 1 A :: load 1")), on_end=_shared_end
    )
    assert result.verdict == "pass"
    assert violated(SharedLoads, "store 1 A :: load 1 | writeback") == set()


class NoRecheck(Zswap68):
    """zswap_writeback_entry without the tree re-check of 04fc7816089c (6.4)."""

    name = "test-68-no-recheck"

    def writeback_entry(self, entry: MemObject, offset: int) -> Steps:
        folio, allocated = yield from self.swap.read_swap_cache_async(
            offset, "test", skip_if_exists=True
        )
        if folio is None or not allocated:
            return ENOMEM
        yield Acquire(self.tree, "lock", "test: spin_lock(&tree->lock)")
        yield Release(self.tree, "lock", "test: spin_unlock(&tree->lock)")
        yield from self._write_back(entry, offset, folio)
        return 0

    def _write_back(self, entry: MemObject, offset: int, folio: MemObject) -> Steps:
        yield Call("test: __zswap_load", self._decompress, entry, folio)
        yield from self.swap.swap_writepage(offset, folio)


def test_the_tree_recheck_after_taking_the_folio_prevents_stale_writeback() -> None:
    scenario = "store 1 A :: writeback | free 1; store 1 B"
    assert violated(Zswap68, scenario) == set()
    assert "stale-data" in violated(NoRecheck, scenario)


class SwapoffRaceFixed(Zswap68):
    """6.8 with 5878303c5353 (6.9): the tree is touched only under the folio lock.

    shrink_memcg_cb rotates the entry and copies its swap entry under the lru
    lock; zswap_writeback_entry takes the folio first, then looks the tree up,
    checks the binding and erases the entry under tree->lock (now its owner).
    """

    name = "test-68-swapoff-race-fixed"

    def writeback(self) -> Steps:
        picked = yield Call("test: lru lock; list_move_tail; swpentry; unlock", self._rotate_head)
        if picked is not None:
            yield from self.writeback_entry(*picked)

    def writeback_entry(self, entry: MemObject, offset: int) -> Steps:
        folio, allocated = yield from self.swap.read_swap_cache_async(
            offset, "test", skip_if_exists=True
        )
        if folio is None or not allocated:
            return ENOMEM
        yield Acquire(self.tree, "lock", "test: spin_lock(&tree->lock)")
        owned = yield Call(
            "test: zswap_rb_search == entry; zswap_rb_erase", self._claim, entry, offset
        )
        yield Release(self.tree, "lock", "test: spin_unlock(&tree->lock)")
        if not owned:
            yield from self.swap.delete_from_swap_cache(offset, folio)
            yield Release(folio, "PG_locked", "test: folio_unlock")
            return ENOMEM
        yield Call("test: __zswap_load", self._decompress, entry, folio)
        yield from self.free_entry(entry, "test")
        yield from self.swap.swap_writepage(offset, folio)
        return 0

    def _rotate_head(self) -> tuple[MemObject, int] | None:
        lru = self.heap.get(self.heap.get(self.pools.head, "current"), "list_lru")
        entry = list_lru.head(self.heap, lru)
        if entry is None:
            return None
        list_lru.move_tail(self.heap, lru, entry)
        offset: int = self.heap.get(entry, "offset")
        return entry, offset

    def _claim(self, entry: MemObject, offset: int) -> bool:
        if self._search(offset) is not entry:
            return False
        self._unlink(entry)
        self.set_refcount(entry, 0)  # the tree's reference, now the writer's
        return True


def test_the_6_9_fix_closes_the_swapoff_race() -> None:
    assert violated(SwapoffRaceFixed, "store 1 A :: writeback | swapoff") == set()
    assert violated(SwapoffRaceFixed, "store 1 A :: writeback | free 1; store 1 B") == set()
