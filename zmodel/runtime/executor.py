"""The deterministic executor: runs one schedule, one step at a time.

The executor owns the threads of one run.  Engines drive it through a small
interface: :meth:`Executor.enabled` (which threads may step), :meth:`outcomes`
(how many nondeterministic outcomes the thread's next step has),
:meth:`step` (perform it), :attr:`trace` (what happened) and
:meth:`fingerprint` (the state).  Given the same sequence of ``(tid, outcome)``
choices it produces the same trace, always: there is no other source of
nondeterminism (design.md, soundness rule 1).

Thread 0 is the scenario's setup: while it runs, no other thread is enabled.
"""

from __future__ import annotations

import dis
import gc
from collections.abc import Callable, Generator, Iterator, Sequence
from types import CodeType
from typing import Any, NamedTuple

from zmodel.runtime.blame import blame, model_traceback
from zmodel.runtime.faults import DEADLOCK, ModelError, Violation
from zmodel.runtime.memory import Heap, Location, canon
from zmodel.runtime.primitives import Acquire, Await, Call, Choose, Primitive, Release, TryAcquire

ThreadProgram = Generator[Primitive, Any, None]


class Step(NamedTuple):
    """One executed step: who ran, what it modelled, and what it touched."""

    tid: int
    label: str
    outcome: int
    reads: frozenset[Location]
    writes: frozenset[Location]


_new_step = tuple.__new__


_STALE = object()


class _Thread:
    __slots__ = ("done", "fp", "gen", "name", "pending")

    def __init__(self, name: str, gen: ThreadProgram) -> None:
        self.name = name
        self.gen = gen
        self.done = False
        self.pending: Primitive | None = None
        # The thread's fingerprint, kept until it next runs: its frames and
        # locals change only then (locals are immutable values or references).
        self.fp: Any = _STALE


