"""The user's property suites: ``pytest properties [--zmodel-design D] [--zmodel-out DIR]``.

The options come from zmodel's pytest plugin (zmodel.pytest_plugin); ``--design``
is kept here as the suites' older spelling of ``--zmodel-design``.
"""

from __future__ import annotations

import pytest

from zmodel.design_spec import resolve
from zmodel.pytest_plugin import selected_designs


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--design",
        action="append",
        default=[],
        dest="zmodel_design",
        help="the same as --zmodel-design",
    )


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "design_scenario" in metafunc.fixturenames:
        cases = []
        for spec in selected_designs(metafunc.config):
            design = resolve(spec)
            cases += [
                pytest.param((spec, design, name, text), id=f"{design.name}/{name}")
                for name, text in design.suite
            ]
        metafunc.parametrize("design_scenario", cases)
