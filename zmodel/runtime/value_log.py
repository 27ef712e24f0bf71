"""Before/after values of every heap write, recorded on request (replay only).

Engines pay one test per write for this: the log is attached to one heap as its
``log`` (:class:`~zmodel.runtime.memory.HeapLog`), and a heap without one runs as
before.
Reports (state in the swimlanes, ``zmodel explain``) attach one to the heap of a
single replay and read each step's :class:`Change` list.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from zmodel.runtime.memory import NEVER_WRITTEN, Heap, MemObject

#: A field that was never written (``forget``, or before the first write).
UNSET = "<unset>"


@dataclass(frozen=True)
class Change:
    """One write of one step: ``kind#oid.field`` went from ``before`` to ``after``.

    ``field`` is None for a whole-object event: ``what`` is then ``alloc`` or
    ``free``.  Values are rendered as text at write time (a reference as
    ``kind#oid``), so later writes cannot change what a change says.
    """

    oid: int
    kind: str
    field: str | None
    before: str
    after: str
    what: str = "set"  # set, forget, alloc (then init per initial field), free

    @property
    def obj(self) -> str:
        return f"{self.kind}#{self.oid}"


def show(value: Any) -> str:
    """A field value as a reader sees it."""
    if isinstance(value, MemObject):
        return f"{value.kind}#{value.oid}"
    if isinstance(value, tuple):
        return "(" + ", ".join(show(v) for v in value) + ")"
    if isinstance(value, frozenset):
        return "{" + ", ".join(sorted(show(v) for v in value)) + "}"
    return repr(value) if isinstance(value, str) else str(value)


class ValueLog:
    """The changes of the running step; :meth:`take` hands them out and starts anew."""

    def __init__(self, heap: Heap) -> None:
        self.heap = heap
        self.changes: list[Change] = []
        heap.log = self

    def changed(self, obj: MemObject, field: str | None, before: Any, what: str) -> None:
        add = self.changes.append
        if field is None:
            add(Change(obj.oid, obj.kind, None, "", "", what))
            if what == "alloc":
                for name, value in obj.fields.items():
                    add(Change(obj.oid, obj.kind, name, UNSET, show(value), "init"))
            return
        shown = UNSET if before is NEVER_WRITTEN else show(before)
        if what == "forget":
            if shown != UNSET:
                add(Change(obj.oid, obj.kind, field, shown, UNSET, "forget"))
            return
        after = show(obj.fields[field])
        if shown != after:
            add(Change(obj.oid, obj.kind, field, shown, after))

    def take(self) -> list[Change]:
        changes, self.changes = self.changes, []
        return changes
