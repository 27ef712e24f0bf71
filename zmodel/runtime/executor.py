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

from collections.abc import Callable, Generator, Sequence
from typing import Any

from zmodel.runtime.blame import located
from zmodel.runtime.faults import DEADLOCK, ModelError, Violation
from zmodel.runtime.fingerprint import Memo, full_thread_fingerprint, thread_fingerprint
from zmodel.runtime.memory import NOTHING, Heap, Location
from zmodel.runtime.primitives import (
    Acquire,
    Await,
    Call,
    Choose,
    Load,
    Primitive,
    Release,
    Store,
    TryAcquire,
)
from zmodel.runtime.steps import LOCK_PRIMITIVES, Step, StepObserver, step_kind

ThreadProgram = Generator[Primitive, Any, None]

_new_step = tuple.__new__


_STALE = object()


class _Thread:
    __slots__ = ("done", "fp", "frames", "gen", "name", "pending")

    def __init__(self, name: str, gen: ThreadProgram) -> None:
        self.name = name
        self.gen = gen
        self.done = False
        self.pending: Primitive | None = None
        # The thread's fingerprint, kept until it next runs: its frames and
        # locals change only then (locals are immutable values or references).
        self.fp: Any = _STALE
        # Each frame's part of the last fingerprint (zmodel.runtime.fingerprint).
        self.frames: Memo = []


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
        #: Set by whoever watches this run (a lock-order or state-graph recorder):
        #: it is given every step with its kind, or with ``observe_locks_only``
        #: only the lock steps (the lock-order graph, kept by every check, then
        #: costs nothing on the other steps).
        self.observer: StepObserver | None = None
        self.observe_locks_only = False
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
        observer = self.observer
        if observer is not None and not self.observe_locks_only:
            return self._observed_step(th, tid, req, outcome)
        heap = self.heap
        # Heap.begin_step, the record and the advance are inlined: this runs once
        # per transition, and the calls cost a fifth of it.
        heap.tid = tid
        heap.active = True
        reads, writes = heap.reads, heap.writes
        reads.clear()
        writes.clear()
        try:
            if isinstance(req, Call):
                result = req.fn(*req.args)
            else:
                result = self._perform(req, tid, outcome)
        except Violation as violation:
            failed = self._record(tid, req, outcome)
            if observer is not None and type(req) in LOCK_PRIMITIVES:
                observer(failed, step_kind(req, None), violation)
            raise
        except Exception as exc:  # the model itself is broken: exit 3, not a verdict
            raise located(exc, th.name, req.label) from exc
        heap.active = False
        # tuple.__new__ skips the generated NamedTuple constructor; a step that
        # reads or writes nothing shares one empty set (as Heap.end_step does).
        step = _new_step(
            Step,
            (
                tid,
                req.label,
                outcome,
                frozenset(reads) if reads else NOTHING,
                frozenset(writes) if writes else NOTHING,
            ),
        )
        self.trace.append(step)
        if self.coverage is not None and tid >= self.coverage_from:
            self.coverage.add(req.label)
        if observer is not None and type(req) in LOCK_PRIMITIVES:
            # lock-order (observe_locks_only): the lock steps alone, before the advance
            observer(step, step_kind(req, result), None)
        th.fp = _STALE
        try:
            pending: Any = th.gen.send(result)  # typed Primitive; a broken model may not be
        except StopIteration:
            th.done = True
            th.pending = None
            return step
        except Violation:
            raise
        except Exception as exc:
            raise located(exc, th.name, f"after {req.label.split(': ')[0]}") from exc
        if not isinstance(pending, Primitive):
            raise ModelError(f"{th.name} yielded {pending!r}, not a primitive")
        th.pending = pending
        return step

    def fingerprint(self) -> tuple[Any, ...]:
        """Shared state plus every thread's position and locals.

        Incremental: the heap keeps each object's part until a write to it, each
        thread its fingerprint until it next runs, and the frames it did not run
        in their parts (zmodel.runtime.fingerprint).  :meth:`full_fingerprint` is
        the same value with nothing kept.
        """
        parts = []
        for th in self.threads:
            fp = th.fp
            if fp is _STALE:
                if th.done:
                    fp = th.fp = None
                    th.frames = []
                else:
                    fp, th.frames = thread_fingerprint(th.gen, th.frames)
                    th.fp = fp
            parts.append(fp)
        return (self.heap.fingerprint(), tuple(parts))

    def full_fingerprint(self) -> tuple[Any, ...]:
        """:meth:`fingerprint` recomputed from scratch, every cached part ignored
        (the reference the tests hold the incremental one to)."""
        threads = tuple(None if th.done else full_thread_fingerprint(th.gen) for th in self.threads)
        return (self.heap.full_fingerprint(), threads)

    def discard(self) -> None:
        """The run is over and nothing will read it again: break its heap's cycles
        so that reference counting frees it (:meth:`Heap.unlink`).  Only the run
        loop that made it may say so, and only if no hook was given the run."""
        self.heap.unlink()

    # -- internals -------------------------------------------------------------
    def _observed_step(self, th: _Thread, tid: int, req: Primitive, outcome: int) -> Step:
        """step() with an observer of every step (the state graph): not the hot path.
        The observer sees the step after the thread reached its next yield, when the
        state is whole."""
        observer = self.observer
        assert observer is not None
        self.heap.begin_step(tid)
        try:
            result = self._perform(req, tid, outcome)
        except Violation as violation:
            observer(self._record(tid, req, outcome), step_kind(req, None), violation)
            raise
        except Exception as exc:  # the model itself is broken: exit 3, not a verdict
            raise located(exc, th.name, req.label) from exc
        step = self._record(tid, req, outcome)
        kind = step_kind(req, result)
        try:
            self._advance(th, result, f"after {req.label.split(': ')[0]}")
        except Violation as violation:
            observer(step, kind, violation)
            raise
        observer(step, kind, None)
        return step

    def _record(self, tid: int, req: Primitive, outcome: int) -> Step:
        """Record the step a violation stopped (step() records the others inline)."""
        reads, writes = self.heap.end_step()
        step = _new_step(Step, (tid, req.label, outcome, reads, writes))
        self.trace.append(step)
        if self.coverage is not None and tid >= self.coverage_from:
            self.coverage.add(req.label)
        return step

    def _advance(self, th: _Thread, result: Any, where: str) -> None:
        """Run ``th``'s code up to its first yield (step() advances it after that);
        ``where`` says where in its run that is."""
        self.heap.active = False
        th.fp = _STALE
        try:
            pending: Any = th.gen.send(result)
        except StopIteration:
            th.done = True
            th.pending = None
            return
        except Violation:
            raise
        except Exception as exc:
            raise located(exc, th.name, where) from exc
        # Checked before it is kept: a compiled executor enforces the slot's type.
        if not isinstance(pending, Primitive):
            raise ModelError(f"{th.name} yielded {pending!r}, not a primitive")
        th.pending = pending

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
        if isinstance(req, Load):
            return heap.get(req.obj, req.field)
        if isinstance(req, Store):
            heap.set(req.obj, req.field, req.value)
            return None
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
