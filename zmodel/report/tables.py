"""Text tables drawn by rich: ``zmodel list``'s and ``verify``'s.

One layout for every audience: the columns left-aligned two spaces apart under an
indent, the last column as long as it is, no trailing spaces.  Plain text (no escape
codes, nothing wrapped) unless ``colour`` is asked for, which the commands do only
where :func:`colour_wanted` (stdout a terminal, ``NO_COLOR`` unset); then the cells
take the colour of their kind and the columns after the first wrap to fit the
terminal's width.
Scripts and tests read the plain text, so its layout is this module's contract.
"""

from __future__ import annotations

import os
import shutil
import sys
from collections.abc import Sequence
from dataclasses import dataclass

from rich.console import Console
from rich.table import Table
from rich.text import Text

#: A cell: its text, or (kind, text) with a kind of :data:`STYLES` ("" is none).
Cell = str | tuple[str, str]

#: The rich style of each kind of cell, the kinds zmodel.report.swimlanes.Style names.
STYLES = {"violation": "bold red", "pass": "bold green", "header": "bold", "note": "dim"}

#: Wide enough that no plain table is ever wrapped or cut.
UNLIMITED = 1_000_000


def colour_wanted() -> bool:
    """Colour for a person: stdout is a terminal and NO_COLOR is not set (no-color.org)."""
    return sys.stdout.isatty() and not os.environ.get("NO_COLOR")


def _text(cell: Cell, colour: bool) -> Text:
    kind, value = cell if isinstance(cell, tuple) else ("", cell)
    return Text(value, style=STYLES.get(kind, "") if colour else "")


def render_table(
    rows: Sequence[Sequence[Cell]],
    *,
    indent: int = 2,
    colour: bool = False,
    width: int | None = None,
) -> list[str]:
    """The rows as lines (no newlines); ``width`` bounds a coloured table (the
    terminal's): a plain one is never wrapped."""
    if not rows:
        return []
    table = Table(box=None, show_header=False, pad_edge=False, padding=(0, 1))
    columns = max(len(row) for row in rows)
    for i in range(columns):
        table.add_column(no_wrap=not (colour and i > 0), overflow="fold")
    for row in rows:
        cells = [_text(cell, colour) for cell in row]
        table.add_row(*cells, *[""] * (columns - len(cells)))
    limit = UNLIMITED if width is None or not colour else max(width - indent, 20)
    console = Console(
        width=limit,
        force_terminal=colour,
        no_color=not colour,
        color_system="standard" if colour else None,
        highlight=False,
        emoji=False,
    )
    with console.capture() as captured:
        console.print(table, crop=False)
    pad = " " * indent
    return [pad + line.rstrip() if line.strip() else "" for line in captured.get().splitlines()]


@dataclass(frozen=True)
class Look:
    """How a report draws its tables: plain (the default), or coloured to a width."""

    colour: bool = False
    width: int | None = None

    def table(self, rows: Sequence[Sequence[Cell]]) -> list[str]:
        return render_table(rows, colour=self.colour, width=self.width)


PLAIN = Look()


def terminal_look() -> Look:
    """Colour and the terminal's width where :func:`colour_wanted`, else plain."""
    if not colour_wanted():
        return PLAIN
    return Look(colour=True, width=shutil.get_terminal_size().columns)
