"""The ``zmodel`` command line: presentation only.

The work happens in zmodel.check, zmodel.counterexample and zmodel.harness; this
module parses options, calls them, and prints.  Every failure ends as one line
``zmodel: error: ...`` on stderr with the exit code of design.md, never a traceback:
the table in :func:`_exit_for` maps each error type to its code, and
:meth:`ZmodelGroup.main` applies it to every command (a new command such as
``verify`` raises the same errors and gets the same treatment).
"""

from __future__ import annotations

import os
import shutil
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, NoReturn

import click

from zmodel import __version__, evidence_cli
from zmodel.analysis.state_graph import StateGraph, write_graphml
from zmodel.check import (
    EXIT_INPUT,
    EXIT_INTERRUPTED,
    EXIT_MODEL,
    ModelFailureReport,
    ScenarioCheck,
    resolve_scenarios,
    run_check,
)
from zmodel.cli_options import design_option, engine_options, output_file_option
from zmodel.counterexample import CounterexampleError, replay_file
from zmodel.design_spec import resolve
from zmodel.dispatch import dispatching
from zmodel.explore import EngineError, EngineOptions, ModelFailure
from zmodel.explore.engines import check_engine
from zmodel.properties import PROPERTIES
from zmodel.report import html, json_report, listing, rich_lanes, text
from zmodel.report import verify as verify_report
from zmodel.report.progress import printing
from zmodel.runtime import ModelError
from zmodel.scaffold import class_name, scaffold
from zmodel.verify import Comparison, resolve_verify_scenarios, run_verify
from zmodel.zswap.designs import (
    REGISTRY,
    Design,
    DesignError,
    source_spec,
)
from zmodel.zswap.scenario import ScenarioError

#: Swimlanes fit an 80-120 column terminal; piped output gets the fallback.
MIN_WIDTH, MAX_WIDTH, PIPE_WIDTH = 80, 120, 100


def _exit_for(exc: BaseException) -> tuple[int, str] | None:
    """The exit code and one-line message for an error, or None if it is not ours."""
    if isinstance(exc, ModelFailureReport):
        return EXIT_MODEL, exc.one_line()
    if isinstance(exc, ModelFailure):
        step = len(exc.schedule) - 1
        return EXIT_MODEL, f"the model raised at step {step} of the schedule: {exc.message}"
    if isinstance(exc, DesignError | ScenarioError | EngineError | CounterexampleError):
        return EXIT_INPUT, str(exc)
    if isinstance(exc, OSError):
        where = f"{exc.filename}: " if exc.filename else ""
        return EXIT_INPUT, f"{where}{exc.strerror or exc}"
    return None


def _print_model_traceback(err: BaseException) -> None:
    """ZMODEL_DEBUG=1: the traceback through the model's code of a model error."""
    cause: BaseException | None = err.failure if isinstance(err, ModelFailureReport) else err
    while cause is not None:
        if isinstance(cause, ModelError) and cause.model_traceback:
            click.echo(cause.model_traceback, err=True, nl=False)
            return
        cause = cause.__cause__


def fail(code: int, message: str) -> NoReturn:
    click.echo(f"zmodel: error: {' '.join(message.split())}", err=True)
    sys.exit(code)


class ZmodelGroup(click.Group):
    """Runs commands with one-line errors: click's usage errors included."""

    def main(
        self,
        args: Sequence[str] | None = None,
        prog_name: str | None = None,
        complete_var: str | None = None,
        standalone_mode: bool = True,
        **extra: Any,
    ) -> Any:
        try:
            code = super().main(args, prog_name or "zmodel", complete_var, False, **extra)
        except click.UsageError as err:
            if type(err).__name__ != "NoArgsIsHelpError":
                hint = f" (see '{err.ctx.command_path} --help')" if err.ctx else ""
                fail(err.exit_code, err.format_message() + hint)
            # Bare ``zmodel``: the help is the answer, not an error.
            click.echo(err.format_message())
            code = 0
        except click.ClickException as err:
            fail(err.exit_code, err.format_message())
        except (click.Abort, KeyboardInterrupt):
            fail(EXIT_INTERRUPTED, "interrupted")
        except Exception as err:
            if os.environ.get("ZMODEL_DEBUG"):
                _print_model_traceback(err)
            mapped = _exit_for(err)
            if mapped is None:
                if os.environ.get("ZMODEL_DEBUG"):
                    raise
                # Not an input error and not the model's: a bug in zmodel itself.
                mapped = (
                    EXIT_MODEL,
                    (
                        f"internal error: {type(err).__name__}: {err} (ZMODEL_DEBUG=1 shows the"
                        " traceback)"
                    ),
                )
            fail(*mapped)
        code = code if isinstance(code, int) else 0
        if standalone_mode:
            sys.exit(code)
        return code


