"""``--jobs`` and ``--cluster``: the back-end a check or verify runs its searches on.

One back-end per command (local worker processes, or a dask.distributed
scheduler), opened before the first scenario and closed after the last, so the
workers are started once and keep what they imported; the scenarios' searches
are then spread over them, several in flight at once (:mod:`zmodel.explore.many`).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from zmodel.explore.backends import Backend, BackendError, LocalBackend
from zmodel.explore.dask_backend import DaskBackend

__all__ = ["Backend", "BackendError", "dispatching"]


@contextmanager
def dispatching(jobs: int, cluster: str | None) -> Iterator[Backend | None]:
    """The command's back-end: None for one local process (``--jobs 1`` without
    ``--cluster``: the engines themselves), else local workers or the cluster.
    Raises BackendError (an unreachable scheduler, dask not installed)."""
    if cluster is None and jobs == 1:
        yield None
        return
    backend: Backend = DaskBackend(cluster) if cluster is not None else LocalBackend(jobs)
    try:
        yield backend
    finally:
        backend.close()
