"""swapoff as the kernel runs it (issue 13): try_to_unuse, the wait for the device's
users, the user whose pte swapoff took over, and the reachability guard."""

from __future__ import annotations

import pytest

from zmodel.explore import explore_dpor
from zmodel.harness import build_program, unreached
from zmodel.zswap.designs import resolve_design
from zmodel.zswap.scenario import parse_scenario

FREE_VS_SWAPOFF = "store 1 A :: free 1 | swapoff"


def violated(design: str, scenario: str) -> set[str]:
    program = build_program(resolve_design(design), parse_scenario(scenario))
    result = explore_dpor(program, stop_on_first=False)
    assert result.exhaustive
    return {f.prop for f in result.violations}


@pytest.mark.parametrize("design", ["zswap-3.13", "zswap-6.8", "zswap-6.12"])
def test_a_free_racing_swapoff_is_no_false_alarm(design: str) -> None:
    """The kernel waits for the free (get_swap_device in 6.x, p->lock in 3.13) before
    zswap frees its tree; the model used to free it under the free (use-after-free)."""
    assert violated(design, FREE_VS_SWAPOFF) == set()


def test_writeback_and_free_racing_swapoff_on_612() -> None:
    assert violated("zswap-6.12", "store 1 A; writeback :: writeback | free 1; swapoff") == set()


@pytest.mark.parametrize("design", ["zswap-3.11", "zswap-3.13", "zswap-6.12"])
def test_a_user_whose_slot_swapoff_took_over_frees_nothing(design: str) -> None:
    """unuse_pte replaces the user's pte: its later free must not free the slot
    again (the model used to report a bug-on "free of a swap slot not in use")."""
    assert "bug-on" not in violated(design, "store 1 A :: swapoff | free 1")
    assert violated(design, "store 1 A :: swapoff | load 1; free 1") == set()


@pytest.mark.parametrize("design", ["zswap-3.13", "zswap-6.12"])
def test_swapoff_fails_with_enomem_instead_of_losing_data(design: str) -> None:
    """A swapin page allocation that fails makes try_to_unuse return -ENOMEM: the
    device stays, and so does the data (no data-loss)."""
    assert violated(design, "alloc_failures=on :: store 1 A :: swapoff") == set()
    assert violated(design, "alloc_failures=on :: store 1 A :: swapoff | load 1") == set()


def test_the_shrinker_vs_swapoff_use_after_free_of_68_is_still_found() -> None:
    """Fixed in 6.9 (5878303c5353): the shrinker takes tree->lock before any device
    reference, so waiting for the device's users does not save it."""
    assert "use-after-free" in violated("zswap-6.8", "store 1 A :: writeback | swapoff")


def test_a_writeback_that_only_rotates_is_flagged_as_not_reaching_its_window() -> None:
    design = resolve_design("zswap-6.12")
    coverage: set[str] = set()
    scenario = parse_scenario("store 1 A :: writeback | free 1; store 1 B")
    result = explore_dpor(build_program(design, scenario, coverage))
    assert result.exhaustive and not result.violations
    assert unreached(design, None, coverage, scenario) == ["writeback: zswap_writeback_entry"]
    # With the referenced bit cleared in the setup, writeback really runs.
    coverage = set()
    scenario = parse_scenario("store 1 A; writeback :: writeback | free 1; store 1 B")
    explore_dpor(build_program(design, scenario, coverage))
    assert unreached(design, None, coverage, scenario) == []


def _tree_after_swapoff(design: str) -> tuple[bool, int]:
    """(tree freed, entries left) at the end of 'store 1 A :: swapoff'."""
    from zmodel.explore import explore_dfs
    from zmodel.runtime import Executor

    seen: list[tuple[bool, int]] = []

    def on_end(ex: Executor) -> None:
        heap = ex.heap
        tree = next(o for o in heap.objects.values() if o.kind == "zswap_tree")
        entries = [o for o in heap.objects.values() if o.kind == "zswap_entry" and not o.freed]
        seen.append((tree.freed, len(entries)))

    program = build_program(resolve_design(design), parse_scenario("store 1 A :: swapoff"))
    explore_dfs(program, on_end=on_end)
    assert len(set(seen)) == 1
    return seen[0]


def test_311_swapoff_never_reaches_zswap_and_313_frees_the_tree() -> None:
    """3.11 clears the frontswap map before frontswap_invalidate_area, which then
    returns at once: the (empty) tree stays.  3.13 frees it."""
    assert _tree_after_swapoff("zswap-3.11") == (False, 0)
    assert _tree_after_swapoff("zswap-3.13") == (True, 0)


def test_re_swapon_leaks_the_tree_on_311_and_not_after() -> None:
    """3.11's swapoff never frees the tree and pool; the init at swapon overwrites
    zswap_trees[type] (zswap_frontswap_init): both leak.  From 3.13 on swapoff
    reaches zswap_frontswap_invalidate_area before it clears the frontswap map."""
    scenario = "store 1 A :: swapoff; swapon"
    assert violated("zswap-3.11", scenario) == {"leak"}
    for design in ("zswap-3.13", "zswap-6.8", "zswap-6.12"):
        assert violated(design, scenario) == set()
        assert violated(design, "store 1 A :: swapoff | swapon") == set()
        assert violated(design, "store 1 A :: swapoff; swapon; store 1 B; load 1") == set()


def test_swapon_is_busy_while_the_device_is_on_or_a_swapoff_runs() -> None:
    # A swapon that comes first, or overlaps the swapoff, is -EBUSY and changes
    # nothing: the store after it still finds the device on (or gone).
    assert violated("zswap-6.12", "store 1 A :: swapon | swapoff; store 1 B") == set()
    assert violated("zswap-6.12", "store 1 A :: swapon; free 1") == set()


def test_a_design_without_swapon_refuses_it() -> None:
    from zmodel.zswap.scenario import ScenarioError

    with pytest.raises(ScenarioError, match="no 'swapon' operation"):
        build_program(resolve_design("zswap-2013"), parse_scenario("store 1 A :: swapoff; swapon"))


def test_a_window_only_the_setup_opened_does_not_count() -> None:
    """6.8's setup writeback empties the LRU: the thread's writeback finds nothing.
    The setup's own zswap_writeback_entry must not satisfy the guard."""
    design = resolve_design("zswap-6.8")
    coverage: set[str] = set()
    scenario = parse_scenario("store 1 A; writeback :: load 1 | writeback")
    assert not explore_dpor(build_program(design, scenario, coverage)).violations
    assert unreached(design, None, coverage, scenario) == ["writeback: zswap_writeback_entry"]
