"""The dask back-end: a parallel search's units on a ``dask.distributed`` cluster.

:class:`DaskBackend` uses an existing scheduler; a slot is one of its workers
(``workers=[address]``), so a dead worker's task fails with
:class:`~zmodel.explore.backends.WorkerDied` instead of running elsewhere without
its cache.  Dask keeps a task pinned to a worker that is gone waiting for ever, so
the back-end looks the live workers up while it waits: such a unit is
``WorkerDied``, and the slot moves to the worker the nanny started in its place.
A unit carrying many cache entries is scattered to its worker rather than sent in
the task graph.  ``distributed`` is imported only when a back-end is made (it is
the optional ``zmodel[cluster]``).
"""

from __future__ import annotations

import contextlib
import importlib
import pickle
import time
from collections.abc import Callable, Iterable
from concurrent import futures as cf
from typing import Any

from zmodel.explore.backends import BackendError, Gift, Signal, WorkerDied
from zmodel.explore.sharing import SHARE_EVERY, Shared
from zmodel.explore.subtree import Subtree

__all__ = ["CONNECT_TIMEOUT", "DaskBackend", "DaskSignal"]

#: Seconds to reach a cluster's scheduler before giving up.
CONNECT_TIMEOUT = 3.0
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
