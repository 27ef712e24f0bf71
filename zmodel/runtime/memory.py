"""Shared memory: objects with lifetimes, and the footprint of the current step.

Every piece of shared state in a model is a field of a :class:`MemObject` on the
:class:`Heap`.  The heap is the only way to touch shared state, and it only lets a
model do so while the executor runs a primitive: every read and write is then
recorded as the step's *footprint* (the locations it read and wrote), which the
engines use to decide which steps commute.  Lifetime faults are detected here, at
the access that commits them: a read or write of a freed object is a
use-after-free, a second free is a double-free, a read of a field never written is
an uninitialised read.

Object ids are allocated per thread (``(n << 6) | (tid + 1)``) rather than from one
global counter, so that two allocations in different threads commute exactly: the
same objects get the same ids in either order.  Without that, a reduced search
and plain enumeration would disagree about end states for a reason that has
nothing to do with concurrency.

Field values must be immutable (ints, strings, tuples, frozensets, ``None`` and
references to other objects): an in-place mutation of a list would escape the
footprint.  The heap rejects mutable values at write time.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from enum import Enum
from types import FunctionType, MethodType
from typing import Any, Protocol

from zmodel.runtime.faults import (
    DOUBLE_FREE,
    UNINITIALISED_READ,
    USE_AFTER_FREE,
    ModelError,
    Violation,
)

#: A location is ``(oid, field)``; ``field`` None stands for the whole object
#: (allocation and free touch every field at once).
Location = tuple[int, str | None]

_MUTABLE = (list, dict, set, bytearray)

#: Object ids (an alias: inside Heap, ``set`` names the write method).
OidSet = set[int]
LocationSet = set[Location]


class MemObject:
    """One kernel object: a struct, a page, a lock.

    ``parts`` are objects embedded in this one (a spinlock inside a struct): they
    are freed with it.  ``weak`` names fields whose references do not keep the
    target alive for leak detection (an allocator's own lists, for instance).
    """

    __slots__ = ("canon", "fields", "freed", "kind", "oid", "parts", "weak")

    def __init__(self, oid: int, kind: str, fields: dict[str, Any], weak: frozenset[str]) -> None:
        self.oid = oid
        self.kind = kind
        self.fields = fields
        self.freed = False
        # The object's part of the heap fingerprint; None once a write changes it.
        self.canon: tuple[Any, ...] | None = None
        self.parts: tuple[MemObject, ...] = ()
        self.weak = weak

    def __repr__(self) -> str:
        state = " freed" if self.freed else ""
        return f"<{self.kind}#{self.oid}{state}>"


#: A field's value before its first write (what :class:`HeapLog` is given then).
NEVER_WRITTEN: Any = object()


class HeapLog(Protocol):
    """Told of every change to the heap it is attached to (``Heap.log``)."""

    def changed(self, obj: MemObject, field: str | None, before: Any, what: str) -> None:
        """``obj.field`` changed from ``before`` (``what``: set, forget); for a whole
        object (``field`` None), ``what`` is alloc or free."""


class Heap:
    """All objects of one run, and the footprint recorder of the running step.

    ``log`` (None but for a replay that shows values) is told of every change: a
    plain attribute the writes test, since a compiled heap cannot have its
    methods shadowed per instance.
    """

    #: Thread fingerprints skip locals marked as the shared world: the heap's
    #: contents are fingerprinted once, as shared state.
    __shared_world__ = True

    def __init__(self) -> None:
        self.objects: dict[int, MemObject] = {}
        self._by_oid: list[MemObject] | None = []  # objects in oid order; None after an alloc
        self.roots: list[MemObject] = []
        self._next: dict[int, int] = {}
        self.tid = -1  # the thread whose step is running; -1 while building the world
        self.active = True  # world construction may touch the heap freely
        self.reads: LocationSet = set()
        self.writes: LocationSet = set()
        self.log: HeapLog | None = None

    def unlink(self) -> None:
        """Empty every object: the run is over and nothing reads this heap again.

        Kernel objects point at each other (an rbtree node at its parent and
        children, a list head at itself), so a finished run's heap is a reference
        cycle, and without this only the cyclic collector frees it: on 6.8's
        suite that was a quarter of the CPU (zmodel/explore/collector.py).
        """
        for obj in self.objects.values():
            obj.fields.clear()
            obj.parts = ()
            obj.canon = None
        self.roots.clear()

    # -- step bracketing (used by the executor) -------------------------------
    def begin_step(self, tid: int) -> None:
        self.tid = tid
        self.active = True
        # Cleared, not replaced: end_step hands out frozen copies, and this
        # runs once per step.
        self.reads.clear()
        self.writes.clear()

    def end_step(self) -> tuple[frozenset[Location], frozenset[Location]]:
        self.active = False
        # Many steps write nothing (or read nothing): one shared empty set, not a
        # new one per step.
        reads, writes = self.reads, self.writes
        return (
            frozenset(reads) if reads else NOTHING,
            frozenset(writes) if writes else NOTHING,
        )

    def _guard(self) -> None:
        if not self.active:
            raise ModelError("shared state touched outside a primitive step")

    # -- allocation and lifetime --------------------------------------------
    def alloc(
        self,
        kind: str,
        fields: dict[str, Any] | None = None,
        *,
        weak: Iterable[str] = (),
        root: bool = False,
    ) -> MemObject:
        self._guard()
        tid = self.tid
        n = self._next.get(tid, 0)
        self._next[tid] = n + 1
        oid = (n << 6) | (tid + 1)
        values = dict(fields) if fields else {}
        for value in values.values():
            _check_immutable(value)
        obj = MemObject(oid, kind, values, frozenset(weak))
        self.objects[oid] = obj
        self._by_oid = None
        self.writes.add((oid, None))
        if root:
            self.roots.append(obj)
        if self.log is not None:
            self.log.changed(obj, None, NEVER_WRITTEN, "alloc")
        return obj

    def embed(self, parent: MemObject, part: MemObject) -> None:
        """Make ``part`` live and die with ``parent`` (a lock inside a struct)."""
        parent.parts = (*parent.parts, part)

    def free(self, obj: MemObject, what: str = "") -> None:
        self._guard()
        self.writes.add((obj.oid, None))
        if obj.freed:
            raise Violation(DOUBLE_FREE, f"{what or 'free'} of {obj!r}, already freed")
        obj.freed = True
        obj.canon = None
        for part in obj.parts:
            part.freed = True
            part.canon = None
            self.writes.add((part.oid, None))
        if self.log is not None:
            self.log.changed(obj, None, NEVER_WRITTEN, "free")

    # -- field access -------------------------------------------------------
    # get and set are the model's hot path: the guard is inlined, not called.
    def get(self, obj: MemObject, field: str) -> Any:
        if not self.active:
            self._guard()
        self.reads.add((obj.oid, field))
        if obj.freed:
            raise Violation(USE_AFTER_FREE, f"read of {obj!r}.{field} after free")
        try:
            return obj.fields[field]
        except KeyError:
            raise Violation(UNINITIALISED_READ, f"read of {obj!r}.{field}, never written") from None

    def set(self, obj: MemObject, field: str, value: Any) -> None:
        if not self.active:
            self._guard()
        self.writes.add((obj.oid, field))
        if obj.freed:
            raise Violation(USE_AFTER_FREE, f"write of {obj!r}.{field} after free")
        if isinstance(value, _MUTABLE):
            _check_immutable(value)
        if self.log is None:
            obj.fields[field] = value
        else:
            before = obj.fields.get(field, NEVER_WRITTEN)
            obj.fields[field] = value
            self.log.changed(obj, field, before, "set")
        obj.canon = None

    def forget(self, obj: MemObject, field: str) -> None:
        """Make a field uninitialised again (memory handed out anew holds garbage)."""
        self._guard()
        self.writes.add((obj.oid, field))
        if obj.freed:
            raise Violation(USE_AFTER_FREE, f"reuse of {obj!r}.{field} after free")
        before = obj.fields.pop(field, NEVER_WRITTEN)
        obj.canon = None
        if self.log is not None:
            self.log.changed(obj, field, before, "forget")

    def peek(self, obj: MemObject, field: str, default: Any = None) -> Any:
        """Read a field without recording it or checking lifetime.

        For the checker's own bookkeeping and reports only (quiescence checks,
        swimlane annotations), never for model steps.
        """
        return obj.fields.get(field, default)

    # -- whole-heap views -----------------------------------------------------
    def live(self) -> Iterator[MemObject]:
        return (obj for obj in self.objects.values() if not obj.freed)

    def reachable(self) -> OidSet:
        """Ids of objects reachable from the roots through strong fields."""
        seen: OidSet = set()
        stack = list(self.roots)
        while stack:
            obj = stack.pop()
            if obj.oid in seen:
                continue
            seen.add(obj.oid)
            stack.extend(obj.parts)  # an embedded part's own fields hold references too
            for name, value in obj.fields.items():
                if name not in obj.weak:
                    stack.extend(_references(value))
        return seen

    def fingerprint(self) -> tuple[Any, ...]:
        """Every object's id, lifetime and fields, canonically.

        Each object's part is kept until a write to it (``set``, ``forget``,
        ``free``) clears it: a state differs from the last one fingerprinted in
        a few objects, and re-rendering the others cost most of a fingerprint.
        """
        objs = self._by_oid
        if objs is None:
            objs = self._by_oid = [obj for _, obj in sorted(self.objects.items())]
        parts = []
        for obj in objs:
            part = obj.canon
            if part is None:
                part = obj.canon = _object_part(obj)
            parts.append(part)
        return tuple(parts)

    def full_fingerprint(self) -> tuple[Any, ...]:
        """:meth:`fingerprint` with no object's kept part used (the reference)."""
        return tuple(_object_part(obj) for _, obj in sorted(self.objects.items()))