def _style(kind: str, value: str) -> str:
    # click.echo drops the colours when stdout is not a terminal.
    if kind == "violation":
        return click.style(value, fg="red", bold=True)
    if kind == "pass":
        return click.style(value, fg="green", bold=True)
    if kind == "header":
        return click.style(value, bold=True)
    if kind == "note":
        return click.style(value, dim=True)
    return value


def _once(line: str) -> Callable[[], None]:
    """Echo ``line`` at the first call only: a report's header waits for its first
    scenario, so that an error in the engine's options is the only line printed."""
    pending = [line]

    def echo() -> None:
        while pending:
            click.echo(pending.pop())

    return echo


def _width(requested: int | None) -> int:
    if requested is not None:
        return requested
    columns = shutil.get_terminal_size((PIPE_WIDTH, 24)).columns
    return max(MIN_WIDTH, min(MAX_WIDTH, columns))


@click.group(cls=ZmodelGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="zmodel")
def cli() -> None:
    """zmodel: a concurrency model checker for Linux zswap races.

    \b
    Exit codes:
      0    PASS (exhaustive): every interleaving explored, no violation
           (replay: the violation does not recur)
      1    violation found (or reproduced by replay)
      2    usage or input error
      3    the model raised an unexpected exception
      4    NO VIOLATION WITHIN BOUNDS: a bound or a randomised engine cut the search
      130  interrupted (Ctrl-C): the figures so far are printed
    verify exits as its NEW side's verdict.
    """


@cli.command()
@design_option("The design to check")
@engine_options
@click.option(
    "--minimize/--no-minimize",
    "minimize",
    default=True,
    help="Minimise each counterexample before saving it, as zmodel minimize does (the"
    " default); --no-minimize saves it as found.",
)
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
    max_preemptions: int | None,
    max_steps: int,
    seed: int | None,
    time_limit: float | None,
    engine_extra: dict[str, int | str],
    out: Path,
    as_json: bool,
    progress: str,
    all_violations: bool,
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
    options = EngineOptions(
        max_steps=max_steps,
        max_preemptions=max_preemptions,
        seed=seed,
        all_violations=all_violations,
        time_limit=time_limit,
        extra=dict(engine_extra),
    )

    states = StateGraph() if state_graph is not None else None
    if states is not None and len(specs) != 1:
        raise click.UsageError(
            f"--state-graph writes one scenario's graph; {len(specs)} scenarios given"
            " (pass one --scenario)"
        )
    if states is not None and (jobs != 1 or cluster is not None):
        raise click.UsageError("--state-graph watches one process's search: not with --jobs")
    header = _once(text.render_header_for(design_cls, engine))

    def scenario_done(done: ScenarioCheck) -> None:
        if not as_json:
            header()
            click.echo(text.render_scenario(done, _style))

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


@cli.command()
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
    if report.cx.unknown_fields:
        unknown = ", ".join(report.cx.unknown_fields)
        click.echo(f"zmodel: warning: {file}: unknown fields ignored: {unknown}", err=True)
    click.echo(
        text.render_replay(
            report,
            width=_width(width),
            setup="lane" if setup_lane else "fold",
            style=_style,
            values=values,
            draw=rich_lanes.drawer(_width(width)) if rich_lanes.wanted() else None,
        ),
        nl=False,
    )
    if report.failure is not None:
        raise report.failure  # the lanes are out; the one-line error and exit 3 follow
    if html_out is not None:
        html.write_html(report, html_out)
        click.echo(f"html: {html_out}")
    return report.exit_code


