"""Where a parallel search's units run: local worker processes, a dask cluster, or
in this process (the tests).

Every back-end has ``workers`` slots and runs a picklable call on the slot asked
for (:meth:`Backend.submit`), so the coordinator knows which worker holds which
cache entries.  Workers are persistent: one back-end per command, reused for every
scenario and both sides of ``verify``, so each worker imports the package and
builds a scenario's program once.

* :class:`LocalBackend`: one single-process pool per slot, forked when the
  back-end is made (before any search: a worker forked from a process holding a
  search's objects pays for them at every garbage collection), so a worker
  starts without importing anything.  A worker that dies breaks its pool only;
  the pool is started again and the future carries :class:`WorkerDied`.
* :class:`~zmodel.explore.dask_backend.DaskBackend` (its own module): an existing
  ``dask.distributed`` scheduler's workers.
* :class:`~zmodel.explore.inline_backend.InlineBackend` (its own module): runs
  each call at once, in this process (the slots' worker state kept apart by
  :func:`slot_state`).
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import queue
import threading
from collections.abc import Callable, Iterable
from concurrent import futures as cf
from signal import SIGKILL
from typing import Any, Protocol

from zmodel.explore.sharing import SHARE_EVERY, Shared
from zmodel.explore.subtree import Subtree


class BackendError(OSError):
    """The back-end cannot run anything: an unreachable scheduler, no dask installed."""


class WorkerDied(Exception):  # noqa: N818 - an event the search reports, not a bug
    """The worker running a unit died (or the cluster lost it)."""


class Signal(Protocol):
    """Picklable; in the worker, whether the coordinator asks the unit running on
    its slot for work, and the way back for what it gives (work stealing,
    :mod:`zmodel.explore.donate`)."""

    def asked(self) -> bool:
        """A new ask since the unit started or last gave (each ask is answered once)."""
        ...

    #: Seconds between two parts of cache entries a running unit ships (sharing.py).
    share_every: float

    def give(self, search: str, index: int, given: list[Subtree]) -> None:
        """Send the coordinator what unit ``index`` of ``search`` gives (maybe nothing)."""
        ...

    def share(self, search: str, index: int, part: Shared) -> None:
        """Send the coordinator cache entries unit ``index`` of ``search`` stored so far."""
        ...


#: What the coordinator receives of a gift: the slot, the search, the unit, the subtrees
#: (or a part of the cache entries the unit stored, which answers no ask).
Gift = tuple[int, str, int, list[Subtree] | Shared]


class Backend(Protocol):
    workers: int
    #: Whether every slot runs in this process (the worker state is then per slot).
    inline: bool

    def submit(self, slot: int, fn: Callable[[Any], Any], arg: Any, size: int = 0) -> Any:
        """``fn(arg)`` on ``slot``'s worker, as a future; ``size``: about how many bytes
        ``arg`` carries (a unit's cache entries), for a back-end that ships big ones
        another way."""
        ...

    def signal(self, slot: int) -> Signal | None:
        """What the unit handed to ``slot`` now checks to know it is asked (None: never)."""
        ...

    def ask(self, slot: int) -> None:
        """Ask the unit running on ``slot`` for work."""
        ...

    def gifts(self) -> list[Gift]:
        """The gifts sent since the last call (never waits)."""
        ...

    def wait_any(self, pending: Iterable[Any], timeout: float) -> set[Any]:
        """The futures of ``pending`` done within ``timeout`` seconds (maybe none)."""
        ...

    def outcome(self, future: Any) -> Any:
        """A done future's value; WorkerDied if its worker died."""
        ...

    def close(self) -> None: ...


_SLOT_STATE: dict[int, dict[Any, Any]] = {}


def slot_state(slot: int | None) -> dict[Any, Any]:
    """The worker's own state (searches, programs, caches): the process's, or in an
    inline back-end the slot's."""
    return _SLOT_STATE.setdefault(-1 if slot is None else slot, {})


def forget_slot_states() -> None:
    """Drop every slot's worker state (an in-process back-end closing)."""
    _SLOT_STATE.clear()


#: Per local back-end: its slots' ask counters and the write ends of their pipes
#: back, made before its workers are forked so that they inherit them.
_LOCAL: dict[int, tuple[Any, list[Any]]] = {}
_BACKENDS = iter(range(1, 2**62))
#: The worker's messages to its pipe, sent by a thread of their own: a part of cache
#: entries is bigger than a pipe holds, and the coordinator reads between two
#: waits, so a unit that sent it itself would stand still until then.
_OUTBOX: queue.SimpleQueue[tuple[Any, Gift]] | None = None


def _post(pipe: Any, message: Gift) -> None:
    global _OUTBOX
    if _OUTBOX is None:
        _OUTBOX = queue.SimpleQueue()
        threading.Thread(target=_send_all, args=(_OUTBOX,), daemon=True).start()
    _OUTBOX.put((pipe, message))


def _send_all(outbox: queue.SimpleQueue[tuple[Any, Gift]]) -> None:
    while True:
        pipe, message = outbox.get()
        pipe.send(message)


class LocalSignal:
    """Slot ``slot``'s ask counter of local back-end ``backend`` (shared memory: a
    look costs nothing), as it was when the unit was handed out."""

    def __init__(self, backend: int, slot: int, served: int) -> None:
        self.backend, self.slot, self.served = backend, slot, served

    def asked(self) -> bool:
        now = int(_LOCAL[self.backend][0][self.slot])
        if now == self.served:
            return False
        self.served = now
        return True

    share_every = SHARE_EVERY

    def give(self, search: str, index: int, given: list[Subtree]) -> None:
        _post(_LOCAL[self.backend][1][self.slot], (self.slot, search, index, given))

    def share(self, search: str, index: int, part: Shared) -> None:
        _post(_LOCAL[self.backend][1][self.slot], (self.slot, search, index, part))


class LocalBackend:
    def __init__(self, jobs: int) -> None:
        self.workers = jobs if jobs > 0 else (os.cpu_count() or 1)
        self.inline = False
        self._context = multiprocessing.get_context("fork")
        self._id = next(_BACKENDS)
        self._asks = self._context.RawArray("l", self.workers)
        pipes = [self._context.Pipe(duplex=False) for _ in range(self.workers)]
        self._readers = [r for r, _ in pipes]
        _LOCAL[self._id] = (self._asks, [w for _, w in pipes])
        self._pids = [0] * self.workers  # each pool's worker process
        self._pools = [self._pool(slot) for slot in range(self.workers)]

    def signal(self, slot: int) -> Signal | None:
        return LocalSignal(self._id, slot, int(self._asks[slot]))

    def ask(self, slot: int) -> None:
        self._asks[slot] += 1

    def gifts(self) -> list[Gift]:
        got = []
        for reader in self._readers:
            while reader.poll():
                got.append(reader.recv())
        return got

    def _pool(self, slot: int) -> cf.ProcessPoolExecutor:
        pool = cf.ProcessPoolExecutor(max_workers=1, mp_context=self._context)
        # Forked now, while this process's heap is small; one worker for the pool's life.
        self._pids[slot] = pool.submit(os.getpid).result()
        return pool

    def submit(self, slot: int, fn: Callable[[Any], Any], arg: Any, size: int = 0) -> Any:
        try:
            return self._pools[slot].submit(fn, arg)
        except cf.BrokenExecutor:
            self._pools[slot] = self._pool(slot)
            return self._pools[slot].submit(fn, arg)

    def wait_any(self, pending: Iterable[Any], timeout: float) -> set[Any]:
        done, _ = cf.wait(list(pending), timeout=timeout, return_when=cf.FIRST_COMPLETED)
        return set(done)

    def outcome(self, future: Any) -> Any:
        try:
            return future.result()
        except cf.BrokenExecutor as err:
            for slot, pool in enumerate(self._pools):
                if getattr(pool, "_broken", False):
                    self._pools[slot] = self._pool(slot)
            raise WorkerDied(f"a local worker process died ({err})") from err

    def close(self) -> None:
        """Stop the workers: kill each (a unit may still run, in a search that
        stopped at its first violation or on Ctrl-C), then shut its pool down and
        join it, so that the workers are reaped (their CPU time counts in this
        process's children's).  Joined, not left to exit on their own: CPython
        3.11's exit hook wakes a pool's manager thread through a pipe that thread
        may be closing at that moment (an ``OSError: Bad file descriptor``
        traceback at the end of one ``--jobs 2`` command in three)."""
        for pid in self._pids:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, SIGKILL)
        for pool in self._pools:
            pool.shutdown(wait=True, cancel_futures=True)
        _LOCAL.pop(self._id, None)
