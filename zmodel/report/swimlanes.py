"""A trace as per-thread swimlanes: one column per thread, one row per step.

Each row holds the step index and, in the column of the thread that ran it, the
step's label (the kernel function it models).  The violating step is marked with
``>>`` and the violation is spelled out under the table; an end-state violation
(a leak, found at quiescence) gets a final ``end`` row.

The scenario's setup runs to its end before any thread starts, so its lane would be
a block of rows at the top with every other lane empty, taking a column's width from
the threads for nothing.  By default it is folded into one line (unless the violation
is in the setup); ``setup="lane"`` shows it as a column like the others.

The output is plain ASCII text, so that it can be tested and piped; ``style`` lets
the CLI colour the header and the violating row.
"""

from __future__ import annotations

import textwrap
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TypedDict, Unpack

#: Wrapped labels longer than this many lines are cut with an ellipsis.
MAX_LABEL_LINES = 3
MIN_LANE_WIDTH = 14
SEP = " | "

#: kind ("header", "violation", "note") -> text -> styled text.
Style = Callable[[str, str], str]


def plain(kind: str, text: str) -> str:
    return text


@dataclass(frozen=True)
class Violation:
    step: int  # index of the violating step; len(trace) for an end-state violation
    prop: str
    message: str


@dataclass(frozen=True)
class Row:
    """One row of the lanes: a step (its index text and the lines of its thread's
    cell), or a note across the lanes (a fold, a repeat, the violation)."""

    kind: str  # "step", "note" (dim) or "violation" (the marked step or the final line)
    index: str = ""
    tid: int = 0
    lines: tuple[str, ...] = ()
    mark: str = ""  # the step's marker (``>>``, ``~~``) or ""


@dataclass(frozen=True)
class Lanes:
    """What the lanes show, before any drawing: headers, rows and the layout."""

    shown: list[int]  # the tids with a column
    headers: dict[int, list[str]]
    rows: list[Row]
    index_width: int
    lane_width: int
    footer: Row | None  # the violation, under the table


class LayoutOptions(TypedDict, total=False):
    """What :func:`lay_out` takes besides the steps and lanes."""

    violation: Violation | None
    width: int
    setup: str
    fold_repeats: bool
    notes: Mapping[int, Sequence[str]] | None
    marks: Mapping[int, str] | None


def render_swimlanes(
    steps: Sequence[tuple[int, str]],
    lanes: Sequence[str],
    *,
    style: Style = plain,
    draw: Callable[[Lanes], str] | None = None,
    **layout: Unpack[LayoutOptions],
) -> str:
    """``steps`` are (tid, label); ``lanes`` the header of each tid (tid 0 the setup);
    ``layout`` as :func:`lay_out` takes it.  ``style`` colours the plain text;
    ``draw`` draws the rows instead (rich, on a terminal: :mod:`zmodel.report.rich_lanes`).
    """
    laid = lay_out(steps, lanes, **layout)
    if draw is not None:
        return draw(laid)
    shown, index_width, lane_width = laid.shown, laid.index_width, laid.lane_width

    def row(index: str, cells: Mapping[int, Sequence[str]]) -> list[str]:
        height = max((len(c) for c in cells.values()), default=1)
        out = []
        for line in range(height):
            parts = [(index if line == 0 else "").rjust(index_width)]
            for tid in shown:
                cell = cells.get(tid, [])
                parts.append((cell[line] if line < len(cell) else "").ljust(lane_width))
            out.append(SEP.join(parts).rstrip())
        return out

    lines = [style("header", text) for text in row("step", laid.headers)]
    rule = "-+-".join(["-" * index_width] + ["-" * lane_width for _ in shown])
    lines.append(rule)
    for item in laid.rows:
        if item.kind == "note":
            lines.append(style("note", " " * index_width + SEP + item.lines[0]))
            continue
        text = row(item.index, {item.tid: item.lines})
        lines.extend(style("violation", t) if item.kind == "violation" else t for t in text)
    if laid.footer is not None:
        lines.append(rule)
        lines.append(style("violation", laid.footer.lines[0]))
    return "\n".join(lines) + "\n"


