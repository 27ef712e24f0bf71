"""``zmodel new-design``'s starting file (zmodel/scaffold.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from zmodel.design_contract import check_design
from zmodel.scaffold import class_name, scaffold, steps_of
from zmodel.zswap.designs import resolve_design


def test_the_named_steps_a_change_overrides_are_listed() -> None:
    steps = {name: doc for name, _, doc in steps_of(resolve_design("zswap-6.12"))}
    for step in ("writeback_take_folio", "writeback_claim", "writeback_write", "store"):
        assert step in steps
    assert steps["writeback_claim"].startswith("xa_cmpxchg(tree, offset, entry, NULL)")
    assert "holds" not in steps  # a view, not a step
    assert "load_find_get" in {name for name, _, _ in steps_of(resolve_design("zswap-3.11"))}


#: Per shipped design, named steps of each path (store, load, invalidate,
#: writeback, swapoff) and its lock scopes that a change overrides alone.
def _names(text: str) -> list[str]:
    return text.split()


NAMED_STEPS = {
    "zswap-3.11": _names("""tree_lock tree_unlock store_reclaim_if_full store_alloc_entry
        store_compress store_insert store_drop_dup load_find_get load_put invalidate_erase_put
        invalidate_area_entry writeback_find_get writeback_take_page writeback_done
        writeback_fail"""),
    "zswap-3.13": _names("""entry_put store_drop_dup load_put invalidate_erase_put
        swapoff_wait_reclaim invalidate_area_entries writeback_done"""),
    "zswap-2013": _names("""tree_lock store_compress store_insert store_drop_dup load_find_get
        load_put invalidate_erase_put flush_dequeue flush_putback flush_page_exists flush_write
        flush_done"""),
    "zswap-2013-norefcount": _names("""load_find_get load_put invalidate_erase_put flush_done"""),
    "zswap-zsmalloc": _names("""store_compress store_insert writeback_find_get load_put"""),
    "zswap-6.12": _names("""store_check_limits store_alloc_entry store_publish store_lru_add
        load_take load_exclusive_free invalidate_erase swapoff_check_empty swapoff_free_trees
        writeback_claim writeback_take_folio acomp_ctx_lock"""),
    "zswap-6.13": _names("""store_page_alloc_entry store_page_publish store_page_finish"""),
    "zswap-6.8": _names("""tree_lock tree_unlock store_drop_dup store_may_store store_alloc_entry
        store_compress store_insert load_find_get load_done load_invalidate load_put
        invalidate_erase_put swapoff_free_entries shrink_memcg_cb writeback_entry
        queue_shrink_work shrink_worker acomp_ctx_lock entry_put free_entry"""),
}


@pytest.mark.parametrize("design", sorted(NAMED_STEPS))
def test_every_path_is_built_from_named_steps(design: str) -> None:
    cls = resolve_design(design)
    steps = {name: doc for name, _, doc in steps_of(cls)}
    for step in NAMED_STEPS[design]:
        assert step in steps, step
        # Each step names the kernel function (and version) it models.
        assert steps[step], step


def test_design_defaults_are_not_listed() -> None:
    # zswap-3.13's kernel has no shrinker or pool switch: Design's defaults are no steps.
    steps = {name for name, _, _ in steps_of(resolve_design("zswap-3.13"))}
    assert not steps & {"shrink", "pool_switch", "cpu_dead", "set_enabled"}


@pytest.mark.parametrize(
    "base", ["zswap-3.11", "zswap-2013", "zswap-zsmalloc", "zswap-6.8", "zswap-6.12", "zswap-6.13"]
)
def test_the_starting_file_loads_and_keeps_the_contract(base: str, tmp_path: Path) -> None:
    path = tmp_path / "mine.py"
    path.write_text(scaffold(resolve_design(base), base, "my-change"))
    cls = resolve_design(f"{path}:{class_name('my-change')}")
    assert cls.name == "my-change"
    assert check_design(cls) == []


def test_class_names() -> None:
    assert class_name("my-612-early-claim") == "My612EarlyClaim"
    assert class_name("612") == "D612"
