"""What each step changed, in the model's words, for the swimlanes' ``--values``.

``zswap_entry.refcount 1->0``, ``zswap_tree->lock: T2 takes``, ``zswap_entry freed``:
an object is named by its kind alone where the trace has one object of that kind,
else ``kind#oid``.  The arrow is ASCII so the lanes stay plain text.
"""

from __future__ import annotations

from collections.abc import Sequence

from zmodel.analysis.causality import Access, Explanation
from zmodel.explore.observe import Observation, Observed
from zmodel.runtime.value_log import UNSET, Change


def object_names(steps: Sequence[Observed]) -> dict[int, str]:
    kinds: dict[int, str] = {}
    for observed in steps:
        for change in observed.changes:
            kinds.setdefault(change.oid, change.kind)
    count: dict[str, int] = {}
    for kind in kinds.values():
        count[kind] = count.get(kind, 0) + 1
    return {oid: kind if count[kind] == 1 else f"{kind}#{oid}" for oid, kind in kinds.items()}


def describe(observed: Observed, names: dict[int, str], threads: Sequence[str]) -> list[str]:
    """One line per change of the step (a lock operation as one line)."""
    tid = observed.step.tid
    who = threads[tid].split(":")[0] if tid < len(threads) else f"T{tid}"
    lines: list[str] = []
    lock = observed.lock
    if lock is not None:
        kind, (oid, field) = lock
        verb = "releases" if kind == "release" else "takes"
        lines.append(f"{names.get(oid, f'object#{oid}')}->{field}: {who} {verb}")
    lock_loc = lock[1] if lock is not None else None
    for change in observed.changes:
        if (change.oid, change.field) == lock_loc or change.what == "init":
            continue
        lines.append(_change(change, names))
    return lines


def _change(change: Change, names: dict[int, str]) -> str:
    obj = names.get(change.oid, change.obj)
    if change.what == "alloc":
        return f"{obj} allocated"
    if change.what == "free":
        return f"{obj} freed"
    if change.after == UNSET:
        return f"{obj}.{change.field} forgotten"
    return f"{obj}.{change.field} {change.before}->{change.after}"


#: The racing pair's marker in the index column (the violation keeps ``>>``).
PAIR_MARK = "~~"


def lane_notes(obs: Observation, threads: Sequence[str]) -> dict[int, list[str]]:
    names = object_names(obs.steps)
    return {i: describe(observed, names, threads) for i, observed in enumerate(obs.steps)}


def access_text(access: Access) -> str:
    value = f"{access.before}->{access.after}" if access.writes else f"read {access.before}"
    return f"{access.obj}.{access.field} {value}"


def legend(why: Explanation | None) -> list[str]:
    """The lines under the lanes: the racing pair and the decisive step."""
    if why is None:
        return []
    lines = []
    if why.pair is not None:
        a, b = why.pair.first, why.pair.second
        lines.append(
            f"{PAIR_MARK} racing pair: step {a.step} ({a.thread} {a.function}: {access_text(a)})"
            f" then step {b.step} ({b.thread} {b.function}: {access_text(b)})"
        )
    if why.decisive is not None:
        lines.append(f"the decisive step: {why.decisive} (see zmodel explain)")
    return lines
