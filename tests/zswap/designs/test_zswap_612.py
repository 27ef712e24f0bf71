"""zswap-6.12: xarray ownership by removal, writeback claims the entry by xa_cmpxchg."""

from __future__ import annotations

from typing import Any

from zmodel.explore import explore_dfs
from zmodel.harness import build_program
from zmodel.runtime import Call, Executor
from zmodel.zswap import xarray
from zmodel.zswap.designs import Design, Zswap612, resolve_design
from zmodel.zswap.designs.base import Steps
from zmodel.zswap.scenario import parse_scenario

LEAK_SCENARIO = "store 1 A :: writeback | free 1"
RECYCLE = "store 1 A; writeback :: writeback | free 1; store 1 B"


def violated(design: type[Design], scenario: str) -> set[str]:
    result = explore_dfs(build_program(design, parse_scenario(scenario)), stop_on_first=False)
    assert result.exhaustive
    return {f.prop for f in result.violations}


def test_the_2013_leak_scenario_is_clean() -> None:
    design = resolve_design("zswap-6.12")
    assert violated(design, LEAK_SCENARIO) == set()
    # With the referenced bit already cleared, the racing pass really writes back.
    assert violated(design, "store 1 A; writeback :: writeback | free 1") == set()


def _rotated_only(ex: Executor) -> None:
    heap = ex.heap
    xa = next(o for o in heap.objects.values() if o.kind == "xarray")
    [entry] = xarray.entries_peek(heap, xa).values()
    assert heap.peek(entry, "referenced") is False
    assert not any(
        o.kind == "page" and not o.freed and heap.peek(o, "PG_locked")
        for o in heap.objects.values()
    )


def test_a_fresh_entry_gets_a_second_chance() -> None:
    # One shrinker pass over a referenced entry only clears the bit and rotates.
    result = explore_dfs(
        build_program(Zswap612, parse_scenario("store 1 A :: writeback")), on_end=_rotated_only
    )
    assert result.verdict == "pass"


def test_cmpxchg_fails_when_the_entry_was_invalidated_and_recycled() -> None:
    program = build_program(Zswap612, parse_scenario(RECYCLE))
    runs: list[Executor] = []

    def recorded() -> Executor:
        ex = program()
        runs.append(ex)
        return ex

    result = explore_dfs(recorded, stop_on_first=False)
    assert result.verdict == "pass"
    labels = [[s.label for s in ex.trace if s.tid == 1] for ex in runs]
    # Some run takes the folio, finds the slot rebound to the new entry, and
    # backs out: delete_from_swap_cache, folio_unlock.
    assert any(
        "zswap_writeback_entry (6.12): folio_unlock" in run
        and any("xa_cmpxchg" in label for label in run)
        for run in labels
    )


class TrustTheStack(Zswap612):
    """Writeback uses its stack copy of the entry without claiming it."""

    name = "test-612-trust-the-stack"

    def _claim(self, offset: int, entry: Any) -> Any:
        xarray.xa_erase(self.heap, self.xa, offset)
        return entry


def test_without_the_cmpxchg_writeback_touches_a_freed_entry() -> None:
    assert "use-after-free" in violated(TrustTheStack, RECYCLE)


class NoCheckOld(Zswap612):
    """zswap_store whose failure path keeps the old entry."""

    name = "test-612-no-check-old"

    def check_old(self, offset: int, who: str) -> Steps:
        yield Call(f"{who}: (no check_old)", lambda: None)
        return False


def test_check_old_drops_the_stale_entry_when_a_store_fails() -> None:
    scenario = "alloc_failures=on :: store 1 A :: store 1 B; load 1"
    assert violated(Zswap612, scenario) == set()
    assert "stale-data" in violated(NoCheckOld, scenario)


class NoInvalidate(Zswap612):
    name = "test-612-no-invalidate"

    def invalidate_page(self, offset: int) -> Steps:
        yield Call("zswap_invalidate (test): nothing", lambda: None)


def test_an_entry_left_at_swapoff_is_reported_lost() -> None:
    # zswap_swapoff only WARNs on a non-empty xarray and frees the array.
    assert violated(NoInvalidate, "store 1 A :: free 1; swapoff") == {"leak"}