def _object_part(obj: MemObject) -> tuple[Any, ...]:
    # Sorted by field name alone (names are unique, values never compared); most
    # objects hold only atoms, which render as themselves.
    fields = sorted(obj.fields.items())
    for _, value in fields:
        if type(value) not in ATOMS:
            fields = [(k, canon(v)) for k, v in fields]
            break
    return (obj.oid, obj.freed, tuple(fields))


#: The footprint part of a step that reads (or writes) nothing: one shared set.
NOTHING: frozenset[Location] = frozenset()


def _check_immutable(value: Any) -> None:
    if isinstance(value, _MUTABLE):
        raise ModelError(f"mutable value {type(value).__name__} stored in shared state")


def _references(value: Any) -> Iterator[MemObject]:
    if isinstance(value, MemObject):
        yield value
    elif isinstance(value, (tuple, frozenset)):
        for item in value:
            yield from _references(item)


#: Values that render as themselves, by exact type (subclasses, e.g. an IntEnum,
#: take the general path below).
ATOMS: frozenset[type] = frozenset({int, str, bool, float, type(None)})


def canon(value: Any) -> Any:
    """A hashable, identity-free rendering of a value for state fingerprints."""
    kind = type(value)
    if kind in ATOMS:  # most fields and locals: one set lookup, not a chain of isinstance
        return value
    if kind is MemObject:
        return ("@", value.oid)
    if isinstance(value, MemObject):
        return ("@", value.oid)
    if isinstance(value, tuple):
        return tuple(canon(v) for v in value)
    if isinstance(value, frozenset):
        return ("{}", tuple(sorted((canon(v) for v in value), key=repr)))
    if value is None or isinstance(value, (int, str, float, bool)):
        return value
    if isinstance(value, Enum):
        return ("enum", type(value).__qualname__, value.name)
    fp = getattr(value, "__fingerprint__", None)
    if fp is not None:
        return fp()
    if isinstance(value, MethodType) and getattr(value.__self__, "__shared_world__", False):
        return ("method", value.__func__.__qualname__)
    if isinstance(value, FunctionType) and value.__closure__ is None:
        return ("function", value.__qualname__)
    raise ModelError(f"cannot fingerprint a value of type {type(value).__name__}")