def lay_out(
    steps: Sequence[tuple[int, str]],
    lanes: Sequence[str],
    *,
    violation: Violation | None = None,
    width: int = 100,
    setup: str = "fold",
    fold_repeats: bool = True,
    notes: Mapping[int, Sequence[str]] | None = None,
    marks: Mapping[int, str] | None = None,
) -> Lanes:
    """The rows of the lanes (folds, repeats, marks, wrapping), for any drawing of them.

    With ``fold_repeats``, a block of steps that runs three or more times in a row
    (a retry loop going round) is shown once, then one line says how often it repeats.
    ``notes`` are extra lines under a step's label (what it changed, ``--values``);
    ``marks`` a two-character marker before a step's index (the racing pair); the
    violation's ``>>`` wins over a mark.
    """
    notes = notes or {}
    marks = marks or {}
    setup_steps = [i for i, (tid, _) in enumerate(steps) if tid == 0]
    in_setup = violation is not None and violation.step in setup_steps
    fold = setup == "fold" and not in_setup and len(lanes) > 1
    shown = list(range(1, len(lanes))) if fold else list(range(len(lanes)))
    index_width = max(4, len(str(len(steps))) + 3)  # room for ">> " before the index
    lane_width = max(MIN_LANE_WIDTH, (width - index_width - len(SEP) * len(shown)) // len(shown))
    wrapper = textwrap.TextWrapper(
        width=lane_width,
        max_lines=MAX_LABEL_LINES,
        placeholder=" ...",
        break_on_hyphens=False,
    )
    headers = {tid: wrapper.wrap(lanes[tid]) or [""] for tid in shown}
    rows: list[Row] = []
    if fold and setup_steps:
        first, last = setup_steps[0], setup_steps[-1]
        count = len(setup_steps)
        summary = f"{lanes[0]}: {count} step{'s' if count != 1 else ''} ({first}-{last}), folded"
        rows.append(Row("note", lines=(summary,)))
    order = [i for i, (tid, _) in enumerate(steps) if not (fold and tid == 0)]
    protected = ({violation.step} if violation is not None else set()) | set(marks)
    keys = [(steps[i][0], "\n".join((steps[i][1], *notes.get(i, ())))) for i in order]
    repeats = (
        find_repeats(keys, {order.index(i) for i in protected if i in order})
        if fold_repeats
        else {}
    )

    def step_row(i: int) -> Row:
        label = wrapper.wrap(steps[i][1]) or [""]
        extra = [
            line
            for note in notes.get(i, ())
            for line in textwrap.wrap("  " + note, lane_width, subsequent_indent="    ")
        ]
        marked = violation is not None and violation.step == i
        mark = ">>" if marked else marks.get(i, "")
        index = f"{mark} {i}" if mark else str(i)
        kind = "violation" if marked else "step"
        return Row(kind, index, steps[i][0], tuple(label + extra), mark)

    pos = 0
    while pos < len(order):
        rows.append(step_row(order[pos]))
        pos += 1
        if pos - 1 in repeats:
            length, times = repeats[pos - 1]
            for _ in range(length - 1):
                rows.append(step_row(order[pos]))
                pos += 1
            first, last = order[pos], order[pos + length * times - 1]
            what = "step" if length == 1 else f"{length} steps"
            note = f"{first}-{last}: the {what} above, {times} more time{'s' if times > 1 else ''}"
            rows.append(Row("note", lines=(note,)))
            pos += length * times
    footer = None
    if violation is not None:
        if violation.step >= len(steps):
            note = f"end (all threads done): {violation.prop}: {violation.message}"
        else:
            tid = steps[violation.step][0]
            who = lanes[tid].split(":")[0] if tid < len(lanes) else f"thread {tid}"
            note = f">> step {violation.step} ({who}): {violation.prop}: {violation.message}"
        footer = Row("violation", lines=(note,))
    return Lanes(shown, headers, rows, index_width, lane_width, footer)


def find_repeats(
    keys: Sequence[tuple[int, str]], protected: set[int], max_block: int = 16
) -> dict[int, tuple[int, int]]:
    """Runs of a block repeated three or more times in a row: start -> (block length,
    extra copies).  A copy that holds a protected position (the violation) stays shown."""
    found: dict[int, tuple[int, int]] = {}
    pos = 0
    while pos < len(keys):
        best = (0, 0)
        for length in range(1, max_block + 1):
            block = keys[pos : pos + length]
            if len(block) < length:
                break
            copies = 0
            while True:
                start = pos + length * (copies + 1)
                copy = keys[start : start + length]
                if copy != block or protected & set(range(start, start + length)):
                    break
                copies += 1
            if copies >= 2 and length * copies > best[0] * best[1]:
                best = (length, copies)
        if best[1]:
            found[pos] = best
            pos += best[0] * (best[1] + 1)
        else:
            pos += 1
    return found


def lane_headers(names: Sequence[str], threads: Sequence[str], setup: str) -> list[str]:
    """Column headers: ``setup: store 1 A`` and ``T1: writeback``, from thread names and
    the operations each thread runs (as scenario text)."""
    headers = []
    for tid, name in enumerate(names):
        ops = setup if tid == 0 else (threads[tid - 1] if tid - 1 < len(threads) else "")
        headers.append(f"{name}: {ops}" if ops else name)
    return headers
