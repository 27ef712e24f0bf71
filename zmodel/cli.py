"""The ``zmodel`` command line: presentation only.

The commands live by kind in :mod:`zmodel.search_cli` (check, verify),
:mod:`zmodel.evidence_cli` (replay, minimize, explain, graph) and
:mod:`zmodel.design_cli` (list, new-design); this module is the group that runs
them, with the error handling they share.  Every failure ends as one line
``zmodel: error: ...`` on stderr with the exit code of design.md, never a traceback:
the table in :func:`_exit_for` maps each error type to its code, and
:meth:`ZmodelGroup.main` applies it to every command (a new command such as
``verify`` raises the same errors and gets the same treatment).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from typing import Any, NoReturn

import click

from zmodel import __version__, design_cli, engine_build, evidence_cli, search_cli
from zmodel.check import EXIT_INPUT, EXIT_INTERRUPTED, EXIT_MODEL, ModelFailureReport
from zmodel.counterexample import CounterexampleError
from zmodel.explore import EngineError, ModelFailure
from zmodel.runtime import ModelError
from zmodel.zswap.designs import DesignError
from zmodel.zswap.scenario import ScenarioError


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


@click.group(cls=ZmodelGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(
    __version__, prog_name="zmodel", message=f"%(prog)s %(version)s ({engine_build.describe()})"
)
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


# The commands, each module one kind (``--help`` lists them by name).
for command in (
    search_cli.check,
    search_cli.verify,
    evidence_cli.replay,
    evidence_cli.minimize,
    evidence_cli.explain,
    evidence_cli.graph,
    design_cli.list_command,
    design_cli.new_design,
):
    cli.add_command(command)


def main(argv: Sequence[str] | None = None) -> None:
    """The console script."""
    cli.main(args=list(argv) if argv is not None else None, prog_name="zmodel")


if __name__ == "__main__":
    main()
