"""What an executed step is: the trace's :class:`Step`, the :class:`StepKind` an
observer is told, and the observer's signature.

Kept apart from the executor so that reports and properties can name these types
without the executor's machinery.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

from zmodel.runtime.faults import Violation
from zmodel.runtime.memory import Location
from zmodel.runtime.primitives import Acquire, Await, Choose, Primitive, Release, TryAcquire


class Step(NamedTuple):
    """One executed step: who ran, what it modelled, and what it touched."""

    tid: int
    label: str
    outcome: int
    reads: frozenset[Location]
    writes: frozenset[Location]


class StepKind(NamedTuple):
    """What a step's primitive did, for observers that must not guess it from labels.

    ``kind`` is ``acquire``, ``trylock`` (it took the lock), ``trylock-failed``,
    ``release``, ``call``, ``choose`` or ``await``; ``lock`` is the lock's location
    for the first four.
    """

    kind: str
    lock: Location | None = None


#: Called after every step of a run (with the step and its kind), also after the
#: step that raised a violation, which then propagates.
StepObserver = Callable[[Step, StepKind, Violation | None], None]


LOCK_PRIMITIVES = frozenset({Acquire, TryAcquire, Release})


def step_kind(req: Primitive, result: Any) -> StepKind:
    if isinstance(req, Acquire):
        return StepKind("acquire", (req.obj.oid, req.field))
    if isinstance(req, TryAcquire):
        return StepKind("trylock" if result is True else "trylock-failed", (req.obj.oid, req.field))
    if isinstance(req, Release):
        return StepKind("release", (req.obj.oid, req.field))
    if isinstance(req, Choose):
        return StepKind("choose")
    return StepKind("await" if isinstance(req, Await) else "call")