class Executor:
    def __init__(
        self,
        heap: Heap,
        threads: Sequence[tuple[str, ThreadProgram]],
        end_check: Callable[[], None] | None = None,
        coverage: set[str] | None = None,
        coverage_from: int = 0,
    ) -> None:
        self.heap = heap
        self._end_check = end_check
        #: Labels of every step executed, gathered across runs for reachability
        #: guards (design.md rule 6); None when nobody asked.  Threads below
        #: ``coverage_from`` (a sequential setup) do not count: a window the
        #: setup opened is not one the concurrent threads race in.
        self.coverage = coverage
        self.coverage_from = coverage_from
        self.threads = [_Thread(name, gen) for name, gen in threads]
        self.trace: list[Step] = []
        heap.active = False
        for tid, th in enumerate(self.threads):
            heap.tid = tid
            self._advance(th, None, "its start")

    # -- the engine-facing interface -----------------------------------------
    @property
    def names(self) -> list[str]:
        return [th.name for th in self.threads]

    @property
    def thread_count(self) -> int:
        return len(self.threads)

    def is_done(self, tid: int) -> bool:
        """Whether thread ``tid`` has returned."""
        return self.threads[tid].done

    def pending(self, tid: int) -> Primitive | None:
        """The step thread ``tid`` runs next (None once it is done)."""
        return self.threads[tid].pending

    def finished(self) -> bool:
        return all(th.done for th in self.threads)

    def enabled(self) -> list[int]:
        threads = self.threads
        if not threads[0].done:
            return [0] if self._can_run(threads[0]) else []
        return [tid for tid, th in enumerate(threads) if not th.done and self._can_run(th)]

    def is_enabled(self, tid: int) -> bool:
        th = self.threads[tid]
        if th.done or (tid and not self.threads[0].done):
            return False
        return self._can_run(th)

    def outcomes(self, tid: int) -> int:
        pending = self.threads[tid].pending
        return len(pending.options) if isinstance(pending, Choose) else 1

    def guard(self, tid: int) -> frozenset[Location]:
        """The locations that decide whether ``tid``'s pending step is enabled.

        Empty for a step that is always enabled (a call, a trylock, a choice).  For
        an acquire it is the lock field; for an await, what the predicate reads in
        the current state.  The reduction engines treat a blocked thread as reading
        these locations, so that a step enabling or disabling it is dependent with
        it (design.md, soundness rule 2).  Nothing is recorded in the running step.
        """
        req = self.threads[tid].pending
        if isinstance(req, Acquire):
            return frozenset(((req.obj.oid, req.field),))
        if isinstance(req, Await):
            heap = self.heap
            saved = heap.active, heap.reads, heap.writes
            heap.active, heap.reads, heap.writes = True, set(), set()
            try:
                req.pred(*req.args)
            except Violation:
                pass  # a faulting predicate leaves the thread enabled; what it read still counts
            finally:
                reads = heap.reads
                heap.active, heap.reads, heap.writes = saved
            return frozenset(reads)
        return frozenset()

    def pending_label(self, tid: int) -> str | None:
        pending = self.threads[tid].pending
        return None if pending is None else pending.label

    def check_end(self) -> None:
        """Check the quiescence properties (leak, end-state data) once all threads are done."""
        if self._end_check is not None:
            self.heap.active = True
            try:
                self._end_check()
            except (Violation, ModelError):
                raise
            except Exception as exc:
                raise ModelError(f"end-state check: {type(exc).__name__}: {exc}") from exc
            finally:
                self.heap.active = False

    def check_deadlock(self) -> None:
        """Raise a deadlock violation if unfinished threads can none of them move."""
        if not self.finished() and not self.enabled():
            stuck = ", ".join(
                f"{th.name} at {th.pending.label if th.pending else '?'}"
                for th in self.threads
                if not th.done
            )
            raise Violation(DEADLOCK, f"no thread can run: {stuck}")

    def step(self, tid: int, outcome: int = 0) -> Step:
        th = self.threads[tid]
        req = th.pending
        if req is None or th.done:
            raise ModelError(f"thread {tid} has no step to run")
        heap = self.heap
        heap.begin_step(tid)
        try:
            result = self._perform(req, tid, outcome)
        except Violation:
            self._record(tid, req, outcome)
            raise
        except Exception as exc:  # the model itself is broken: exit 3, not a verdict
            raise located(exc, th.name, req.label) from exc
        step = self._record(tid, req, outcome)
        self._advance(th, result, f"after {req.label.split(': ')[0]}")
        return step

    def fingerprint(self) -> tuple[Any, ...]:
        """Shared state plus every thread's position and locals."""
        parts = []
        for th in self.threads:
            fp = th.fp
            if fp is _STALE:
                fp = th.fp = _thread_fingerprint(th)
            parts.append(fp)
        return (self.heap.fingerprint(), tuple(parts))

    # -- internals -------------------------------------------------------------
    def _record(self, tid: int, req: Primitive, outcome: int) -> Step:
        reads, writes = self.heap.end_step()
        # tuple.__new__ skips the generated NamedTuple constructor: this runs once
        # per step, and the keyword handling there costs a third of the record.
        step = _new_step(Step, (tid, req.label, outcome, reads, writes))
        self.trace.append(step)
        if self.coverage is not None and tid >= self.coverage_from:
            self.coverage.add(req.label)
        return step

    def _advance(self, th: _Thread, result: Any, where: str) -> None:
        """Run ``th``'s code up to its next yield; ``where`` says where in its run that is."""
        self.heap.active = False
        th.fp = _STALE
        try:
            th.pending = th.gen.send(result)
        except StopIteration:
            th.done = True
            th.pending = None
        except Violation:
            raise
        except Exception as exc:
            raise located(exc, th.name, where) from exc
        if not th.done and not isinstance(th.pending, Primitive):
            raise ModelError(f"{th.name} yielded {th.pending!r}, not a primitive")

    def _can_run(self, th: _Thread) -> bool:
        req = th.pending
        if isinstance(req, Acquire):
            return req.obj.freed or req.obj.fields.get(req.field) is None
        if isinstance(req, Await):
            return self._probe(req)
        return True

    def _probe(self, req: Await) -> bool:
        heap = self.heap
        saved = heap.active, heap.reads, heap.writes
        heap.active, heap.reads, heap.writes = True, set(), set()
        try:
            return bool(req.pred(*req.args))
        except Violation:
            return True  # let the step run and report the fault where it happens
        finally:
            heap.active, heap.reads, heap.writes = saved

    def _perform(self, req: Primitive, tid: int, outcome: int) -> Any:
        heap = self.heap
        if isinstance(req, Call):
            return req.fn(*req.args)
        if isinstance(req, Acquire):
            if heap.get(req.obj, req.field) is not None:
                raise ModelError(f"{req.label}: acquire of a held lock was scheduled")
            heap.set(req.obj, req.field, tid)
            return None
        if isinstance(req, Release):
            if heap.get(req.obj, req.field) != tid:
                raise ModelError(f"{req.label}: release of a lock this thread does not hold")
            heap.set(req.obj, req.field, None)
            return None
        if isinstance(req, TryAcquire):
            if heap.get(req.obj, req.field) is not None:
                return False
            heap.set(req.obj, req.field, tid)
            return True
        if isinstance(req, Choose):
            if not 0 <= outcome < len(req.options):
                raise ModelError(f"{req.label}: outcome {outcome} out of range")
            return req.options[outcome]
        if isinstance(req, Await):
            if not req.pred(*req.args):
                raise ModelError(f"{req.label}: blocked wait was scheduled")
            return None
        raise ModelError(f"unknown primitive {type(req).__name__}")


