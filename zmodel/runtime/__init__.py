"""The runtime: threads, steps, primitives and the deterministic executor.

Knows nothing about zswap.  Public names are re-exported here; everything else in
the package is internal.
"""

from zmodel.runtime.executor import Executor, ThreadProgram
from zmodel.runtime.faults import ModelError, Violation
from zmodel.runtime.memory import Heap, Location, MemObject
from zmodel.runtime.primitives import (
    Acquire,
    Await,
    Call,
    Choose,
    Load,
    Primitive,
    Release,
    Steps,
    Store,
    TryAcquire,
)
from zmodel.runtime.steps import Step, StepKind, StepObserver

__all__ = [
    "Acquire",
    "Await",
    "Call",
    "Choose",
    "Executor",
    "Heap",
    "Load",
    "Location",
    "MemObject",
    "ModelError",
    "Primitive",
    "Release",
    "Step",
    "StepKind",
    "StepObserver",
    "Steps",
    "Store",
    "ThreadProgram",
    "TryAcquire",
    "Violation",
]
