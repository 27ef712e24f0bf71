"""Every design's default suite, searched exhaustively, gets exactly its expected verdict.

A design with known races lists, per scenario, the properties it is expected to
violate (``Design.expected``): the suite passes only when exactly those are found
and the search was complete.  A failure prints the counterexample and the
command that replays it.
"""

from __future__ import annotations

from pathlib import Path

from zmodel.counterexample.store import from_found, save
from zmodel.explore import explore_dfs
from zmodel.harness import build_program, unreached
from zmodel.zswap.designs import Design
from zmodel.zswap.scenario import parse_scenario

Case = tuple[type[Design], str, str]


def test_default_suite_verdict(design_scenario: Case, tmp_path: Path) -> None:
    design, name, text = design_scenario
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
        cx = from_found(
            found[prop],
            design_cls=design,
            design_source=design.name,
            scenario=scenario,
            engine="dfs",
            options={},
        )
        saved = save(cx, tmp_path)
        notes.append(f"unexpected {prop}: {found[prop].message}\n  zmodel replay {saved.path}")
    for prop in missing:
        notes.append(f"expected {prop} was not found")
    for label in unreached(design, name, coverage):
        notes.append(f"reachability guard: no run executed {label!r}; a pass here is vacuous")
    assert not notes, f"{design.name} {name} ({text}):\n" + "\n".join(notes)