def located(exc: Exception, thread: str, label: str) -> ModelError:
    """A ModelError for ``exc`` naming the model's file, line and method (zmodel.runtime.blame)
    and the step (its kernel label) the thread was at."""
    if isinstance(exc, ModelError) and exc.located:
        return exc
    found = blame(exc)
    problem = str(exc) if isinstance(exc, ModelError) else f"{type(exc).__name__}: {exc}"
    if found is None:
        error = ModelError(f"{thread} ({label}): {problem}")
    else:
        if not isinstance(exc, ModelError):
            problem = found.problem
        error = ModelError(f"{thread}: {found.where()} ({label}): {problem}")
        error.located = True
        error.model_traceback = model_traceback(exc)
    return error


def _thread_fingerprint(th: _Thread) -> Any:
    if th.done:
        return None
    frames = []
    gen: Any = th.gen
    while gen is not None:
        frame = gen.gi_frame
        if frame is None:
            break
        # Sorted: f_locals lists a variable first bound after the dict was first
        # built at the end, so its order depends on when the state was first
        # fingerprinted, and one state would get two fingerprints.
        local_values = tuple(
            sorted(
                (name, canon(value))
                for name, value in frame.f_locals.items()
                if not getattr(value, "__shared_world__", False)
            )
        )
        loops = _loop_positions(gen) if _has_for_loop(gen.gi_code) else ()
        frames.append((gen.gi_code.co_qualname, frame.f_lasti, local_values, loops))
        gen = gen.gi_yieldfrom
    return tuple(frames)


_FOR_LOOPS: dict[CodeType, bool] = {}
_ITERATORS: tuple[type, ...] = (type(iter(())), type(iter(range(0))), type(iter([])))


def _has_for_loop(code: CodeType) -> bool:
    known = _FOR_LOOPS.get(code)
    if known is None:
        known = _FOR_LOOPS[code] = any(i.opname == "FOR_ITER" for i in dis.get_instructions(code))
    return known


def _loop_positions(gen: Any) -> tuple[Any, ...]:
    """The iterators of the ``for`` loops a suspended generator is inside.

    They live on the frame's value stack, not in its locals, so without them two
    points of one loop with equal locals would look like one state and a cached
    search would prune the second.  ``gc.get_referents`` of a generator lists its
    value stack (CPython); each iterator is fingerprinted by its ``__reduce__``,
    which gives the sequence and the position.
    """
    positions = []
    for ref in gc.get_referents(gen):
        if isinstance(ref, _ITERATORS):
            reduced: Any = ref.__reduce__()
            _fn, (sequence,), index = reduced
            positions.append((canon(tuple(sequence)), index))
        elif isinstance(ref, Iterator) and not isinstance(ref, Generator):
            raise ModelError(
                f"{gen.gi_code.co_qualname}: a for loop over a {type(ref).__name__} cannot be"
                " fingerprinted; loop over a tuple, list or range"
            )
    return tuple(positions)
