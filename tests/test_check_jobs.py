"""check and verify with a back-end: the scenarios' searches in flight together,
handed back, reported, minimised and saved in order (``check.run_jobs``)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from zmodel.check import EXIT_INTERRUPTED, Progress, ScenarioSpec, run_check
from zmodel.explore import EngineOptions
from zmodel.explore.backends import Backend, LocalBackend
from zmodel.explore.inline_backend import InlineBackend
from zmodel.verify import resolve_verify_scenarios, run_verify
from zmodel.zswap.designs import REGISTRY
from zmodel.zswap.scenario import parse_scenario

SCENARIOS = [
    "store 1 A :: writeback | free 1",
    "store 1 A :: load 1 | free 1",
    "store 1 A :: load 1 | writeback",
]
DESIGN = REGISTRY["zswap-3.11"]


def specs() -> list[ScenarioSpec]:
    return [ScenarioSpec(parse_scenario(text)) for text in SCENARIOS]


def check(out: Path, backend: Backend | None, cache: str = "auto", **kwargs: Any) -> Any:
    options = EngineOptions(all_violations=True, extra={"cache": cache})
    return run_check(DESIGN, DESIGN.name, specs(), engine="dpor", options=options, out=out,
                     backend=backend, **kwargs)  # fmt: skip


def summary(report: Any) -> list[tuple[str, str, list[str], list[str]]]:
    return [
        (s.spec.scenario.text, s.verdict, sorted(v.prop for v in s.result.violations),
         sorted(saved.path.name for saved in s.saved))
        for s in report.scenarios
    ]  # fmt: skip


def test_the_scenarios_come_back_in_order_with_every_search_on_the_workers(
    tmp_path: Path,
) -> None:
    """-X cache=on: every search is split (no probe runs a small one whole), so
    several are on the workers at once."""
    events: list[Progress] = []
    reported: list[str] = []
    backend = InlineBackend(2)
    try:
        spread = check(tmp_path / "two", backend, "on", on_progress=events.append,
                       interval=0.0,
                       on_scenario=lambda c: reported.append(c.spec.scenario.text))  # fmt: skip
    finally:
        backend.close()
    one = check(tmp_path / "one", None, "on")
    assert summary(spread) == summary(one)
    assert reported == SCENARIOS
    assert [e.index for e in events if e.done] == [0, 1, 2]
    assert any(len(e.running) >= 2 for e in events if not e.done)
    # The figures are the first search's not handed back; the others are after it.
    assert all(min(e.running, default=e.index) >= e.index for e in events)


@pytest.mark.parametrize("workers", ["inline", "local"])
def test_an_interrupt_reports_the_scenarios_started_in_order(tmp_path: Path, workers: str) -> None:
    def interrupt(event: Progress) -> None:
        if not event.done and event.snapshot.executions:
            raise KeyboardInterrupt

    backend: Backend = InlineBackend(2) if workers == "inline" else LocalBackend(2)
    try:
        report = check(tmp_path, backend, "on", on_progress=interrupt, interval=0.0)
    finally:
        backend.close()
    assert report.interrupted and report.exit_code == EXIT_INTERRUPTED
    texts = [s.spec.scenario.text for s in report.scenarios]
    assert texts == SCENARIOS[: len(texts)] and texts
    cut = [any(b.startswith("interrupted") for b in s.result.bounds) for s in report.scenarios]
    if workers == "inline":  # the units run in turn: the interrupt comes after the first two
        assert cut == [True, True]
    for scenario, interrupted in zip(report.scenarios, cut, strict=True):
        assert interrupted or scenario.result.exhaustive
    for scenario in report.scenarios:
        assert all(saved.path.is_file() for saved in scenario.saved)
        assert len(scenario.saved) == len({v.prop for v in scenario.result.violations})


def test_verify_spreads_both_sides_and_compares_in_order(tmp_path: Path) -> None:
    new, base = REGISTRY["zswap-3.11-leakfix"], REGISTRY["zswap-3.11"]
    scenarios = resolve_verify_scenarios(new, base, SCENARIOS)
    events: list[Progress] = []

    def verify(out: Path, backend: Backend | None) -> Any:
        return run_verify(new, new.name, base, base.name, scenarios, engine="dpor",
                          options=EngineOptions(), out=out, backend=backend,
                          on_progress=events.append)  # fmt: skip

    backend = InlineBackend(2)
    try:
        spread = verify(tmp_path / "two", backend)
    finally:
        backend.close()
    one = verify(tmp_path / "one", None)
    assert [c.scenario.scenario.text for c in spread.comparisons] == SCENARIOS

    def rows(report: Any) -> list[Any]:
        return [(r.prop, r.base, r.new, r.change) for c in report.comparisons for r in c.rows]

    assert rows(spread) == rows(one)
    assert summary(spread.new) == summary(one.new) and summary(spread.base) == summary(one.base)
    # Base, then new, scenario by scenario: each side's results went to its own report.
    for side in (spread.base, spread.new):
        assert [s.spec.scenario.text for s in side.scenarios] == SCENARIOS
    # The spread run's searches are numbered base, new, base, new, ...; each done once.
    done = [e.index for e in events if e.done]
    assert done[: 2 * len(SCENARIOS)] == list(range(2 * len(SCENARIOS)))
