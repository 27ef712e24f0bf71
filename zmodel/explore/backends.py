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
  :class:`WorkerDied` instead of running elsewhere without its cache.
* :class:`InlineBackend`: runs each call at once, in this process (the slots'
  worker state kept apart by :func:`slot_state`).
"""

from __future__ import annotations

import importlib
import multiprocessing
import os
import time
from collections.abc import Callable, Iterable
from concurrent import futures as cf
from typing import Any, Protocol

#: Seconds to reach a cluster's scheduler before giving up.
CONNECT_TIMEOUT = 3.0


class BackendError(OSError):
    """The back-end cannot run anything: an unreachable scheduler, no dask installed."""


class WorkerDied(Exception):  # noqa: N818 - an event the search reports, not a bug
    """The worker running a unit died (or the cluster lost it)."""


class Backend(Protocol):
    workers: int
    #: Whether every slot runs in this process (the worker state is then per slot).
    inline: bool

    def submit(self, slot: int, fn: Callable[[Any], Any], arg: Any) -> Any: ...

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


class LocalBackend:
    def __init__(self, jobs: int) -> None:
        self.workers = jobs if jobs > 0 else (os.cpu_count() or 1)
        self.inline = False
        self._context = multiprocessing.get_context("fork")
        self._pools = [self._pool() for _ in range(self.workers)]

    def _pool(self) -> cf.ProcessPoolExecutor:
        pool = cf.ProcessPoolExecutor(max_workers=1, mp_context=self._context)
        pool.submit(int).result()  # forked now, while this process's heap is small
        return pool

    def submit(self, slot: int, fn: Callable[[Any], Any], arg: Any) -> Any:
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
        self.addresses = sorted(self.client.scheduler_info().get("workers", {}))
        if not self.addresses:
            self.client.close()
            raise BackendError(f"the dask scheduler at {address} has no workers")
        self.workers = len(self.addresses)
        self.inline = False

    def submit(self, slot: int, fn: Callable[[Any], Any], arg: Any) -> Any:
        return self.client.submit(
            fn, arg, workers=[self.addresses[slot]], allow_other_workers=False, pure=False
        )

    def wait_any(self, pending: Iterable[Any], timeout: float) -> set[Any]:
        """Polled: ``distributed.wait`` needs a default client, and this one is not
        (a caller's own client stays its default)."""
        waiting = list(pending)
        deadline = time.monotonic() + timeout
        while True:
            done = {f for f in waiting if f.done()}
            if done or time.monotonic() >= deadline:
                return done
            time.sleep(0.01)

    def outcome(self, future: Any) -> Any:
        try:
            return future.result()
        except self.dist.KilledWorker as err:
            raise WorkerDied(f"a dask worker died ({err})") from err

    def close(self) -> None:
        self.client.close()


class _Done:
    """A finished call's result, as a future."""

    def __init__(self, value: Any = None, error: BaseException | None = None) -> None:
        self.value, self.error = value, error

    def result(self) -> Any:
        if self.error is not None:
            raise self.error
        return self.value


class InlineBackend:
    """Each call run at once, in this process; ``workers`` slots with their own state."""

    def __init__(self, workers: int = 2) -> None:
        self.workers = workers
        self.inline = True

    def submit(self, slot: int, fn: Callable[[Any], Any], arg: Any) -> Any:
        try:
            return _Done(fn(arg))
        except Exception as err:  # handed back as a future's error would be
            return _Done(error=err)

    def wait_any(self, pending: Iterable[Any], timeout: float) -> set[Any]:
        return set(pending)

    def outcome(self, future: Any) -> Any:
        return future.result()

    def close(self) -> None:
        _SLOT_STATE.clear()
