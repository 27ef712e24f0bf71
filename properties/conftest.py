"""Options of the user's property suites: ``pytest properties --design NAME``."""

from __future__ import annotations

import pytest

from zmodel.zswap.designs import REGISTRY, resolve_design


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--design",
        action="append",
        default=[],
        help="check only this design (a registered name or path/to/file.py:ClassName); repeatable",
    )


def selected_designs(config: pytest.Config) -> list[str]:
    chosen: list[str] = config.getoption("--design")
    return chosen or sorted(REGISTRY)


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "design_scenario" in metafunc.fixturenames:
        cases = []
        for spec in selected_designs(metafunc.config):
            design = resolve_design(spec)
            cases += [
                pytest.param((design, name, text), id=f"{design.name}/{name}")
                for name, text in design.suite
            ]
        metafunc.parametrize("design_scenario", cases)
