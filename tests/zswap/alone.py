"""Run one thread program by itself, to the end (for allocator unit tests)."""

from __future__ import annotations

from zmodel.runtime import Executor, Heap, ThreadProgram


def run_alone(heap: Heap, program: ThreadProgram) -> Executor:
    """Run ``program`` as the setup thread, with nothing else to interleave."""

    def nothing() -> ThreadProgram:
        return
        yield

    ex = Executor(heap, [("setup", program), ("T1", nothing())])
    while not ex.finished():
        ex.step(ex.enabled()[0])
    return ex
