"""The lanes drawn with rich on a terminal; plain text for pipes and NO_COLOR."""

from __future__ import annotations

import re
from pathlib import Path

from click.testing import CliRunner

from zmodel.cli import cli
from zmodel.counterexample import replay_file
from zmodel.report import rich_lanes, text

ROOT = Path(__file__).resolve().parents[2]
LEAK = ROOT / "counterexamples" / "zswap-3.11" / "leak-33014013d8.json"
_ANSI = re.compile(r"\x1b\[[0-9;]*m")


def test_the_rich_lanes_hold_what_the_plain_ones_do() -> None:
    report = replay_file(LEAK)
    plain = text.render_replay(report, width=110, values=True)
    drawn = text.render_replay(report, width=110, values=True, draw=rich_lanes.drawer(110))
    assert _ANSI.search(drawn)  # colour: the violation red, the racing pair yellow
    flat = _ANSI.sub("", drawn)
    for needle in (
        "T1: writeback",
        "T2: free 1",
        "setup: store 1 A: 27 steps (0-26), folded",
        "~~ 42",
        "~~ 50",
        "zswap_entry.refcount 1->0",
        "end (all threads done): leak",
        "VIOLATION RECURS: leak",
    ):
        assert needle in flat and needle in plain
    assert "\x1b[33m~~ 42" in drawn  # the racing pair's row in yellow


def test_a_pipe_gets_the_plain_text() -> None:
    result = CliRunner().invoke(cli, ["replay", str(LEAK), "--values"], env={"COLUMNS": "110"})
    assert result.exit_code == 1
    assert not _ANSI.search(result.output) and "-+-" in result.output
