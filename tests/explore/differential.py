"""What a differential test compares: the end states and violations an engine reaches."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from zmodel.explore import Program, Result
from zmodel.runtime import Executor

#: (end-state fingerprints, (property, message) of every violation)
Outcome = tuple[frozenset[Any], frozenset[tuple[str, str]]]


def outcome(
    engine: Callable[..., Result], program: Program, **options: Any
) -> tuple[Outcome, Result]:
    """Run ``engine`` over all violations; collect every quiescent state it reaches."""
    ends: set[Any] = set()

    def on_end(ex: Executor) -> None:
        ends.add(ex.fingerprint())

    result = engine(program, stop_on_first=False, on_end=on_end, **options)
    found = frozenset((v.prop, v.message) for v in result.violations)
    return (frozenset(ends), found), result


def describe(a: Outcome, b: Outcome) -> str:
    """Say how two outcomes differ, for assertion messages."""
    return (
        f"end states only in first: {len(a[0] - b[0])}, only in second: {len(b[0] - a[0])}; "
        f"violations only in first: {sorted(a[1] - b[1])}, only in second: {sorted(b[1] - a[1])}"
    )
