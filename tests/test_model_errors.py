"""A model error names the user's file, line and method, and the step it was at."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from zmodel.cli import cli

RETURNS = """
from zmodel.zswap.designs.zswap_612 import Zswap612


class ReturnsInt(Zswap612):
    name = "returns-int"

    def writeback_entry(self, entry, offset):
        return 1
"""

PEEKS = """
from zmodel.zswap.designs.zswap_612 import Zswap612


class PeekWriteback(Zswap612):
    name = "peek-writeback"

    def writeback_entry(self, entry, offset):
        self.heap.get(entry, "refcount")  # a read between two yields
        yield from super().writeback_entry(entry, offset)
"""

ABSTRACT = """
from zmodel.zswap.designs.base import Design


class Abstract(Design):
    name = "abstract-design"
"""


def check(tmp_path: Path, source: str, cls: str, *env: tuple[str, str]) -> tuple[Result, Path]:
    design = tmp_path / "mine.py"
    design.write_text(source)
    args = [
        "check",
        "--design",
        f"{design}:{cls}",
        "-s",
        "store 1 A; writeback :: writeback | free 1",
    ]
    result = CliRunner().invoke(cli, [*args, "--out", str(tmp_path / "out")], env=dict(env))
    assert result.exit_code == 3, result.output
    return result, design


def error_line(result: Result) -> str:
    (line,) = [x for x in result.stderr.splitlines() if x.startswith("zmodel: error: ")]
    return line


@pytest.mark.parametrize(
    ("source", "cls", "line", "method", "problem"),
    [
        (RETURNS, "ReturnsInt", 8, "ReturnsInt.writeback_entry", "returns instead of yielding"),
        (PEEKS, "PeekWriteback", 9, "PeekWriteback.writeback_entry", "outside a primitive step"),
    ],
    ids=["returns", "peeks"],
)
def test_the_error_names_the_file_line_and_method(
    tmp_path: Path, source: str, cls: str, line: int, method: str, problem: str
) -> None:
    result, design = check(tmp_path, source, cls)
    message = error_line(result)
    assert f"T1: {design}:{line} in {method} (after " in message
    assert problem in message
    assert len(result.stderr.strip().splitlines()) == 1 and "Traceback" not in result.stderr


def test_an_abstract_method_names_itself(tmp_path: Path) -> None:
    # zmodel check refuses the file before it runs: the design contract (exit 2)...
    design = tmp_path / "mine.py"
    design.write_text(ABSTRACT)
    refused = CliRunner().invoke(
        cli, ["check", "--design", f"{design}:Abstract", "-s", "store 1 A"]
    )
    assert refused.exit_code == 2
    assert "Abstract.store is not defined" in error_line(refused)
    # ... and a run that reaches a stub anyway (the API, no contract) names it.
    from zmodel.explore import ModelFailure, explore_dpor
    from zmodel.harness import build_program
    from zmodel.zswap.designs import resolve_design
    from zmodel.zswap.scenario import parse_scenario

    cls = resolve_design(f"{design}:Abstract")
    with pytest.raises(ModelFailure) as raised:
        explore_dpor(build_program(cls, parse_scenario("store 1 A :: load 1")))
    message = str(raised.value)
    assert re.search(
        r"NotImplementedError: Design\.\w+ is abstract; Abstract must override", message
    )
    assert "zmodel/zswap/designs/base.py:" in message


def test_zmodel_debug_prints_the_model_traceback(tmp_path: Path) -> None:
    result, design = check(tmp_path, PEEKS, "PeekWriteback", ("ZMODEL_DEBUG", "1"))
    assert "Traceback (the model's frames):" in result.stderr
    assert f'File "{design}", line 9, in writeback_entry' in result.stderr
    assert "zmodel/runtime/" not in result.stderr  # the runtime's own frames are left out


def test_replay_of_a_model_error_shows_the_lanes(tmp_path: Path) -> None:
    check(tmp_path, PEEKS, "PeekWriteback")
    (saved,) = (tmp_path / "out" / "peek-writeback").iterdir()
    result = CliRunner().invoke(cli, ["replay", str(saved)], env={"COLUMNS": "100"})
    assert result.exit_code == 3, result.output
    assert "T1: writeback" in result.stdout and "T2: free 1" in result.stdout
    assert ">> step " in result.stdout and "model error: T1: " in result.stdout
    assert "MODEL ERROR" in result.stdout
    assert error_line(result).count("PeekWriteback.writeback_entry") == 1
