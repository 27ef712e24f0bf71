"""The evidence commands: ``minimize``, ``explain`` and ``graph`` (presentation only).

Kept out of :mod:`zmodel.cli` so that it registers them with one line each; errors
are raised as the library raises them and the group in :mod:`zmodel.cli` turns each
into one line and design.md's exit code.
"""

from __future__ import annotations

import json
from pathlib import Path

import click

from zmodel.analysis.causality import observe_replay
from zmodel.analysis.happens_before import export, happens_before
from zmodel.analysis.minimize import Minimized, minimize_file
from zmodel.counterexample import RECURS, CounterexampleError, replay_file, thread_names
from zmodel.report.explain import explain_json, render_explain


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
