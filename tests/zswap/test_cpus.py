"""CPUs, migration, hotplug and the per-CPU compression contexts (cpus.py, acomp_ctx.py)."""

from __future__ import annotations

import pytest

from tests.zswap.scenario_runs import covered, end_states, live, violated
from zmodel.harness import build_program
from zmodel.runtime import Executor
from zmodel.zswap.designs import resolve_design
from zmodel.zswap.scenario import ScenarioError, parse_scenario

STORE_VS_UNPLUG = "cpus=2 :: store 1 A | cpu_offline 0"
LOAD_VS_UNPLUG = "cpus=2 :: store 1 A :: load 1 | cpu_offline 0"
DOWN_UP = "cpus=2 :: store 1 A :: load 1 | cpu_offline 0; cpu_online 0"
RETRY = "acomp_ctx_get_cpu_lock: mutex_unlock, retry"


def _cpus(ex: Executor) -> tuple[tuple[bool, ...], tuple[int, ...]]:
    """(the online mask, every task's CPU) at the end of a run."""
    (state,) = (o for o in ex.heap.objects.values() if o.kind == "cpus")
    n = sum(1 for k in state.fields if k.startswith("online"))
    tasks = tuple(o.fields["cpu"] for o in ex.heap.objects.values() if o.kind == "task")
    return tuple(state.fields[f"online{c}"] for c in range(n)), tasks


def test_unplug_moves_every_task_off_the_cpu_and_the_last_cpu_stays() -> None:
    assert end_states("zswap-6.13", "cpus=2 :: store 1 A :: cpu_offline 0", _cpus) == {
        ((False, True), (1, 1))
    }
    last = "cpus=2 :: store 1 A :: cpu_offline 0; cpu_offline 1"
    assert end_states("zswap-6.13", last, _cpus) == {((False, True), (1, 1))}
    back = "cpus=2 :: store 1 A :: cpu_offline 0; cpu_online 0"
    assert end_states("zswap-6.13", back, _cpus) == {((True, True), (1, 1))}


def test_a_context_take_is_a_migration_point() -> None:
    """Two tasks on two CPUs meet on one context only if one of them migrates."""
    labels = covered("zswap-6.13", "cpus=2 :: store 1 A | store 2 B")
    assert "zswap_store_page (6.13): zswap_compress: the scheduler runs the task on a CPU" in labels
    assert violated("zswap-6.13", "cpus=2 :: store 1 A | store 2 B") == set()


def test_unplug_frees_the_dead_cpus_context_and_online_makes_a_new_one() -> None:
    """zswap_cpu_comp_dead frees req and buffer; zswap_cpu_comp_prepare allocates
    them again: one live pair per online CPU at the end."""
    down = "cpus=2 :: store 1 A :: cpu_offline 0"
    assert end_states("zswap-6.13", down, lambda ex: live(ex, "acomp_req")) == {1}
    assert end_states("zswap-6.13", DOWN_UP, lambda ex: live(ex, "acomp_req")) == {2}


def test_cve_2025_21693_before_and_after() -> None:
    """6.12 uses raw_cpu_ptr's context after the task migrated and the CPU died;
    6.13 (12dcb0ef5406) re-checks req under the mutex the dead callback holds."""
    assert violated("zswap-6.12", STORE_VS_UNPLUG) == {"use-after-free"}
    assert violated("zswap-6.12", LOAD_VS_UNPLUG) == {"use-after-free"}
    assert violated("zswap-6.12", DOWN_UP) == {"use-after-free", "bug-on"}
    for scenario in (STORE_VS_UNPLUG, LOAD_VS_UNPLUG, DOWN_UP):
        assert violated("zswap-6.13", scenario) == set()
    # The fix is exercised: a task does find the dead CPU's req NULL and retries.
    assert f"zswap_store_page (6.13): zswap_compress: {RETRY}" in covered(
        "zswap-6.13", STORE_VS_UNPLUG
    )
    assert f"zswap_load (6.13): zswap_decompress: {RETRY}" in covered("zswap-6.13", LOAD_VS_UNPLUG)


def test_writeback_decompresses_with_the_context_too() -> None:
    scenario = "cpus=2 :: store 1 A; writeback :: writeback | cpu_offline 1"
    assert violated("zswap-6.12", scenario) == {"use-after-free"}
    assert violated("zswap-6.13", scenario) == set()


def test_without_cpus_the_contexts_are_not_modelled() -> None:
    labels = covered("zswap-6.12", "store 1 A :: load 1 | store 2 B")
    assert not any("acomp_ctx" in label for label in labels)


@pytest.mark.parametrize(
    "scenario, message",
    [
        ("store 1 A :: cpu_offline 0", "needs the option cpus=N"),
        ("cpus=2 :: store 1 A :: cpu_offline 2", "needs the option cpus=N with N > 2"),
    ],
)
def test_hotplug_needs_its_cpus(scenario: str, message: str) -> None:
    with pytest.raises(ScenarioError, match=message):
        build_program(resolve_design("zswap-6.13"), parse_scenario(scenario))


@pytest.mark.parametrize("text", ["cpus=0 :: store 1 A", "cpus=5 :: store 1 A", "cpu_offline x"])
def test_out_of_range_cpus_do_not_parse(text: str) -> None:
    with pytest.raises(ScenarioError):
        parse_scenario(text)
