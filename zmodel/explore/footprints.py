"""Footprints: what one step reads and writes, and what it does to a lock.

The data the dependency relation (:func:`zmodel.explore.races.dependent`) and the
engines' races are computed over; one is built per executed step, so the class is
slotted and computes its per-object views only on demand.
"""

from __future__ import annotations

from zmodel.runtime import Acquire, Load, Location, Primitive, Release, Step, Store, TryAcquire


class Footprint:
    """What one step (or a blocked thread's pending step) reads and writes.

    ``halts`` marks a step that raised a violation: the run ends there, so the
    step disables every other thread and is dependent with every step.  The
    per-object views needed for whole-object locations are computed only for
    footprints that have one (allocations and frees are the rare case).

    ``static`` marks the step of a primitive whose locations do not depend on the
    values it reads (a ``Load`` or ``Store``): moved before a write it read from,
    it reads the same location and so has the same footprint, so its races are
    ``known`` without running it in the other order (see :class:`Race`).  Only
    whether it halts may differ there: a load of a field the write initialised,
    or of an object it freed.  That is decided by the locations it reads alone,
    so a thread that commutes with the step leaves it unchanged, and the
    reversal's own run records the real footprint.
    """

    __slots__ = ("_objs", "halts", "reads", "rw", "static", "whole", "writes")

    def __init__(
        self,
        reads: frozenset[Location],
        writes: frozenset[Location],
        halts: bool = False,
        static: bool = False,
    ) -> None:
        self.reads = reads
        self.writes = writes
        self.halts = halts
        self.static = static
        self.rw = reads | writes
        self.whole = any(field is None for _, field in self.rw)
        self._objs: tuple[frozenset[int], ...] | None = None

    def objects(self) -> tuple[frozenset[int], ...]:
        """Oids read, read whole, written, written whole."""
        if self._objs is None:
            self._objs = (
                frozenset(oid for oid, _ in self.reads),
                frozenset(oid for oid, field in self.reads if field is None),
                frozenset(oid for oid, _ in self.writes),
                frozenset(oid for oid, field in self.writes if field is None),
            )
        return self._objs

    def __reduce__(self) -> tuple[type[Footprint], tuple[object, ...]]:
        # Parallel workers receive footprints (subtree siblings, cache entries); a
        # compiled class is rebuilt through its constructor, not its slots.
        return (type(self), (self.reads, self.writes, self.halts, self.static))

    def __repr__(self) -> str:
        halts = " halts" if self.halts else ""
        return (
            f"<Footprint r={sorted(self.reads, key=repr)} w={sorted(self.writes, key=repr)}{halts}>"
        )


EMPTY: frozenset[Location] = frozenset()


class Attempt(Footprint):
    """A blocked thread's failed attempt at its step: it reads the guard and writes
    nothing.  In a wakeup sequence it is a virtual event: if the thread is still
    blocked when a run reaches its branch, the branch is dropped, so it must not
    cover other sequences by commuting with them (see wakeup_tree.insert)."""

    __slots__ = ()


#: The footprint of a step that is not known: dependent with every step.  It
#: stands for the next step of a thread in an order no run has taken yet (see
#: :class:`Race`).
UNKNOWN = Footprint(EMPTY, EMPTY, True)


#: What a step does to a lock: ``(kind, location)`` or None.  A blocking acquire
#: and a successful trylock both take the lock, but only the acquire waits for
#: it: a trylock can always run before a release (and then fails).
LockOp = tuple[str, Location] | None
ACQUIRE = "acquire"
TRYLOCK = "trylock"
RELEASE = "release"


#: Primitives whose footprint does not depend on the values read (Footprint.static).
STATIC_PRIMITIVES: frozenset[type[Primitive]] = frozenset({Load, Store})


def lock_op(request: Primitive | None, step: Step) -> LockOp:
    """Whether ``step`` (performing ``request``) took or released a lock."""
    if isinstance(request, Acquire):
        return (ACQUIRE, (request.obj.oid, request.field))
    if isinstance(request, TryAcquire):
        loc = (request.obj.oid, request.field)
        return (TRYLOCK, loc) if loc in step.writes else None
    if isinstance(request, Release):
        return (RELEASE, (request.obj.oid, request.field))
    return None
