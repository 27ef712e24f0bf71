"""zmodel's pytest plugin (entry point ``pytest11``): property suites of your designs.

Options, in any pytest run once zmodel is installed:

* ``--zmodel-design D`` (repeatable): the designs the suites check, each a
  registered name or ``path/to/file.py:ClassName`` (default: every registered
  design);
* ``--zmodel-out DIR``: where a failing test saves its counterexample
  (default ``counterexamples/`` of the directory pytest was started in), as
  ``DIR/<design>/<property>-<hash>.json``, the same place ``zmodel check`` uses.

A saved file records a design file by its absolute path, so the ``zmodel
replay`` command a failure prints reproduces the violation from any directory.
The fixtures ``zmodel_designs`` (the chosen specs) and ``zmodel_out`` (the
directory) and :func:`save_failure` are what a suite of properties needs.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from zmodel.explore import Found
    from zmodel.zswap.designs import Design
    from zmodel.zswap.scenario import Scenario

DEFAULT_OUT = "counterexamples"


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("zmodel", "zmodel property suites")
    group.addoption(
        "--zmodel-design",
        action="append",
        default=[],
        dest="zmodel_design",
        metavar="D",
        help="check only this design (a registered name or path/to/file.py:ClassName); repeatable",
    )
    group.addoption(
        "--zmodel-out",
        default=None,
        dest="zmodel_out",
        metavar="DIR",
        help=f"where failing tests save counterexamples (default: ./{DEFAULT_OUT})",
    )


def selected_designs(config: pytest.Config) -> list[str]:
    """The design specs chosen with --zmodel-design, else every registered design."""
    from zmodel.zswap.designs import REGISTRY

    chosen: list[str] = config.getoption("zmodel_design")
    return list(chosen) or sorted(REGISTRY)


def out_dir(config: pytest.Config) -> Path:
    """The counterexample directory, absolute (relative to where pytest started)."""
    given = config.getoption("zmodel_out") or DEFAULT_OUT
    return (config.invocation_params.dir / given).resolve()


@pytest.fixture
def zmodel_designs(pytestconfig: pytest.Config) -> list[str]:
    return selected_designs(pytestconfig)


@pytest.fixture
def zmodel_out(pytestconfig: pytest.Config) -> Path:
    return out_dir(pytestconfig)


def save_failure(
    spec: str,
    design: type[Design],
    scenario: Scenario,
    found: Found,
    out: Path,
    *,
    engine: str,
    options: dict[str, Any],
) -> Path:
    """Save ``found`` as a counterexample that replays from anywhere; return its path.

    ``spec`` is what the user named the design by: a file design is recorded by
    its absolute path (``source_spec``), so a replay in another directory finds it.
    """
    from zmodel.counterexample.store import from_found, save
    from zmodel.zswap.designs import source_spec

    cx = from_found(
        found,
        design_cls=design,
        design_source=source_spec(spec),
        scenario=scenario,
        engine=engine,
        options=options,
    )
    return save(cx, out).path
