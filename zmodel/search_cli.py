"""The search commands, ``check`` and ``verify``: explore, save the counterexamples,
print the report (presentation only; the work is zmodel.check's and zmodel.verify's).

Errors are raised as the library raises them; the group in :mod:`zmodel.cli` turns
each into one line and design.md's exit code.
"""

from __future__ import annotations

from pathlib import Path

import click

from zmodel.analysis.state_graph import StateGraph, write_graphml
from zmodel.check import ScenarioCheck, resolve_scenarios, run_check
from zmodel.cli_options import design_option, engine_options, minimize_option, output_file_option
from zmodel.cli_output import once, style
from zmodel.design_spec import resolve
from zmodel.dispatch import dispatching
from zmodel.explore import EngineOptions
from zmodel.explore.engines import check_engine
from zmodel.report import json_report, text
from zmodel.report import verify as verify_report
from zmodel.report.progress import printing
from zmodel.report.tables import terminal_look
from zmodel.verify import Comparison, resolve_verify_scenarios, run_verify
from zmodel.zswap.designs import source_spec


@click.command()
@design_option("The design to check")
@engine_options
@minimize_option
@output_file_option(
    "--state-graph",
    "state_graph",
    "OUT.graphml",
    "Write the explored state graph of the one scenario checked as GraphML: nodes are"
    " distinct states (violating and deadlocked ones marked), edges the steps.",
)
def check(
    design: str,
    scenarios: tuple[str, ...],
    engine: str,
    options: EngineOptions,
    out: Path,
    as_json: bool,
    progress: str,
    jobs: int = 1,
    cluster: str | None = None,
    minimize: bool = True,
    state_graph: Path | None = None,
) -> int:
    """Explore each scenario's interleavings against a design.

    Saves a counterexample per violation and prints the verdicts (or, with --json,
    one JSON object).  Exit 0 if every search was exhaustive and clean, 1 on a
    violation, 4 if nothing was found but a bound (or a randomised engine) cut
    the search.
    """
    design_cls = resolve(design)
    specs = resolve_scenarios(design_cls, scenarios)
    check_engine(engine)

    states = StateGraph() if state_graph is not None else None
    if states is not None and len(specs) != 1:
        raise click.UsageError(
            f"--state-graph writes one scenario's graph; {len(specs)} scenarios given"
            " (pass one --scenario)"
        )
    if states is not None and (jobs != 1 or cluster is not None):
        raise click.UsageError("--state-graph watches one process's search: not with --jobs")
    header = once(text.render_header_for(design_cls, engine))

    def scenario_done(done: ScenarioCheck) -> None:
        if not as_json:
            header()
            click.echo(text.render_scenario(done, style))

    with dispatching(jobs, cluster) as backend, printing(progress) as on_progress:
        report = run_check(
            design_cls,
            source_spec(design),
            specs,
            engine=engine,
            options=options,
            out=out,
            on_scenario=scenario_done,
            on_progress=on_progress,
            minimize=minimize,
            observe=[states] if states is not None else [],
            backend=backend,
        )
    if states is not None and state_graph is not None:
        write_graphml(states, state_graph, design=design_cls.name, scenario=specs[0].scenario.text)
    if as_json:
        click.echo(json_report.dumps(json_report.check_json(report)))
    else:
        click.echo(text.render_summary(report), nl=False)
    return report.exit_code


@click.command()
@click.argument("new", metavar="NEW")
@click.option(
    "--against",
    "base",
    required=True,
    metavar="BASE",
    help="The design NEW is compared with (a registered name or path/to/file.py:ClassName).",
)
@engine_options
@minimize_option
def verify(
    new: str,
    base: str,
    scenarios: tuple[str, ...],
    engine: str,
    options: EngineOptions,
    out: Path,
    as_json: bool,
    progress: str,
    jobs: int = 1,
    cluster: str | None = None,
    minimize: bool = True,
) -> int:
    """Check NEW and BASE on the same scenarios and compare them property by property.

    Default scenarios: the union of both designs' suites; a --scenario name may come
    from either suite.  Both designs are explored for every violated property (--all
    is implied).  Prints, per scenario, each property's status on each side and what
    changed (fixed, regressed, same), with the counterexample files, saved
    minimised as check saves them (--no-minimize: as found).  Exits as
    NEW's verdict: 1 if NEW violates any property, 4 if it does not but a bound cut
    its search, 0 if its search was exhaustive and clean.
    """
    new_cls, base_cls = resolve(new), resolve(base)
    specs = resolve_verify_scenarios(new_cls, base_cls, scenarios)
    check_engine(engine)  # --all is implied: run_verify sets it

    header = once(verify_report.render_header(new_cls, base_cls, engine))
    look = terminal_look()  # plain text on a pipe or with NO_COLOR

    def scenario_done(done: Comparison) -> None:
        if not as_json:
            header()
            click.echo(verify_report.render_comparison(done, new_cls, base_cls, style, look))

    with dispatching(jobs, cluster) as backend, printing(progress) as on_progress:
        report = run_verify(
            new_cls,
            source_spec(new),
            base_cls,
            source_spec(base),
            specs,
            engine=engine,
            options=options,
            out=out,
            on_scenario=scenario_done,
            on_progress=on_progress,
            minimize=minimize,
            backend=backend,
        )
    if as_json:
        click.echo(json_report.dumps(verify_report.verify_json(report)))
    else:
        click.echo(verify_report.render_summary(report), nl=False)
    return report.exit_code
