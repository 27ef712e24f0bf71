"""zswap-6.8's pools and per-CPU contexts: kref lifetime, a list_lru per pool, the
shrink work's reference, CVE-2025-21693 (and its fix in zswap-6.13)."""

from __future__ import annotations

from zmodel.explore import explore_dpor
from zmodel.harness import build_program
from zmodel.runtime import Call, Executor, MemObject
from zmodel.zswap.designs import REGISTRY, Zswap68
from zmodel.zswap.designs.base import Steps
from zmodel.zswap.designs.zswap_68 import SUITE_68
from zmodel.zswap.scenario import parse_scenario

from ..scenario_runs import covered, end_states, live, violated

SUITE = dict(SUITE_68)
RELEASED = "__zswap_pool_empty: WARN_ON(pool == current); list_del_rcu"


def test_the_old_pool_lives_until_its_last_entry_goes() -> None:
    # pool_switch puts the old pool's initial reference; entry A still holds it.
    pools = end_states("zswap-6.8", "store 1 A :: pool_switch", lambda ex: live(ex, "zswap_pool"))
    assert pools == {2}
    freed = end_states(
        "zswap-6.8", "store 1 A :: pool_switch | free 1", lambda ex: live(ex, "zswap_pool")
    )
    assert freed == {1}  # the entry's put released it, in every order
    assert any(
        label.endswith(RELEASED) for label in covered("zswap-6.8", SUITE["pool-switch-vs-free"])
    )


def _lru_of_every_pool(ex: Executor) -> tuple[int, ...]:
    lrus = (o for o in ex.heap.objects.values() if o.kind == "list_lru" and not o.freed)
    return tuple(sorted(len(o.fields["items"]) for o in lrus))


def test_each_pool_has_its_own_lru_and_writeback_walks_the_current_one() -> None:
    # After the switch the entry stays on the old pool's list_lru: shrink_memcg
    # walks the current pool's, which is empty, so nothing is written back.
    ends = end_states("zswap-6.8", "store 1 A :: pool_switch; writeback", _lru_of_every_pool)
    assert ends == {(0, 1)}


def test_the_shrink_work_holds_the_oldest_pool() -> None:
    labels = covered("zswap-6.8", SUITE["shrink-work-vs-switch"])
    assert "shrink_worker (6.8): work starts (PENDING cleared)" in labels
    assert f"shrink_worker (6.8): {RELEASED}" in labels  # its put was the last


class ShrinkWorkUnpinned(Zswap68):
    """A store over the limit that queues the shrink work without zswap_pool_last_get's
    reference (a mutant of 6.8): the worker's put is one too many."""

    name = "test-68-shrink-work-unpinned"

    def queue_shrink_work(self, who: str) -> Steps:
        pool = yield Call(f"{who}: shrink: queue_work (no pool reference)", self._oldest)
        yield from self.shrink_worker(pool)

    def _oldest(self) -> MemObject:
        pool: MemObject = next(p for p in self.pools.pools if not p.freed)
        return pool


def test_a_shrink_work_without_its_reference_is_caught() -> None:
    assert violated("zswap-6.8", SUITE["shrink-work-vs-switch"]) == set()
    program = build_program(ShrinkWorkUnpinned, parse_scenario(SUITE["shrink-work-vs-switch"]))
    result = explore_dpor(program, stop_on_first=False)
    assert {"use-after-free", "bug-on"} & {f.prop for f in result.violations}


def test_cve_2025_21693_on_6_8_and_its_fix_in_6_13() -> None:
    for name in ("hotplug-vs-store", "hotplug-vs-load"):
        assert violated("zswap-6.8", SUITE[name]) == {"use-after-free"}
        assert violated("zswap-6.13", SUITE[name]) == set()
    assert "cpus" in REGISTRY["zswap-6.8"].knobs
