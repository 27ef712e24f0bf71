"""The evidence commands, each reading a counterexample file: ``replay``,
``minimize``, ``explain`` and ``graph`` (presentation only).

Errors are raised as the library raises them; the group in :mod:`zmodel.cli` turns
each into one line and design.md's exit code.
"""

from __future__ import annotations

import json
from pathlib import Path

import click

from zmodel import cli_output
from zmodel.analysis.causality import observe_replay
from zmodel.analysis.happens_before import export, happens_before
from zmodel.analysis.minimize import Minimized, minimize_file
from zmodel.cli_options import design_option, output_file_option
from zmodel.counterexample import RECURS, CounterexampleError, replay_file, thread_names
from zmodel.design_spec import resolve
from zmodel.report import html, rich_lanes, text
from zmodel.report.explain import explain_json, render_explain
from zmodel.report.tables import colour_wanted


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
    if not result.smaller:
        already = " (nothing smaller: the counterexample as it was)"
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
@design_option("Replay against this design instead of the saved one", default=None)
@click.option("--setup", "setup_lane", is_flag=True, help="Show the setup's steps as a lane.")
@click.option(
    "--width", type=click.IntRange(min=40, max=1000), metavar="N", help="Output width, 40..1000."
)
@click.option(
    "--values/--quiet",
    default=False,
    help="Show what each step changed (refcount 1->0, lock takes, frees) and mark the racing"
    " pair; --quiet (the default): labels only.",
)
@output_file_option(
    "--html",
    "html_out",
    "OUT",
    "Also write the replay as one self-contained HTML page: the lanes, the state after"
    " each step on click, the racing pair and the explanation.",
)
def replay(
    file: str,
    design: str | None,
    setup_lane: bool,
    width: int | None,
    values: bool = False,
    html_out: Path | None = None,
) -> int:
    """Re-run a counterexample and show it as per-thread swimlanes.

    Exit 1 if the violation recurs, 0 if it does not (fixed by --design), 2 if the
    file is malformed or its schedule no longer fits the design.
    """
    if design is not None:
        resolve(design)  # a precise error before the file is read
    report = replay_file(file, design)
    lanes = cli_output.width(width)
    if report.cx.unknown_fields:
        unknown = ", ".join(report.cx.unknown_fields)
        click.echo(f"zmodel: warning: {file}: unknown fields ignored: {unknown}", err=True)
    click.echo(
        text.render_replay(
            report,
            width=lanes,
            setup="lane" if setup_lane else "fold",
            style=cli_output.style,
            values=values,
            draw=rich_lanes.drawer(lanes) if colour_wanted() else None,
        ),
        nl=False,
    )
    if report.failure is not None:
        raise report.failure  # the lanes are out; the one-line error and exit 3 follow
    if html_out is not None:
        html.write_html(report, html_out)
        click.echo(f"html: {html_out}")
    return report.exit_code


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


@click.command()
@click.argument("file", metavar="FILE")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object on stdout.")
def explain(file: str, as_json: bool) -> int:
    """The causal chain of a counterexample, in the shape of a KCSAN report.

    Names the racing pair (thread, kernel function, object and field, the values
    before and after) and the happens-before edges that led to it.  Exit 1 when the
    violation recurs (as replay), 0 when it does not, 2 for a bad file.
    """
    report = replay_file(file)
    _, why = observe_replay(report)
    if why is None:
        if as_json:
            click.echo(json.dumps({"recurs": False, "property": report.cx.prop}, indent=2))
        else:
            click.echo(f"no violation: {report.cx.prop} does not recur; nothing to explain")
        return report.exit_code
    recurs = report.status == RECURS
    if as_json:
        click.echo(json.dumps(explain_json(why, recurs), indent=2))
    else:
        click.echo(render_explain(why, recurs), nl=False)
    return report.exit_code


@click.command()
@click.argument("file", metavar="FILE")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["dot", "graphml"]),
    default="dot",
    show_default=True,
    help="The graph format.",
)
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write here (default: stdout).",
)
def graph(file: str, fmt: str, output: Path | None) -> int:
    """Export the happens-before graph of a counterexample's trace.

    Nodes are steps (thread, label, footprint); edges are program order, the setup
    before every thread, and every dependent pair of steps of two threads, in the
    order they ran ("race").  Exit 0; 2 for a bad file.
    """
    report = replay_file(file)
    if output is not None and output.resolve() == Path(file).resolve():
        raise CounterexampleError(f"{output}: refusing to write the graph over the counterexample")
    names = thread_names(report.design_cls, report.scenario)
    text = export(happens_before(report.run.trace, names), fmt)
    if output is None:
        click.echo(text, nl=False)
    else:
        output.write_text(text, encoding="utf-8")
        click.echo(f"{fmt} graph of {len(report.run.trace)} steps written to {output}")
    return 0
