"""Before/after values of every heap write, recorded on request (replay only).

Engines never pay for this: the log is attached to one heap by shadowing its
``alloc``, ``set``, ``forget`` and ``free`` methods with instance attributes, so the
class's hot path is untouched and a heap without a log runs exactly as before.
Reports (state in the swimlanes, ``zmodel explain``) attach one to the heap of a
single replay and read each step's :class:`Change` list.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from zmodel.runtime.memory import Heap, MemObject

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
        alloc, set_, forget, free = heap.alloc, heap.set, heap.forget, heap.free

        def logged_alloc(kind: str, fields: dict[str, Any] | None = None, **kw: Any) -> MemObject:
            obj = alloc(kind, fields, **kw)
            self.changes.append(Change(obj.oid, kind, None, "", "", "alloc"))
            for name, value in obj.fields.items():
                self.changes.append(Change(obj.oid, kind, name, UNSET, show(value), "init"))
            return obj

        def logged_set(obj: MemObject, field: str, value: Any) -> None:
            before = show(obj.fields[field]) if field in obj.fields else UNSET
            set_(obj, field, value)
            after = show(value)
            if before != after:
                self.changes.append(Change(obj.oid, obj.kind, field, before, after))

        def logged_forget(obj: MemObject, field: str) -> None:
            before = show(obj.fields[field]) if field in obj.fields else UNSET
            forget(obj, field)
            if before != UNSET:
                self.changes.append(Change(obj.oid, obj.kind, field, before, UNSET, "forget"))

        def logged_free(obj: MemObject, what: str = "") -> None:
            free(obj, what)
            self.changes.append(Change(obj.oid, obj.kind, None, "", "", "free"))

        # Instance attributes shadow the class's methods for this heap only.
        heap.alloc = logged_alloc  # type: ignore[method-assign]
        heap.set = logged_set  # type: ignore[method-assign]
        heap.forget = logged_forget  # type: ignore[method-assign]
        heap.free = logged_free  # type: ignore[method-assign]

    def take(self) -> list[Change]:
        changes, self.changes = self.changes, []
        return changes