@cli.command()
@click.argument("new", metavar="NEW")
@click.option(
    "--against",
    "base",
    required=True,
    metavar="BASE",
    help="The design NEW is compared with (a registered name or path/to/file.py:ClassName).",
)
@engine_options
def verify(
    new: str,
    base: str,
    scenarios: tuple[str, ...],
    engine: str,
    max_preemptions: int | None,
    max_steps: int,
    seed: int | None,
    time_limit: float | None,
    engine_extra: dict[str, int | str],
    out: Path,
    as_json: bool,
    progress: str,
    all_violations: bool,
    jobs: int = 1,
    cluster: str | None = None,
) -> int:
    """Check NEW and BASE on the same scenarios and compare them property by property.

    Default scenarios: the union of both designs' suites; a --scenario name may come
    from either suite.  Both designs are explored for every violated property (--all
    is implied).  Prints, per scenario, each property's status on each side and what
    changed (fixed, regressed, same), with the counterexample files.  Exits as
    NEW's verdict: 1 if NEW violates any property, 4 if it does not but a bound cut
    its search, 0 if its search was exhaustive and clean.
    """
    del all_violations  # always on: see zmodel.verify
    new_cls, base_cls = resolve(new), resolve(base)
    specs = resolve_verify_scenarios(new_cls, base_cls, scenarios)
    check_engine(engine)
    options = EngineOptions(
        max_steps=max_steps,
        max_preemptions=max_preemptions,
        seed=seed,
        time_limit=time_limit,
        extra=dict(engine_extra),
    )

    header = _once(verify_report.render_header(new_cls, base_cls, engine))

    def scenario_done(done: Comparison) -> None:
        if not as_json:
            header()
            click.echo(verify_report.render_comparison(done, new_cls, base_cls, _style))

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
            backend=backend,
        )
    if as_json:
        click.echo(json_report.dumps(verify_report.verify_json(report)))
    else:
        click.echo(verify_report.render_summary(report), nl=False)
    return report.exit_code


@cli.command("list")
@click.argument(
    "what",
    required=False,
    type=click.Choice(["designs", "scenarios", "properties", "options"]),
)
@design_option("Only this design's scenarios", default=None)
def list_command(what: str | None, design: str | None) -> int:
    """List designs, the scenarios of each design's suite, properties, and the
    scenario operations and options."""
    sections = [what] if what else ["designs", "scenarios", "properties", "options"]
    designs: list[type[Design]] = (
        [resolve(design)] if design else [REGISTRY[name] for name in sorted(REGISTRY)]
    )
    parts = []
    if "designs" in sections:
        parts.append(listing.render_designs(designs))
    if "scenarios" in sections:
        parts.append(listing.render_suites(designs))
    if "properties" in sections:
        parts.append(listing.render_properties(PROPERTIES.values()))
    if "options" in sections:
        parts.append(listing.render_options())
    click.echo("\n".join(parts), nl=False)
    return 0


@cli.command("new-design")
@click.argument("base")
@click.argument("name")
@click.option(
    "-o", "--output", type=click.Path(dir_okay=False), help="Write here (default: stdout)."
)
def new_design(base: str, name: str, output: str | None) -> int:
    """Write the starting file of a change NAME of design BASE: a subclass listing
    every step of BASE a change can override, with the kernel function it models."""
    text = scaffold(resolve(base), base, name)
    if output is None:
        click.echo(text, nl=False)
        return 0
    target = Path(output)
    if target.exists():
        raise click.UsageError(f"{output} exists; new-design never overwrites a file")
    target.write_text(text)
    cls = class_name(name)
    click.echo(f"wrote {output}: class {cls}; use it as --design {output}:{cls}")
    return 0


# The evidence commands live in their own module (zmodel/evidence_cli.py).
cli.add_command(evidence_cli.minimize)
cli.add_command(evidence_cli.explain)
cli.add_command(evidence_cli.graph)


def main(argv: Sequence[str] | None = None) -> None:
    """The console script."""
    cli.main(args=list(argv) if argv is not None else None, prog_name="zmodel")


if __name__ == "__main__":
    main()
