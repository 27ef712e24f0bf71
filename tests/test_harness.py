"""The harness: programs from design + scenario, and the reachability guard."""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

from zmodel.check import resolve_scenarios, run_check
from zmodel.explore import EngineOptions, explore_dfs
from zmodel.harness import build_program, unreached
from zmodel.report.text import render_scenario
from zmodel.zswap.designs import Zswap311
from zmodel.zswap.scenario import parse_scenario


class NeverReached(Zswap311):
    name = "test-never-reached"
    reach: ClassVar[dict[str, tuple[str, ...]]] = {
        "store-load": (
            "zswap_writeback_entry: zswap_entry_get",
            "zswap_frontswap_load: zswap_rb_search",
        ),
    }


def test_coverage_collects_every_executed_label() -> None:
    coverage: set[str] = set()
    explore_dfs(build_program(Zswap311, parse_scenario("store 1 A :: load 1"), coverage))
    assert "zswap_frontswap_load: zswap_entry_get" in coverage
    assert "zswap_writeback_entry: zswap_entry_get" not in coverage


def test_a_window_no_run_opens_is_reported_unreached() -> None:
    coverage: set[str] = set()
    explore_dfs(build_program(NeverReached, parse_scenario("store 1 A :: load 1"), coverage))
    assert unreached(NeverReached, "store-load", coverage) == [
        "zswap_writeback_entry: zswap_entry_get"
    ]


def test_check_says_a_vacuous_pass_is_vacuous(tmp_path: Path) -> None:
    specs = resolve_scenarios(NeverReached, ["store-load"])
    report = run_check(
        NeverReached, NeverReached.name, specs, engine="dfs", options=EngineOptions(), out=tmp_path
    )
    text = render_scenario(report.scenarios[0])
    assert "PASS (exhaustive)" in text
    assert "racy window NOT reached" in text and "vacuous" in text


def test_check_confirms_a_reached_window(tmp_path: Path) -> None:
    specs = resolve_scenarios(Zswap311, ["load-vs-writeback"])
    report = run_check(
        Zswap311, Zswap311.name, specs, engine="dfs", options=EngineOptions(), out=tmp_path
    )
    assert "guard: racy window reached" in render_scenario(report.scenarios[0])
