"""A change of one named step of each shipped design is a few lines and changes the verdict.

Each class below overrides one or two steps (a lock scope, a refcount operation,
a free) of a design other than the three of docs/designing-a-change.md, and the
exhaustive search of a small scenario tells it from its base: the step is really
the one the path runs, and overriding it alone is enough.
"""

from __future__ import annotations

import pytest

from zmodel.explore import explore_dfs
from zmodel.harness import build_program
from zmodel.runtime import Call, MemObject
from zmodel.zswap import xarray
from zmodel.zswap.designs import Design
from zmodel.zswap.designs.base import Steps
from zmodel.zswap.designs.zswap_68 import Zswap68
from zmodel.zswap.designs.zswap_311 import Zswap311
from zmodel.zswap.designs.zswap_612 import Zswap612
from zmodel.zswap.designs.zswap_2013 import V4, Zswap2013
from zmodel.zswap.designs.zswap_zsmalloc import WHO, ZswapZsmalloc
from zmodel.zswap.scenario import parse_scenario


class DupKept2013(Zswap2013):  # the duplicate store's put does not free at zero
    name = "t-2013-dup-kept"

    def store_drop_dup(self, dup: MemObject) -> Steps:
        who = f"zswap_frontswap_store {V4}: rb_erase(dup), list_del(&dup->lru), put"
        yield Call(f"{who} (no free)", self._drop_dup, dup)


class DupKeptZsmalloc(ZswapZsmalloc):  # the same on 3.11's paths over zsmalloc
    name = "t-zsmalloc-dup-kept"

    def store_drop_dup(self, dup: MemObject) -> Steps:
        yield Call(f"{WHO}: rb_erase(dup); put (no free)", self._erase_put, dup)


class NoTreeLock311(Zswap311):  # every tree->lock of 3.11 dropped: two overrides
    name = "t-311-no-tree-lock"

    def tree_lock(self, label: str) -> Steps:
        yield Call(f"{label} (not taken)", lambda: None)

    def tree_unlock(self, label: str) -> Steps:
        yield Call(f"{label} (not taken)", lambda: None)


class InvalidateKeeps612(Zswap612):  # zswap_invalidate erases without freeing
    name = "t-612-invalidate-keeps"

    def invalidate_erase(self, offset: int, who: str) -> Steps:
        yield Call(f"{who}: xa_erase (no free)", self._erase_only, offset)

    def _erase_only(self, offset: int) -> None:
        xarray.xa_erase(self.heap, self.xa, offset)


class DupKept68(Zswap68):  # zswap_store erases the duplicate without putting it
    name = "t-68-dup-kept"

    def store_drop_dup(self, offset: int) -> Steps:
        yield from self.tree_lock("zswap_store (6.8): spin_lock(&tree->lock)")
        yield Call("zswap_store (6.8): zswap_rb_erase(dup) (no put)", self._erase_at, offset)
        yield from self.tree_unlock("zswap_store (6.8): spin_unlock(&tree->lock)")


def violated(design: type[Design], scenario: str) -> set[str]:
    result = explore_dfs(build_program(design, parse_scenario(scenario)), stop_on_first=False)
    assert result.exhaustive
    return {f.prop for f in result.violations}


@pytest.mark.parametrize(
    ("change", "scenario", "found"),
    [
        (DupKept2013, "store 1 A :: store 1 B", "leak"),
        (DupKeptZsmalloc, "store 1 A :: store 1 B", "leak"),
        (NoTreeLock311, "serialize=off :: store 1 A :: load 1 | free 1", "use-after-free"),
        (InvalidateKeeps612, "store 1 A :: free 1", "leak"),
        (DupKept68, "store 1 A :: store 1 B", "leak"),
    ],
)
def test_one_step_changed_changes_the_verdict(
    change: type[Design], scenario: str, found: str
) -> None:
    base = change.__mro__[1]
    assert issubclass(base, Design)
    assert found not in violated(base, scenario)
    assert found in violated(change, scenario)
