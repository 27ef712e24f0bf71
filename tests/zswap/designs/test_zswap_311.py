"""zswap-3.11 and its leak-fix variant, checked exhaustively on small scenarios."""

from __future__ import annotations

from typing import ClassVar

from zmodel.explore import explore_dfs
from zmodel.harness import build_program
from zmodel.zswap.designs import Zswap311, resolve_design
from zmodel.zswap.scenario import parse_scenario

LEAK_SCENARIO = "store 1 A :: writeback | free 1"


def violated(design: type[Zswap311], scenario: str) -> set[str]:
    result = explore_dfs(build_program(design, parse_scenario(scenario)), stop_on_first=False)
    assert result.exhaustive
    return {f.prop for f in result.violations}


def test_the_2013_leak_is_found() -> None:
    design = resolve_design("zswap-3.11")
    result = explore_dfs(build_program(design, parse_scenario(LEAK_SCENARIO)))
    assert [f.prop for f in result.violations] == ["leak"]
    labels = [(s.tid, s.label) for s in result.violations[0].trace]
    # The interleaving: writeback takes its reference, invalidate drops the
    # initial one, swapcache_prepare fails on the freed slot, the fail path puts.
    get = labels.index((1, "zswap_writeback_entry: zswap_entry_get"))
    erase = labels.index((2, "zswap_frontswap_invalidate_page: rb_erase; zswap_entry_put"))
    prepare = labels.index((1, "zswap_get_swap_cache_page: swapcache_prepare"))
    fail = labels.index((1, "zswap_writeback_entry fail: zswap_entry_put"))
    assert get < erase < prepare < fail
    assert "zswap_entry" in result.violations[0].message


def test_the_leak_fix_passes_the_same_scenario_exhaustively() -> None:
    result = explore_dfs(
        build_program(resolve_design("zswap-3.11-leakfix"), parse_scenario(LEAK_SCENARIO)),
        stop_on_first=False,
    )
    assert result.verdict == "pass"


def test_plain_load_and_store_are_clean() -> None:
    assert violated(resolve_design("zswap-3.11"), "store 1 A :: load 1") == set()


class NonNegativeRefcount(Zswap311):
    name = "test-311-nonnegative"
    refcount_range: ClassVar[tuple[int | None, int | None]] = (0, None)


def test_refcount_minus_one_is_reachable_and_legal_in_3_11() -> None:
    # 3.11's writeback drops the initial reference a second time when invalidate
    # already dropped it: refcount -1 is a designed state.  Forbid it, and the
    # checker must reach it; allow it (3.11 as shipped), and no refcount violation.
    scenario = "store 1 A :: writeback | free 1"
    assert "refcount" in violated(NonNegativeRefcount, scenario)
    assert "refcount" not in violated(resolve_design("zswap-3.11"), scenario)


def test_writeback_of_a_superseded_entry_leaves_stale_data_in_the_swap_cache() -> None:
    # Writeback holds the old entry while a re-store replaces it; it then fills a
    # fresh swap-cache page with the old data (fixed in later kernels by
    # re-checking the tree after taking the page).
    assert "stale-data" in violated(
        resolve_design("zswap-3.11-leakfix"), "store 1 A :: writeback | store 1 B"
    )
