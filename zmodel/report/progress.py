"""Live progress of ``zmodel check`` and ``verify`` on stderr (``--progress``).

Three forms, one per audience: on a terminal a rich live line that redraws in
place (``live``); on a pipe or a log, one plain line per interval (``lines``); for
scripts, one JSON object per line (``json``).  Every form shows, per scenario and
for the suite, the executions, transitions (and per second), distinct states,
the depth of the backtrack stack and the time; the exhaustive engines add an
estimate of the part of the search done and of the time left, always labelled
as an estimate (zmodel.explore.progress says how it is made).  Spread over
workers (``--jobs``, ``--cluster``), several scenarios are searched at once: the
figures are of the first not done, and the line names every scenario on the
workers (``running`` in JSON, 0-based as ``index``).
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import IO, Any

from rich.console import Console
from rich.live import Live
from rich.text import Text

from zmodel.check import Progress

MODES = ("auto", "live", "lines", "json", "off")


def resolve_mode(requested: str, stream: IO[str] | None = None) -> str:
    """``auto``: live on a terminal, off otherwise; ``lines`` on a terminal is live."""
    stream = sys.stderr if stream is None else stream
    tty = stream.isatty()
    if requested == "auto":
        return "live" if tty else "off"
    if requested == "lines" and tty:
        return "live"
    return requested


def describe(event: Progress) -> str:
    """One line of figures: the scenario, its search so far, the suite."""
    s = event.snapshot
    name = event.spec.name or event.spec.scenario.text
    states = f", {s.distinct_states:,} states" if s.distinct_states is not None else ""
    found = f", {s.violations} violation(s)" if s.violations else ""
    line = (
        f"[{event.index + 1}/{event.total} {name}] {s.executions:,} executions,"
        f" {s.transitions:,} transitions ({s.transitions_per_second:,.0f}/s){states},"
        f" stack depth {s.depth}{found}, {s.seconds:.1f} s"
    )
    if event.done:
        line += f" ({event.status})"
    elif s.explored is not None:
        left = s.remaining_seconds
        eta = f", ~{left:,.0f} s left" if left is not None else ""
        line += f"; estimate: {100 * min(s.explored, 0.999):.1f}% explored{eta}"
    if len(event.running) > 1:
        others = ", ".join(str(i + 1) for i in event.running)
        line += f"; on the workers: {others} of {event.total}"
    return line + f"; suite {event.suite_seconds:.1f} s"


def as_json(event: Progress) -> dict[str, Any]:
    s = event.snapshot
    return {
        "scenario": event.spec.scenario.text,
        "name": event.spec.name,
        "index": event.index,
        "total": event.total,
        "status": event.status,
        "executions": s.executions,
        "transitions": s.transitions,
        "transitions_per_second": round(s.transitions_per_second, 1),
        "distinct_states": s.distinct_states,
        "depth": s.depth,
        "violations": s.violations,
        "seconds": round(s.seconds, 3),
        "suite_seconds": round(event.suite_seconds, 3),
        "running": list(event.running),
        "estimate": None
        if s.explored is None or event.done
        else {
            "explored": round(s.explored, 6),
            "executions": s.estimated_executions,
            "remaining_seconds": None
            if s.remaining_seconds is None
            else round(s.remaining_seconds, 1),
        },
    }


class ProgressPrinter:
    """Receives the check's progress events and prints them in one of the forms."""

    def __init__(self, mode: str, stream: IO[str] | None = None) -> None:
        self.mode = mode
        self.stream = sys.stderr if stream is None else stream
        self.console = Console(file=self.stream, highlight=False, soft_wrap=True)
        self.live: Live | None = None

    @property
    def active(self) -> bool:
        return self.mode != "off"

    def __call__(self, event: Progress) -> None:
        if self.mode == "json":
            self.stream.write(json.dumps(as_json(event)) + "\n")
            self.stream.flush()
        elif self.mode == "lines":
            self.stream.write(describe(event) + "\n")
            self.stream.flush()
        elif self.mode == "live":
            line = Text(describe(event), style="dim" if event.done else "")
            if self.live is None:
                self.live = Live(line, console=self.console, transient=True, auto_refresh=False)
                self.live.start()
            self.live.update(line, refresh=True)
            if event.done:
                self.pause()

    def pause(self) -> None:
        """Clear the live line (before a scenario's report is printed)."""
        if self.live is not None:
            self.live.stop()
            self.live = None

    def close(self) -> None:
        self.pause()


@contextmanager
def printing(mode: str) -> Iterator[Callable[[Progress], None] | None]:
    """The progress callback of ``--progress=mode`` (None when off), closed on the way out."""
    printer = ProgressPrinter(resolve_mode(mode))
    try:
        yield printer if printer.active else None
    finally:
        printer.close()
