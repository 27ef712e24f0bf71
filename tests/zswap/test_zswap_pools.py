"""The zswap pools of 6.12+: references, pool_switch, release; zswap.enabled."""

from __future__ import annotations

import pytest

from tests.zswap.scenario_runs import covered, end_states, live, violated
from zmodel.runtime import Executor


def _pools(ex: Executor) -> tuple[int, tuple[int, ...]]:
    """(pools still allocated, the references of each)."""
    pools = [o for o in ex.heap.objects.values() if o.kind == "zswap_pool" and not o.freed]
    return len(pools), tuple(p.fields["ref"] for p in pools)


@pytest.mark.parametrize("design", ["zswap-6.12", "zswap-6.13"])
def test_each_entry_holds_a_pool_reference(design: str) -> None:
    """One reference for being current, one per entry (6.13's store puts its own)."""
    assert end_states(design, "store 1 A; store 2 B :: load 2", _pools) == {(1, (2,))}


@pytest.mark.parametrize("design", ["zswap-6.12", "zswap-6.13"])
def test_a_switched_pool_is_released_with_its_last_entry(design: str) -> None:
    kept = "store 1 A :: pool_switch"
    assert end_states(design, kept, _pools) == {(2, (1, 1))}  # the old pool's entry holds it
    gone = "store 1 A :: pool_switch; free 1"
    assert end_states(design, gone, _pools) == {(1, (1,))}
    assert end_states(design, gone, lambda ex: live(ex, "zpool")) == {1}


@pytest.mark.parametrize("design", ["zswap-6.12", "zswap-6.13"])
def test_a_pool_switch_racing_the_paths_is_safe(design: str) -> None:
    assert violated(design, "store 1 A :: pool_switch | free 1") == set()
    assert violated(design, "store 1 A; writeback :: pool_switch | writeback | free 1") == set()
    hotplug = violated(design, "cpus=2 :: store 1 A :: pool_switch | load 1 | cpu_offline 0")
    assert hotplug == ({"use-after-free"} if design == "zswap-6.12" else set())  # the CVE


def test_a_switch_that_fails_keeps_the_current_pool() -> None:
    scenario = "alloc_failures=on :: store 1 A :: pool_switch; store 2 B"
    assert violated("zswap-6.13", scenario) == set()


@pytest.mark.parametrize("design", ["zswap-6.8", "zswap-6.12", "zswap-6.13"])
def test_a_store_while_zswap_is_off_drops_the_old_entry(design: str) -> None:
    """check_old (6.12) / the dup invalidate before the enabled test (6.8): else
    writeback could write the old data over the newer block."""
    scenario = "store 1 A :: zswap_off; store 1 B"
    assert end_states(design, scenario, lambda ex: live(ex, "zswap_entry")) == {0}
    assert violated(design, "store 1 A; writeback :: zswap_off; store 1 B | writeback") == set()
    on_again = "store 1 A :: zswap_off; store 1 B; zswap_on; store 1 C; load 1"
    assert violated(design, on_again) == set()
    assert any(
        "zswap_enabled?" in label for label in covered(design, "store 1 A :: zswap_off; store 2 B")
    )
