"""The evidence commands: ``minimize``, ``explain`` and ``graph`` (presentation only).

Kept out of :mod:`zmodel.cli` so that it registers them with one line each; errors
are raised as the library raises them and the group in :mod:`zmodel.cli` turns each
into one line and design.md's exit code.
"""

from __future__ import annotations

import json
from pathlib import Path

import click

from zmodel.analysis.minimize import Minimized, minimize_file


def _size_line(name: str, size: dict[str, int]) -> str:
    return (
        f"  {name}: {size['steps']} steps, {size['preemptions']} preemptions,"
        f" {size['ops']} operations"
    )


def render_minimized(result: Minimized, path: Path, reused: bool) -> str:
    proved = (
        "proved minimal by z3 (no order of these steps that keeps every dependent pair's"
        " order has fewer)"
        if result.proved_minimal
        else "NOT proved minimal (z3 timed out; the best order found is kept)"
    )
    already = " (an identical file was already there)" if reused else ""
    return "\n".join(
        [
            f"minimised: {path}{already}",
            f"  scenario: {result.cx.scenario}",
            _size_line("before", result.before.to_json()),
            _size_line("after", result.after.to_json()),
            f"  preemptions: {proved}",
            f"  {result.candidates} smaller scenarios replayed, kept only where they give"
            f" {result.cx.prop} again",
            f"replay: zmodel replay {path}",
        ]
    )


@click.command()
@click.argument("file", metavar="FILE")
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    help="Save under OUT/<design>/ (default: beside FILE).",
)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object on stdout.")
def minimize(file: str, out: Path | None, as_json: bool) -> int:
    """Shrink a counterexample: fewer operations and steps, then the fewest preemptions.

    The scenario is delta-debugged (threads, operations, reclaim_retries, pool_pages),
    every candidate replayed; then z3 finds the order of the steps with the fewest
    preemptions that keeps every dependent pair's order, and proves it minimal.  The
    result is a new file; FILE is never changed.  Exit 0 once it is saved.
    """
    result, saved = minimize_file(file, out)
    if as_json:
        data = {
            "file": str(saved.path),
            "before": result.before.to_json(),
            "after": result.after.to_json(),
            "proved_minimal": result.proved_minimal,
        }
        click.echo(json.dumps(data, indent=2))
    else:
        click.echo(render_minimized(result, saved.path, saved.reused))
    return 0
