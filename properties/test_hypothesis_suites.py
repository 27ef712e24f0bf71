"""Every design under Hypothesis (profile ``ci``): suite scenarios, generated ones, a state machine.

For each registered design (or each ``pytest properties --zmodel-design D``):

* on every scenario of its default suite, the Hypothesis engine must find each
  violation the design is expected to have there (``Design.expected``; on
  ``zswap-3.11``'s ``writeback-vs-free`` that is the 2013 leak) and nothing
  else.  The ``ci`` profile is tried first; an expected violation it misses is
  searched for again under ``thorough`` (with a warning naming it), and only a
  miss there fails;
* on generated scenarios (swarm over operation kinds, a few slots, up to three
  threads) and in the state machine over operations and steps, no property may
  fail that the design is not expected to violate in some scenario of its
  suite (or inherits from the design it is a variant of, see
  :func:`known_violations`).  A design that shows the swap layer's known failed-duplicate-store bug
  (:data:`SWAP_LAYER_WITNESSES`) is searched without the scenarios that trigger
  it, so that the search finds other bugs instead of that one in every guise.

A failure saves the counterexample under ``--zmodel-out`` (default
``./counterexamples``) and prints its file and the ``zmodel replay`` command.
``ci`` is derandomised: the same examples run every time, so a pass or a
failure is reproducible.
"""

from __future__ import annotations

import functools
import warnings
from pathlib import Path

import pytest
from hypothesis import strategies as st

from zmodel.design_spec import resolve
from zmodel.explore import Found, Program, explore_dfs
from zmodel.explore.hypothesis_engine import found_of, hunt
from zmodel.explore.randomwalk import count_preemptions
from zmodel.harness import build_program
from zmodel.pytest_plugin import save_failure, selected_designs
from zmodel.stateful import run_machine
from zmodel.zswap.designs import REGISTRY, Design
from zmodel.zswap.scenario import Scenario, parse_scenario
from zmodel.zswap.strategies import scenarios

PROFILE = "ci"
#: The state machine's examples are dearer (every added operation replays the
#: run so far); this many keeps the suite's time in bounds.
MACHINE_EXAMPLES = 100
#: Suite scenarios with no expected violation are proved clean by the
#: exhaustive suite; here they get a short search (see test_suite_scenario).
SMOKE_EXAMPLES = 50
#: Scenarios that show a bug of the modelled swap layer itself, not of a
#: design: 3.11's ``__frontswap_store`` answers a failed duplicate store by
#: clearing the frontswap bit only (zswap-reference.md), so the superseded entry
#: stays in zswap: it leaks once the slot is freed, and writeback can write it
#: over the newer data.  Every design reached through frontswap inherits it.
SWAP_LAYER_WITNESSES = (
    "pool_pages=0 :: store 1 A :: store 1 B; free 1",
    "pool_pages=0 :: store 1 A; store 1 B :: writeback",
)

DesignCase = tuple[str, type[Design]]
SuiteCase = tuple[str, type[Design], str, str]


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    # The spec (name or file.py:Class) is kept so that a saved counterexample
    # names a design `zmodel replay` can load.
    specs = selected_designs(metafunc.config)
    designs = [(spec, resolve(spec)) for spec in specs]
    if "hyp_design" in metafunc.fixturenames:
        metafunc.parametrize("hyp_design", [pytest.param(d, id=d[1].name) for d in designs])
    if "hyp_suite_case" in metafunc.fixturenames:
        metafunc.parametrize(
            "hyp_suite_case",
            [
                pytest.param((spec, cls, name, text), id=f"{cls.name}/{name}")
                for spec, cls in designs
                for name, text in cls.suite
            ],
        )


def known_violations(design: type[Design]) -> frozenset[str]:
    """Properties the design is expected to violate in its suite, or inherits.

    A variant (a subclass of another design) that does not re-examine one of
    its base's suite scenarios inherits what the base is expected to violate
    there: a variant changes one path, and the base's other races are still
    in it.  A variant that lists the scenario in its own suite says itself what
    it violates there (``zswap-3.11-leakfix`` lists ``writeback-vs-free`` and
    does not inherit the leak).
    """
    known: set[str] = set()
    covered: set[str] = set()
    for cls in design.__mro__:
        if not (isinstance(cls, type) and issubclass(cls, Design)):
            continue
        names = {name for name, _ in cls.suite}
        for name in names - covered:
            known |= cls.expected.get(name, frozenset())
        covered |= names
    return frozenset(known)


_FAILED_DUP: dict[type[Design], bool] = {}


