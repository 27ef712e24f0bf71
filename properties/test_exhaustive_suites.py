"""Every design's default suite, searched exhaustively, gets exactly its expected verdict.

A design with known races lists, per scenario, the properties it is expected to
violate (``Design.expected``): the suite passes only when exactly those are found
and the search was complete.  A failure saves the counterexample under
``--zmodel-out`` (default ``./counterexamples``) and prints the command that
replays it, from any directory.
"""

from __future__ import annotations

from pathlib import Path

from zmodel.explore import explore_dfs
from zmodel.harness import build_program, unreached
from zmodel.pytest_plugin import save_failure
from zmodel.zswap.designs import Design
from zmodel.zswap.scenario import parse_scenario

Case = tuple[str, type[Design], str, str]


def test_default_suite_verdict(design_scenario: Case, zmodel_out: Path) -> None:
    spec, design, name, text = design_scenario
    scenario = parse_scenario(text)
    coverage: set[str] = set()
    result = explore_dfs(build_program(design, scenario, coverage), stop_on_first=False)
    assert result.exhaustive, f"{design.name} {name}: search cut short: {result.bounds}"
    found = {f.prop: f for f in result.violations}
    expected = design.expected.get(name, frozenset())
    unexpected = sorted(set(found) - expected)
    missing = sorted(expected - set(found))
    notes = []
    for prop in unexpected:
        saved = save_failure(
            spec, design, scenario, found[prop], zmodel_out, engine="dfs", options={}
        )
        notes.append(f"unexpected {prop}: {found[prop].message}\n  zmodel replay {saved}")
    for prop in missing:
        notes.append(f"expected {prop} was not found")
    for label in unreached(design, name, coverage):
        notes.append(f"reachability guard: no run executed {label!r}; a pass here is vacuous")
    assert not notes, f"{design.name} {name} ({text}):\n" + "\n".join(notes)
