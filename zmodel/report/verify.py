"""``zmodel verify``: the scenario x property table as text, and the --json object."""

from __future__ import annotations

import shlex
from typing import Any

from zmodel.check import SavedViolation
from zmodel.explore import VERDICT_TEXT, VIOLATION
from zmodel.report.json_report import check_json
from zmodel.report.swimlanes import Style, plain
from zmodel.report.tables import PLAIN, Cell, Look
from zmodel.report.text import render_minimized, render_stats, replay_command
from zmodel.verify import (
    CHANGES,
    FIXED,
    FIXED_WITHIN_BOUNDS,
    NOT_FOUND,
    REGRESSED,
    VIOLATED,
    Comparison,
    Row,
    VerifyReport,
)
from zmodel.zswap.designs import Design

STATUS_TEXT = {VIOLATED: "VIOLATED", NOT_FOUND: "not found (bounded)"}


def render_header(new_cls: type[Design], base_cls: type[Design], engine: str) -> str:
    return (
        f"verify {new_cls.name} against {base_cls.name}, engine {engine}"
        " (both explored for every violated property)\n"
    )


def render_comparison(
    cmp: Comparison,
    new_cls: type[Design],
    base_cls: type[Design],
    style: Style = plain,
    look: Look = PLAIN,
) -> str:
    """One scenario: both verdicts, the property table (drawn as ``look`` says), and
    the counterexamples (their lines styled by ``style``)."""
    base_name, new_name = base_cls.name, new_cls.name
    header: list[Cell] = [("header", text) for text in ("property", base_name, new_name, "change")]
    cells = [("verdict", VERDICT_TEXT[cmp.base.verdict], VERDICT_TEXT[cmp.new.verdict], "")]
    cells += [(row.prop, _status(row.base), _status(row.new), row.change) for row in cmp.rows]
    rows: list[list[Cell]] = [header]
    rows += [list(zip(_kinds(cell), cell, strict=True)) for cell in cells]
    lines = [f"scenario {cmp.scenario.title}", *look.table(rows)]
    for row in cmp.rows:
        lines.extend(_evidence(row, new_name, base_name, cmp, style))
    lines.append(f"  stats {base_name}: {render_stats(cmp.base.result)}")
    lines.append(f"  stats {new_name}: {render_stats(cmp.new.result)}")
    return "\n".join(lines) + "\n"


def _status(status: str) -> str:
    return STATUS_TEXT.get(status, status)


def _kinds(cell: tuple[str, str, str, str]) -> tuple[str, str, str, str]:
    """Styles per column: violations red, passes green, the change by its meaning."""

    def kind(text: str) -> str:
        if text in (STATUS_TEXT[VIOLATED], VERDICT_TEXT[VIOLATION]):
            return "violation"
        if text in ("holds", VERDICT_TEXT["pass"]):
            return "pass"
        return ""

    change = cell[3]
    change_kind = {REGRESSED: "violation", FIXED: "pass", FIXED_WITHIN_BOUNDS: "pass"}
    return ("", kind(cell[1]), kind(cell[2]), change_kind.get(change, ""))


def _evidence(row: Row, new_name: str, base_name: str, cmp: Comparison, style: Style) -> list[str]:
    """The counterexample files behind a row: NEW's violations, and BASE's that NEW fixed."""
    out: list[str] = []
    if row.new_saved is not None:
        tag = "new in " if row.change == REGRESSED else "still in "
        found = row.new_saved.found
        out.append(f"  {tag}{new_name}: {style('violation', row.prop)}: {found.message}")
        out.append(f"    counterexample: {row.new_saved.path}")
        out.extend(_minimised(row.new_saved, cmp))
        out.append(f"    replay: {replay_command(row.new_saved.path)}")
    elif row.base_saved is not None and row.change in (FIXED, FIXED_WITHIN_BOUNDS):
        found = row.base_saved.found
        out.append(f"  fixed from {base_name}: {row.prop}: {found.message}")
        out.append(f"    counterexample: {row.base_saved.path}")
        out.extend(_minimised(row.base_saved, cmp))
        source = cmp_source(cmp)
        out.append(f"    replay on {new_name}: {replay_command(row.base_saved.path)}{source}")
    return out


def _minimised(saved: SavedViolation, cmp: Comparison) -> list[str]:
    """The ``minimised:`` line of a file saved smaller than found, as check prints it."""
    if saved.minimized is None:
        return []
    return ["    " + render_minimized(saved.minimized, cmp.scenario.scenario.text)]


def cmp_source(cmp: Comparison) -> str:
    """The ``--design`` argument that replays a BASE counterexample against NEW."""
    return f" --design {shlex.quote(cmp.new_source)}" if cmp.new_source else ""


def render_summary(report: VerifyReport) -> str:
    new_name, base_name = report.new.design_cls.name, report.base.design_cls.name
    counts = report.changes()
    changed = ", ".join(f"{counts[c]} {c}" for c in CHANGES if counts[c]) or "nothing compared"
    scenarios = len(report.comparisons)
    plural = "s" if scenarios != 1 else ""
    lines = [
        f"{new_name} against {base_name}: {changed} (rows of {scenarios} scenario{plural})",
        f"{base_name}: {VERDICT_TEXT[report.base.verdict]}",
        f"{new_name}: {VERDICT_TEXT[report.new.verdict]}",
    ]
    if report.interrupted:
        lines.append("exit 130: interrupted; the figures above are the searches' so far")
    elif report.exit_code == 1:
        lines.append(f"exit 1: {new_name} violates a property; replay its counterexamples above")
    elif report.exit_code == 4:
        lines.append(f"exit 4: {new_name} has no violation, but its search was bounded")
    return "\n".join(lines) + "\n"


def render_verify(report: VerifyReport, style: Style = plain, look: Look = PLAIN) -> str:
    new_cls, base_cls = report.new.design_cls, report.base.design_cls
    parts = [render_header(new_cls, base_cls, report.new.engine)]
    parts += [render_comparison(cmp, new_cls, base_cls, style, look) for cmp in report.comparisons]
    parts.append(render_summary(report))
    return "\n".join(parts)


def verify_json(report: VerifyReport) -> dict[str, Any]:
    """``verdict`` (NEW's), ``new`` and ``base`` (each a ``check --json`` object), and
    ``changes``: one object per scenario and property row; ``"interrupted": true``
    after Ctrl-C."""
    obj: dict[str, Any] = {
        "verdict": report.verdict,
        "design": report.new.design_cls.name,
        "against": report.base.design_cls.name,
        "new": check_json(report.new),
        "base": check_json(report.base),
        "changes": [
            _row_json(cmp.scenario.scenario.text, row)
            for cmp in report.comparisons
            for row in cmp.rows
        ],
    }
    if report.interrupted:
        obj["interrupted"] = True
    return obj


def _row_json(scenario: str, row: Row) -> dict[str, Any]:
    return {
        "scenario": scenario,
        "property": row.prop,
        "base": row.base,
        "new": row.new,
        "change": row.change,
        "counterexample": _path(row),
    }


def _path(row: Row) -> str | None:
    saved = row.new_saved or (row.base_saved if row.change != REGRESSED else None)
    return None if saved is None else str(saved.path)


__all__ = [
    "render_comparison",
    "render_header",
    "render_summary",
    "render_verify",
    "verify_json",
]
