"""The click options ``zmodel check`` and ``verify`` share, with their ranges.

Every numeric option has a documented range, and a value outside it is a usage
error (exit 2, one line): the range is in the option's ``--help`` and in
click's message.  ``-X KEY=VALUE`` options are the engine's own; the engines
check their ranges (zmodel.harness).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from zmodel.counterexample import DEFAULT_OUT
from zmodel.explore.engines import (
    DEFAULT_CACHE_MB,
    DEFAULT_ENGINE,
    ENGINES,
    MAX_CACHE_MB,
    MAX_DEPTH,
    MAX_RUNS,
    EngineOptions,
)
from zmodel.report.progress import MODES
from zmodel.zswap.designs import DEFAULT_DESIGN

F = TypeVar("F", bound=Callable[..., Any])

#: The ranges of the numeric options (inclusive), shown in --help and README.
MAX_PREEMPTIONS = 1000
MAX_STEPS = 100_000
MAX_SEED = 2**64 - 1
MAX_SECONDS = 1_000_000.0
MAX_JOBS = 1024


def _parse_extra(
    ctx: click.Context, param: click.Parameter, values: tuple[str, ...]
) -> dict[str, int | str]:
    extra: dict[str, int | str] = {}
    for item in values:
        key, sep, raw = item.partition("=")
        if not sep or not key.strip():
            raise click.BadParameter(f"{item!r} is not KEY=VALUE", ctx, param)
        raw = raw.strip()
        extra[key.strip()] = int(raw) if raw.lstrip("-").isdigit() else raw
    return extra


def design_option(help_text: str, default: str | None = DEFAULT_DESIGN) -> Callable[[F], F]:
    return click.option(
        "--design",
        "-d",
        "design",
        default=default,
        metavar="D",
        help=help_text + " (a registered name or path/to/file.py:ClassName).",
    )


def engine_options(fn: F) -> F:
    """The exploration options shared by check and verify; the command gets
    ``scenarios``, ``engine``, ``options`` (an ``EngineOptions``), ``out``, ``as_json``
    and ``progress``."""
    defaults = EngineOptions()
    decorators = [
        click.option(
            "--scenario",
            "-s",
            "scenarios",
            multiple=True,
            metavar="S",
            help="A scenario text or a suite scenario's name; repeatable. Default: the suite.",
        ),
        click.option(
            "--engine",
            "-e",
            default=DEFAULT_ENGINE,
            metavar="E",
            show_default=True,
            help=f"How schedules are picked: {', '.join(sorted(ENGINES))}.",
        ),
        click.option(
            "--max-preemptions",
            type=click.IntRange(min=0, max=MAX_PREEMPTIONS),
            metavar="N",
            help="Preemption bound (engines that take one); the verdict is then bounded.",
        ),
        click.option(
            "--max-steps",
            type=click.IntRange(min=1, max=MAX_STEPS),
            default=defaults.max_steps,
            metavar="N",
            show_default=True,
            help="Step bound per run; runs cut by it make the verdict bounded.",
        ),
        click.option(
            "--seed",
            type=click.IntRange(min=0, max=MAX_SEED),
            metavar="N",
            help="Seed of randomised engines (up to 2^64-1).",
        ),
        click.option(
            "--time-limit",
            type=click.FloatRange(min=0, min_open=True, max=MAX_SECONDS),
            metavar="SECONDS",
            help="Stop each scenario's search after this long (the verdict is then bounded).",
        ),
        click.option(
            "--depth",
            type=click.IntRange(min=1, max=MAX_DEPTH),
            metavar="D",
            help="Bug depth of --engine pct (the same as -X depth=D).",
        ),
        click.option(
            "--engine-option",
            "-X",
            "engine_extra",
            multiple=True,
            metavar="KEY=VALUE",
            callback=_parse_extra,
            help="An option of the engine beyond these; repeatable: -X runs=N (random, pct:"
            f" 1..{MAX_RUNS:,}), -X depth=D (pct: 1..{MAX_DEPTH}), -X cache=auto|on|off"
            f" (dpor), -X cache_mb=N (dpor: 1..{MAX_CACHE_MB:,} MiB, default {DEFAULT_CACHE_MB:,}),"
            " -X profile=ci|thorough (hypothesis).",
        ),
        click.option(
            "--out",
            type=click.Path(file_okay=False, path_type=Path),
            default=DEFAULT_OUT,
            show_default=True,
            help="Where counterexamples are saved (<out>/<design>/<property>-<hash>.json).",
        ),
        click.option("--json", "as_json", is_flag=True, help="Print one JSON object on stdout."),
        click.option(
            "--progress",
            type=click.Choice(MODES),
            default="auto",
            is_flag=False,
            flag_value="lines",
            show_default=True,
            help="Live figures on stderr, every second: auto (live on a terminal), lines"
            " (bare --progress: a line per second even on a pipe), json (a JSON object"
            " per line), live, off.",
        ),
        click.option(
            "--jobs",
            "-j",
            type=click.IntRange(0, MAX_JOBS),
            default=1,
            show_default=True,
            metavar="N",
            help="Worker processes, 0..1024 (0: one per core); with more than one, each"
            " scenario's tree is split and its parts explored in parallel.",
        ),
        click.option(
            "--cluster",
            metavar="ADDRESS",
            default=None,
            help="Run the searches on a dask.distributed scheduler (tcp://host:8786)"
            " instead of local processes (pip install 'zmodel[cluster]').",
        ),
        click.option(
            "--all",
            "all_violations",
            is_flag=True,
            help="Keep exploring after the first violation (one counterexample per property).",
        ),
    ]
    fn = _as_engine_options(fn)
    for decorator in reversed(decorators):
        fn = decorator(fn)
    return fn


def _as_engine_options(fn: F) -> F:
    """Fold the exploration options into one ``options: EngineOptions`` argument
    (``--depth`` into its extra options), so commands take them as one value."""

    @functools.wraps(fn)
    def command(
        *args: Any,
        max_preemptions: int | None,
        max_steps: int,
        seed: int | None,
        time_limit: float | None,
        engine_extra: dict[str, int | str],
        all_violations: bool,
        depth: int | None = None,
        **kwargs: Any,
    ) -> Any:
        extra = dict(engine_extra) if depth is None else {**engine_extra, "depth": depth}
        kwargs["options"] = EngineOptions(
            max_steps=max_steps,
            max_preemptions=max_preemptions,
            seed=seed,
            all_violations=all_violations,
            time_limit=time_limit,
            extra=extra,
        )
        return fn(*args, **kwargs)

    return command  # type: ignore[return-value]


def minimize_option(fn: F) -> F:
    """``--minimize/--no-minimize``: how ``check`` and ``verify`` save counterexamples."""
    return click.option(
        "--minimize/--no-minimize",
        "minimize",
        default=True,
        help="Minimise each counterexample before saving it, as zmodel minimize does (the"
        " default); --no-minimize saves it as found.",
    )(fn)


def output_file_option(flag: str, dest: str, metavar: str, help_text: str) -> Callable[[F], F]:
    """An option naming a file to write (``--state-graph OUT.graphml``, ``--html OUT``)."""
    return click.option(
        flag, dest, type=click.Path(dir_okay=False, path_type=Path), metavar=metavar, help=help_text
    )
