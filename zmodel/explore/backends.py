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
* :class:`DaskBackend`: an existing ``dask.distributed`` scheduler; a slot is one
  of its workers (``workers=[address]``), so a dead worker's task fails with
  :class:`WorkerDied` instead of running elsewhere without its cache.  Dask keeps
  a task pinned to a worker that is gone waiting for ever, so the back-end looks
  the live workers up while it waits: such a unit is :class:`WorkerDied`, and the
  slot moves to the worker the nanny started in its place.
* :class:`~zmodel.explore.inline_backend.InlineBackend` (its own module): runs
  each call at once, in this process (the slots' worker state kept apart by
  :func:`slot_state`).
"""

from __future__ import annotations

import contextlib
import importlib
import multiprocessing
import os
import pickle
import queue
import threading
import time
from collections.abc import Callable, Iterable
from concurrent import futures as cf
from typing import Any, Protocol

from zmodel.explore.sharing import SHARE_EVERY, Shared
from zmodel.explore.subtree import Subtree

#: Seconds to reach a cluster's scheduler before giving up.
CONNECT_TIMEOUT = 3.0


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
        self._pools = [self._pool() for _ in range(self.workers)]

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

    def _pool(self) -> cf.ProcessPoolExecutor:
        pool = cf.ProcessPoolExecutor(max_workers=1, mp_context=self._context)
        pool.submit(int).result()  # forked now, while this process's heap is small
        return pool

    def submit(self, slot: int, fn: Callable[[Any], Any], arg: Any, size: int = 0) -> Any:
        try:
            return self._pools[slot].submit(fn, arg)
        except cf.BrokenExecutor:
            self._pools[slot] = self._pool()
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
                    self._pools[slot] = self._pool()
            raise WorkerDied(f"a local worker process died ({err})") from err

    def close(self, wait: bool = False) -> None:
        """Stop the workers; ``wait``: until they have exited (and been reaped, so
        that their CPU time counts in this process's children's)."""
        for pool in self._pools:
            pool.shutdown(wait=wait, cancel_futures=True)
        _LOCAL.pop(self._id, None)


#: Seconds between two looks at a dask worker's asked flag (each asks the scheduler).
DASK_LOOK = 0.25
#: Bytes of cache entries from which a unit is scattered to its worker (dask warns
#: of a task graph over 10 MB).
SCATTER_BYTES = 1 << 20
#: Seconds a dead worker's slot waits for a worker no slot has (its nanny's restart)
#: before it shares a live one; as long again with none live, the cluster is gone.
REPLACE_WAIT = 10.0


class DaskSignal:
    """A ``distributed.Variable`` per slot counts the asks (looked at every
    :data:`DASK_LOOK` seconds: each look asks the scheduler); gifts go back on a
    ``distributed.Queue``."""

    def __init__(self, name: str, queue: str, slot: int, served: int) -> None:
        self.name, self.queue, self.slot, self.served = name, queue, slot, served
        self._next = 0.0

    def asked(self) -> bool:
        now = time.monotonic()
        if now < self._next:
            return False
        self._next = now + DASK_LOOK
        try:
            count = int(importlib.import_module("distributed").Variable(self.name).get(timeout=1))
        except (OSError, TimeoutError):  # the scheduler slow or gone: not asked, this time
            return False
        if count == self.served:
            return False
        self.served = count
        return True

    share_every = SHARE_EVERY

    def give(self, search: str, index: int, given: list[Subtree]) -> None:
        self._put((self.slot, search, index, given))

    def share(self, search: str, index: int, part: Shared) -> None:
        # The scheduler slow or gone: the part stays home (the other workers only miss
        # its hits, as they would if the unit had not ended yet).
        with contextlib.suppress(OSError, TimeoutError):
            self._put((self.slot, search, index, part))

    def _put(self, message: Gift) -> None:
        gift = pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL)
        importlib.import_module("distributed").Queue(self.queue).put(gift)


class DaskBackend:
    def __init__(self, address: str, timeout: float = CONNECT_TIMEOUT) -> None:
        try:
            self.dist: Any = importlib.import_module("distributed")
        except ImportError as err:
            raise BackendError("--cluster needs dask: pip install 'zmodel[cluster]'") from err
        try:
            self.client: Any = self.dist.Client(address, timeout=timeout, set_as_default=False)
        except (OSError, TimeoutError, ValueError) as err:
            raise BackendError(f"cannot reach the dask scheduler at {address}: {err}") from err
        self.addresses: list[str] = sorted(self._alive())
        if not self.addresses:
            self.client.close()
            raise BackendError(f"the dask scheduler at {address} has no workers")
        self.workers = len(self.addresses)
        self.inline = False
        self._slot_of: dict[Any, int] = {}  # an outstanding future's key: its slot
        self._lost: set[Any] = set()  # futures whose worker is gone
        self._gone: set[str] = set()  # addresses seen dead at a look
        self._looked = time.monotonic()
        stamp = time.time_ns()
        self._asks = [0] * self.workers
        self._vars = [
            self.dist.Variable(f"zmodel-asks-{stamp}-{slot}", client=self.client)
            for slot in range(self.workers)
        ]
        for var in self._vars:
            var.set(0)
        self._queue = self.dist.Queue(f"zmodel-gifts-{stamp}", client=self.client)

    def signal(self, slot: int) -> Signal | None:
        return DaskSignal(self._vars[slot].name, self._queue.name, slot, self._asks[slot])

    def ask(self, slot: int) -> None:
        self._asks[slot] += 1
        self._vars[slot].set(self._asks[slot])

    def gifts(self) -> list[Gift]:
        got = []
        while self._queue.qsize():
            got.append(pickle.loads(self._queue.get()))
        return got

    def submit(self, slot: int, fn: Callable[[Any], Any], arg: Any, size: int = 0) -> Any:
        """A unit of :data:`SCATTER_BYTES` or more goes to its worker directly
        (scattered), not in the task graph: it carries other workers' cache entries,
        megabytes the scheduler would copy and warn about ("Sending large graph of
        size 11.55 MiB", the 3-thread scenario on 8 workers).  A small one goes in
        the graph, which costs no extra round trip before it starts."""
        worker = [self._address(slot)]
        if size >= SCATTER_BYTES:
            arg = self.client.scatter(arg, workers=worker, hash=False)
        future = self.client.submit(fn, arg, workers=worker, allow_other_workers=False,
                                    pure=False)  # fmt: skip
        self._slot_of[future.key] = slot
        return future

    def _alive(self) -> set[str]:
        """Every live worker: ``nthreads`` lists them all in every dask release
        (``scheduler_info`` has listed only the first few in some)."""
        return set(self.client.nthreads())

    def _address(self, slot: int) -> str:
        """The slot's worker; a dead one's place goes to a worker no slot has (the one
        its nanny started, once it is up), else to any live one, so the slot goes on.
        Only a worker seen dead costs a look: one that died since the last look is
        found at the next, and its unit is run again."""
        if self.addresses[slot] not in self._gone:
            return self.addresses[slot]
        deadline = time.monotonic() + REPLACE_WAIT
        while True:
            alive = self._alive()
            if self.addresses[slot] in alive:
                return self.addresses[slot]
            fresh = sorted(alive - set(self.addresses))
            if fresh or (alive and time.monotonic() >= deadline):
                self.addresses[slot] = (fresh or sorted(alive))[0]
                return self.addresses[slot]
            if time.monotonic() >= deadline + REPLACE_WAIT:
                raise BackendError("the dask cluster has no workers left")
            time.sleep(DASK_LOOK)

    def wait_any(self, pending: Iterable[Any], timeout: float) -> set[Any]:
        """Polled: ``distributed.wait`` needs a default client, and this one is not
        (a caller's own client stays its default).  A unit pinned to a worker that is
        gone never runs (dask keeps it waiting for that worker), so every
        :data:`DASK_LOOK` seconds the live workers are looked up and such a unit is
        done: its outcome is :class:`WorkerDied`."""
        waiting = list(pending)
        deadline = time.monotonic() + timeout
        while True:
            now = time.monotonic()
            if now >= self._looked + DASK_LOOK:
                self._looked = now
                alive = self._alive()
                self._gone.update(a for a in self.addresses if a not in alive)
                for f in waiting:
                    slot = self._slot_of.get(f.key)
                    if slot is not None and self.addresses[slot] not in alive:
                        self._lost.add(f.key)
            done = {f for f in waiting if f.done() or f.key in self._lost}
            if done or now >= deadline:
                return done
            time.sleep(0.01)

    def outcome(self, future: Any) -> Any:
        slot = self._slot_of.pop(future.key, None)
        if future.key in self._lost:
            self._lost.discard(future.key)
            future.cancel()
            gone = "?" if slot is None else self.addresses[slot]
            raise WorkerDied(f"the dask worker {gone} running it is gone")
        try:
            return future.result()
        except self.dist.KilledWorker as err:
            raise WorkerDied(f"a dask worker died ({err})") from err
        except cf.CancelledError as err:  # the worker died holding the unit scattered to it
            raise WorkerDied(f"a dask worker died and its unit was lost ({err})") from err

    def close(self) -> None:
        self.client.close()