def shows_failed_dup_bug(design: type[Design]) -> bool:
    """Whether the design violates anything on a failed-duplicate-store witness."""
    if design not in _FAILED_DUP:
        _FAILED_DUP[design] = any(
            explore_dfs(build_program(design, parse_scenario(text))).violations
            for text in SWAP_LAYER_WITNESSES
        )
    return _FAILED_DUP[design]


def report(
    spec: str, design: type[Design], scenario: Scenario, found: Found, out: Path, how: str
) -> str:
    options = {"profile": PROFILE, "how": how}
    path = save_failure(spec, design, scenario, found, out, engine="hypothesis", options=options)
    return (
        f"unexpected {found.prop} ({how}): {found.message}\n"
        f"  scenario: {scenario.text}\n"
        f"  counterexample: {path}\n"
        f"  zmodel replay {path}"
    )


THOROUGH_SEED = 0


def test_suite_scenario(hyp_suite_case: SuiteCase, zmodel_out: Path) -> None:
    spec, design, name, text = hyp_suite_case
    scenario = parse_scenario(text)
    program = build_program(design, scenario)
    expected = design.expected.get(name, frozenset())
    notes = []
    # One search per expected violation, each also stopping at anything
    # unexpected.  A scenario with nothing expected gets a short smoke search:
    # the exhaustive suite already proves it clean, this checks the engine
    # agrees on the way.
    targets: list[str | None] = [*sorted(expected)] or [None]
    for target in targets:

        def interesting(prop: str, target: str | None = target) -> bool:
            return prop == target or prop not in expected

        for profile in (PROFILE, "thorough") if target else (PROFILE,):
            h = hunt(
                lambda data: (None, program),
                profile=profile,
                interesting=interesting,
                max_examples=None if target else SMOKE_EXAMPLES,
                # The thorough fallback is randomised; a fixed seed makes it one fixed
                # sequence, as the derandomised ci profile is (q1-unlocked-int's
                # load-vs-writeback needs 459..3912 of its 5,000 examples over seeds
                # 0..5, so an unseeded run could miss it now and then).
                seed=THOROUGH_SEED if profile == "thorough" else None,
            )
            if h.run is not None:
                break
        if h.run is None:
            if target is not None:
                notes.append(f"expected {target} was not found, even under the thorough profile")
            continue
        found = found_of(program, h.run)
        if found.prop not in expected:
            notes.append(report(spec, design, scenario, found, zmodel_out, "suite"))
        elif profile != PROFILE:
            warnings.warn(
                f"{design.name} {name}: expected {target} needed the {profile} profile",
                stacklevel=1,
            )
    assert not notes, f"{design.name} {name} ({text}):\n" + "\n".join(notes)


def test_generated_scenarios(hyp_design: DesignCase, zmodel_out: Path) -> None:
    spec, design = hyp_design
    known = known_violations(design)
    strategy = scenarios(failed_dups=not shows_failed_dup_bug(design), knobs=design.knobs)

    def draw(data: st.DataObject) -> tuple[Scenario, Program]:
        scenario = data.draw(strategy)
        return scenario, build_program(design, scenario)

    h = hunt(draw, profile=PROFILE, interesting=lambda prop: prop not in known)
    if h.run is not None:
        assert h.subject is not None
        scenario = h.subject
        found = found_of(build_program(design, scenario), h.run)
        pytest.fail(report(spec, design, scenario, found, zmodel_out, "generated scenario"))
    assert h.examples > 0


def test_state_machine(hyp_design: DesignCase, zmodel_out: Path) -> None:
    spec, design = hyp_design
    known = known_violations(design)
    result = run_machine(
        functools.partial(build_program, design),
        interesting=lambda prop: prop not in known,
        profile=PROFILE,
        max_examples=MACHINE_EXAMPLES,
        failed_dups=not shows_failed_dup_bug(design),
    )
    if result.found is not None:
        assert result.scenario is not None
        pytest.fail(
            report(spec, design, result.scenario, result.found, zmodel_out, "state machine")
        )
    assert result.examples > 0


def test_311_leak_within_ci(pytestconfig: pytest.Config) -> None:
    """The acceptance check: the 2013 leak, under ``ci`` alone, shrunk to one preemption."""
    chosen = pytestconfig.getoption("zmodel_design")
    if chosen and "zswap-3.11" not in chosen:
        pytest.skip("zswap-3.11 not selected")
    design = REGISTRY["zswap-3.11"]
    program = build_program(design, parse_scenario("store 1 A :: writeback | free 1"))
    h = hunt(lambda data: (None, program), profile=PROFILE, interesting=lambda p: p == "leak")
    assert h.run is not None, "the 2013 leak was not found within the ci profile"

    assert count_preemptions(program, found_of(program, h.run).schedule) <= 2
