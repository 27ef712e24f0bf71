"""``zmodel explain``: the causal chain of a violation, in the shape of a KCSAN report.

In the text, the edges from one access to the same function's accesses of another
thread are one line ("... before T1 zswap_flush_entries wrote it at 30 steps: 97,
100, 108, ..., 262"): a loop that touches the field again and again would otherwise
repeat a line per pass.  ``--json`` keeps every edge.
"""

from __future__ import annotations

from typing import Any

from zmodel.analysis.causality import Access, Edge, Explanation

RULE = "=" * 66


def _verb(access: Access) -> str:
    return "write to" if access.writes else "read of"


def _value(access: Access) -> str:
    if access.writes:
        return f"{access.before} -> {access.after}"
    return f"{access.before} (read)"


def _side(access: Access) -> list[str]:
    return [
        f"{_verb(access)} {access.obj}.{access.field} by {access.thread} at step {access.step}:",
        f"  {access.label}",
        f"  value: {_value(access)}",
    ]


def sentence(edge: Edge) -> str:
    a, b = edge.first, edge.second
    did = "wrote" if a.writes else "read"
    then = "wrote" if b.writes else "read"
    return (
        f"{a.thread} {a.function} {did} {a.obj}.{a.field} at step {a.step} ({_value(a)})"
        f" before {b.thread} {b.function} {then} it at step {b.step} ({_value(b)})"
    )


#: Steps named in a folded line: the first few and the last.
SHOWN_STEPS = 3


def _folded(edges: list[Edge]) -> str:
    """One line for the edges from one access to the same function's accesses."""
    if len(edges) == 1:
        return sentence(edges[0])
    a, b = edges[0].first, edges[0].second
    did = "wrote" if a.writes else "read"
    then = "wrote" if b.writes else "read"
    steps = [str(e.second.step) for e in edges]
    if len(steps) > SHOWN_STEPS + 1:
        steps = [*steps[:SHOWN_STEPS], "...", steps[-1]]
    values = ", ".join(dict.fromkeys(_value(e.second) for e in edges))
    return (
        f"{a.thread} {a.function} {did} {a.obj}.{a.field} at step {a.step} ({_value(a)})"
        f" before {b.thread} {b.function} {then} it at {len(edges)} steps:"
        f" {', '.join(steps)} ({values})"
    )


def fold(chain: tuple[Edge, ...]) -> list[list[Edge]]:
    """The chain's edges grouped by their first access and the second's thread,
    function and kind, in the order of each group's first edge."""
    groups: dict[tuple[object, ...], list[Edge]] = {}
    for edge in chain:
        b = edge.second
        groups.setdefault((edge.first, b.thread, b.function, b.writes), []).append(edge)
    return list(groups.values())


def render_explain(why: Explanation, recurs: bool) -> str:
    lines = [RULE, f"BUG: zmodel: {why.title}", ""]
    if why.pair is not None:
        lines.append(f"racing pair on {why.pair.second.obj}.{why.pair.second.field}:")
        lines.extend(_side(why.pair.first))
        lines.append("")
        lines.extend(_side(why.pair.second))
        lines.append("")
    else:
        lines.append("no racing pair: the violation needs no other thread's access")
        lines.append("")
    if why.chain:
        lines.append("how it got there (happens-before edges between threads, in order):")
        lines.extend(f"  {_folded(edges)};" for edges in fold(why.chain))
        lines.append("")
    at = "at quiescence" if why.decisive is None else f"(the decisive step: {why.decisive})"
    lines.append(f"then {why.prop} {at}: {why.message}")
    lines.append(RULE)
    lines.append(
        f"VIOLATION RECURS: {why.prop}" if recurs else f"a different violation: {why.prop}"
    )
    return "\n".join(lines) + "\n"


def explain_json(why: Explanation, recurs: bool) -> dict[str, Any]:
    pair = why.pair
    return {
        "title": why.title,
        "property": why.prop,
        "message": why.message,
        "recurs": recurs,
        "decisive_step": why.decisive,
        "racing_pair": None if pair is None else [pair.first.to_json(), pair.second.to_json()],
        "chain": [
            {"first": e.first.to_json(), "second": e.second.to_json(), "text": sentence(e)}
            for e in why.chain
        ],
    }
