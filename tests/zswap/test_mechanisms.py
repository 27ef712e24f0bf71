"""Every optional mechanism runs on each design that has it and is refused elsewhere."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from zmodel.cli import cli
from zmodel.explore import explore_dpor
from zmodel.harness import build_program
from zmodel.zswap.designs import REGISTRY, Design
from zmodel.zswap.scenario import OpKind, ScenarioError, parse_scenario

#: mechanism -> (a scenario using it, whether a design has it)
MECHANISMS = {
    "swapon": ("store 1 A :: swapoff; swapon | load 1", lambda d: OpKind.SWAPON in d.ops),
    "shrink": ("store 1 A; store 2 B :: shrink 2 | free 1", lambda d: OpKind.SHRINK in d.ops),
    "swapcache_bypass": (
        "swapcache_bypass=on :: store 1 A :: load 1 | free 1",
        lambda d: "swapcache_bypass" in d.knobs,
    ),
    "exclusive_loads": (
        "exclusive_loads=on :: store 1 A :: load 1",
        lambda d: "exclusive_loads" in d.knobs,
    ),
    "slot_cache": (
        "slot_cache=on :: store 1 A :: free 1 | writeback",
        lambda d: "slot_cache" in d.knobs,
    ),
    "cpus": ("cpus=2 :: store 1 A | store 2 B", lambda d: "cpus" in d.knobs),
    "cpu_offline": (
        "cpus=2 :: store 1 A :: load 1 | cpu_offline 1",
        lambda d: OpKind.CPU_OFFLINE in d.ops,
    ),
    "cpu_online": (
        "cpus=2 :: store 1 A :: cpu_online 1 | load 1",
        lambda d: OpKind.CPU_ONLINE in d.ops,
    ),
    "pool_switch": ("store 1 A :: pool_switch | free 1", lambda d: OpKind.POOL_SWITCH in d.ops),
    "zswap_off": ("store 1 A :: zswap_off; store 1 B", lambda d: OpKind.ZSWAP_OFF in d.ops),
    "zswap_on": ("store 1 A :: zswap_on; store 1 B", lambda d: OpKind.ZSWAP_ON in d.ops),
}


def _has(design: type[Design], mechanism: str) -> bool:
    has: bool = MECHANISMS[mechanism][1](design)  # type: ignore[no-untyped-call]
    return has


@pytest.mark.parametrize("mechanism", sorted(MECHANISMS))
@pytest.mark.parametrize("name", sorted(REGISTRY))
def test_a_mechanism_runs_where_the_kernel_has_it(name: str, mechanism: str) -> None:
    design = REGISTRY[name]
    scenario = parse_scenario(MECHANISMS[mechanism][0])
    if not _has(design, mechanism):
        with pytest.raises(ScenarioError, match=f"has no '{mechanism}'"):
            build_program(design, scenario)
        return
    result = explore_dpor(build_program(design, scenario), stop_on_first=False)
    assert result.exhaustive and result.stats.executions >= 1


def test_every_mechanism_is_somewhere() -> None:
    for mechanism in MECHANISMS:
        assert any(_has(d, mechanism) for d in REGISTRY.values()), mechanism


def test_the_cli_refuses_a_missing_mechanism_in_one_line_with_exit_2() -> None:
    result = CliRunner().invoke(
        cli, ["check", "--design", "zswap-3.13", "--scenario", "slot_cache=on :: store 1 A"]
    )
    assert result.exit_code == 2
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and "no 'slot_cache' mechanism" in lines[0]
