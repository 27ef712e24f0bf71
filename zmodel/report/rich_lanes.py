"""The swimlanes drawn with rich on a terminal: a table with a column per thread, the
violating step in red and the racing pair in yellow.

Only where colour is wanted (:func:`zmodel.report.tables.colour_wanted`: stdout a
terminal, ``NO_COLOR`` unset); everywhere else, and for scripts, the plain text of
:func:`zmodel.report.swimlanes.render_swimlanes` stays as it is.  The rows are the
same (:func:`~zmodel.report.swimlanes.lay_out`: folds, repeats, marks, wrapping);
only the drawing differs.
"""

from __future__ import annotations

from collections.abc import Callable

from rich import box
from rich.console import Console
from rich.table import Table
from rich.text import Text

from zmodel.report.state import PAIR_MARK
from zmodel.report.swimlanes import Lanes


def draw(laid: Lanes, width: int) -> str:
    """The lanes as a rich table, rendered to text with the terminal's escape codes."""
    table = Table(box=box.SIMPLE_HEAD, header_style="bold", pad_edge=False, expand=False)
    table.add_column("step", justify="right", no_wrap=True)
    for tid in laid.shown:
        table.add_column(" ".join(laid.headers[tid]), width=laid.lane_width, overflow="fold")
    blank = [""] * len(laid.shown)
    for row in laid.rows:
        if row.kind == "note":
            table.add_row("", Text(row.lines[0], style="dim"), *blank[1:])
            continue
        cells: list[str | Text] = list(blank)
        cells[laid.shown.index(row.tid)] = "\n".join(row.lines)
        style = "bold red" if row.kind == "violation" else "yellow" if row.mark == PAIR_MARK else ""
        table.add_row(row.index, *cells, style=style)
    console = Console(width=width, force_terminal=True, highlight=False)
    with console.capture() as captured:
        console.print(table)
        if laid.footer is not None:
            console.print(Text(laid.footer.lines[0], style="bold red"))
    return captured.get()


def drawer(width: int) -> Callable[[Lanes], str]:
    return lambda laid: draw(laid, width)
