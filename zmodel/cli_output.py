"""How the commands print: the styles of a verdict, the width of the lanes, a header
printed at the first scenario.

Shared by the search commands (:mod:`zmodel.search_cli`) and ``replay``
(:mod:`zmodel.evidence_cli`); the group in :mod:`zmodel.cli` prints the errors.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable

import click

#: Swimlanes fit an 80-120 column terminal; piped output gets the fallback.
MIN_WIDTH, MAX_WIDTH, PIPE_WIDTH = 80, 120, 100


def style(kind: str, value: str) -> str:
    """``value`` in the colour of its kind; click.echo drops the colours on a pipe,
    and ``NO_COLOR`` (no-color.org) means none on a terminal either."""
    if os.environ.get("NO_COLOR"):
        return value
    if kind == "violation":
        return click.style(value, fg="red", bold=True)
    if kind == "pass":
        return click.style(value, fg="green", bold=True)
    if kind == "header":
        return click.style(value, bold=True)
    if kind == "note":
        return click.style(value, dim=True)
    return value


def once(line: str) -> Callable[[], None]:
    """Echo ``line`` at the first call only: a report's header waits for its first
    scenario, so that an error in the engine's options is the only line printed."""
    pending = [line]

    def echo() -> None:
        while pending:
            click.echo(pending.pop())

    return echo


def width(requested: int | None) -> int:
    """The lanes' width: the one asked for, else the terminal's within 80-120."""
    if requested is not None:
        return requested
    columns = shutil.get_terminal_size((PIPE_WIDTH, 24)).columns
    return max(MIN_WIDTH, min(MAX_WIDTH, columns))
