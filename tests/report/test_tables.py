"""The tables of ``zmodel list`` and ``verify`` drawn by rich: plain text for pipes and
NO_COLOR in the layout scripts read, colour on a terminal."""

from __future__ import annotations

import os
import re
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from zmodel.cli import cli
from zmodel.report import tables
from zmodel.report.tables import Look, colour_wanted, render_table

_ANSI = re.compile(r"\x1b\[[0-9;]*m")
ENV = {"COLUMNS": "100"}


def test_colour_only_for_a_terminal_without_no_color(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys.stdout, "isatty", lambda: True)
    monkeypatch.delenv("NO_COLOR", raising=False)
    assert colour_wanted()
    monkeypatch.setenv("NO_COLOR", "1")
    assert not colour_wanted()
    assert tables.terminal_look() == tables.PLAIN
    monkeypatch.delenv("NO_COLOR")
    monkeypatch.setattr(sys.stdout, "isatty", lambda: False)
    assert not colour_wanted()


def test_plain_columns_are_two_spaces_apart_and_the_last_is_never_wrapped() -> None:
    long = "word " * 400
    rows = [("a", ("violation", "VIOLATED"), "x y"), ("cccc", "d", long.strip()), ("e", "", "")]
    assert render_table(rows) == [
        "  a     VIOLATED  x y",
        f"  cccc  d         {long.strip()}",
        "  e",
    ]
    assert render_table(rows, indent=0, width=40)[0] == "a     VIOLATED  x y"  # plain: no width
    assert render_table([]) == []


def test_colour_styles_the_cells_and_wraps_to_the_width() -> None:
    rows = [("use-after-free", ("violation", "VIOLATED"), "a read of a freed object " * 4)]
    lines = render_table(rows, colour=True, width=60)
    assert "\x1b[1;31mVIOLATED" in lines[0]
    flat = [_ANSI.sub("", line) for line in lines]
    assert len(flat) > 1 and all(len(line) <= 60 for line in flat)
    assert flat[0].split()[:2] == ["use-after-free", "VIOLATED"]
    assert " ".join(" ".join(line.split()) for line in flat).endswith("freed object")


def _invoke(*args: str, colour: bool = False) -> str:
    # click.echo keeps escape codes only for a terminal: ``color`` plays one.
    result = CliRunner().invoke(cli, list(args), env=ENV, color=colour)
    assert result.exit_code in (0, 1), result.output
    return result.stdout


def test_list_is_plain_on_a_pipe_and_coloured_on_a_terminal(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    plain = _invoke("list", "properties")
    assert not _ANSI.search(plain)
    row = next(line for line in plain.splitlines() if line.startswith("  leak "))
    assert row.split()[:3] == ["leak", "lifetime", "(quiescence)"]
    monkeypatch.setattr(tables, "colour_wanted", lambda: True)
    coloured = _invoke("list", "properties", colour=True)
    assert _ANSI.search(coloured)
    flat = _ANSI.sub("", coloured).splitlines()[1:]
    names = [line.split()[0] for line in flat if line[2:3] != " "]  # wrapped lines start blank
    assert names == [line.split()[0] for line in plain.splitlines()[1:]]


def test_verify_table_plain_and_coloured(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    args = ("verify", "zswap-3.11-leakfix", "--against", "zswap-3.11", "-s", "writeback-vs-free")
    plain = _invoke(*args, "--out", str(tmp_path))
    assert not _ANSI.search(plain)
    assert "  leak                    VIOLATED    holds               fixed\n" in plain
    monkeypatch.setattr(tables, "colour_wanted", lambda: True)
    coloured = _invoke(*args, "--out", str(tmp_path), colour=True)
    assert "\x1b[1;31mVIOLATED" in coloured and "\x1b[1;32mholds" in coloured
    leak = next(line for line in _ANSI.sub("", coloured).splitlines() if "  leak " in line)
    assert leak.split() == ["leak", "VIOLATED", "holds", "fixed"]


def test_the_look_is_a_value() -> None:
    assert Look().table([("a", "b")]) == ["  a  b"]


@pytest.mark.parametrize("command", ["verify", "check"])
def test_no_color_means_no_escape_codes_even_on_a_terminal(
    command: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A terminal: stdout a TTY (colour_wanted's other half), escape codes kept by click.
    monkeypatch.setattr(tables, "colour_wanted", lambda: not os.environ.get("NO_COLOR"))
    args = ["-s", "writeback-vs-free", "--out", str(tmp_path)]
    if command == "verify":
        args = ["zswap-3.11-leakfix", "--against", "zswap-3.11", *args]
    terminal = CliRunner().invoke(cli, [command, *args], env=ENV, color=True)
    assert _ANSI.search(terminal.stdout)  # the verdicts' colours, as a terminal gets them
    result = CliRunner().invoke(cli, [command, *args], env={**ENV, "NO_COLOR": "1"}, color=True)
    assert result.exit_code in (0, 1), result.output
    assert not _ANSI.search(result.stdout)
    assert _ANSI.sub("", terminal.stdout).splitlines()[:4] == result.stdout.splitlines()[:4]
