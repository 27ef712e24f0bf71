"""Loads and stores: races the engines reverse without running the reversed step.

A ``Load`` or ``Store`` touches the field it names whatever the values are, so
``races.Footprint.static`` lets a race whose last step is one be ``known``; any
other step that read from the racing write is run in the reversed order to learn
its footprint (issue 9).  The generated programs of the differential suites mix
both kinds (tests/explore/programs.py: ``ld``, ``st``, ``lderef``); here the
shortcut is shown to run nothing on lastzero, and taking it for every step (a
``Call`` whose footprint hangs on the value it read) is shown to be caught: on
casrot(4) here, and by the generated one-step programs (heavy: the search takes
minutes).
"""

from __future__ import annotations

import pytest
from hypothesis import find

import zmodel.explore.drive as drive
from benchmarks.programs import casrot, lastzero
from tests.explore.differential import outcome
from tests.explore.programs import Spec, build, flat_specs
from tests.explore.test_dpor import _mutant_hunt
from zmodel.explore.dfs import explore_dfs
from zmodel.explore.dpor import explore_dpor
from zmodel.explore.optimal_dpor import _Search, explore_optimal_dpor
from zmodel.runtime import Call, Load, Store


def test_lastzero_reverses_its_races_without_running_a_step(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def never(*_: object) -> None:
        raise AssertionError("a Load's reversal was run to learn its footprint")

    monkeypatch.setattr(_Search, "reversed_step", never)
    result = explore_optimal_dpor(lastzero(6), stop_on_first=False)
    assert result.exhaustive and result.stats.executions == (6 + 3) * 2 ** (6 - 2)


def _every_step_static(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(drive, "STATIC_PRIMITIVES", frozenset({Load, Store, Call}))


def _misses(spec: Spec) -> bool:
    program = build(spec)
    want = outcome(explore_dfs, program, cache=False)[0]
    return any(
        outcome(engine, program)[0] != want for engine in (explore_dpor, explore_optimal_dpor)
    )


def test_a_call_taken_as_static_misses_casrot_end_states(monkeypatch: pytest.MonkeyPatch) -> None:
    _every_step_static(monkeypatch)
    program = casrot(4, record=True)
    want = outcome(explore_dfs, program, cache=False)[0]
    assert outcome(explore_optimal_dpor, program)[0] != want


@pytest.mark.pure_python
def test_the_generator_catches_a_call_taken_as_static(monkeypatch: pytest.MonkeyPatch) -> None:
    _every_step_static(monkeypatch)
    find(flat_specs(), _misses, settings=_mutant_hunt(400))
