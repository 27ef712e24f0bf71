"""Keeping CPython's cyclic garbage collector off a search's long-lived data.

A search allocates all the time (each run's executor, frames, steps and
footprints) and keeps a growing heap of long-lived objects: the state cache,
the DPOR stack, the races seen.  CPython's collector runs a young collection
every 700 net allocations, walking every object that survived since the last
one, and a full collection whenever its oldest generation grows by a quarter,
walking every tracked object.  On 3.11's ``store 1 A; store 2 B :: writeback |
load 2 | free 1`` (default engine, 1,441 executions) the collector took 5.2 of
12.5 CPU-s, 3.5 of them in 29 full collections; with the cycles below gone,
each full collection still walked up to 370,000 objects (mostly the cache's
tuples and frozensets).

Three things keep it off:

* **No cycles per run.**  A run's object graph used to hang together in three
  reference cycles (the swap layer and its design, an observer closure and its
  executor, a closure that recursed through its own cell), so every run's few
  hundred objects were garbage only a collection could free.  They are gone
  (``tests/test_no_reference_cycles.py`` keeps them gone), and a run's objects
  now die by reference counting when it ends.
* **No collector while the model makes no cycles.**  Then a collection finds
  nothing, and every one it makes is waste: the young ones alone walk each
  survivor (every cache entry) once or twice.  So the run loop
  (:mod:`zmodel.explore.drive`) reports each run (:func:`run_ended`), and from
  the first run on the collector is disabled, and *probed*: after run 8, 64,
  512, ... (each probe 8 times later) a young collection moves what survived
  since the last one out of the youngest generation (each survivor is walked
  there once), and 8 runs later another walks only what those 8 runs left.  If
  it finds anything unreachable, the model makes cycles (a user's design may),
  and the collector is enabled again, under the policy below, for the rest of
  the search.  So a model that makes cycles runs at most ``8 + 8`` runs, or 8
  times the runs of its last clean probe, with its cycles uncollected; a model
  that makes none is walked about once.  The probe does not freeze: frozen and
  thawed again at the search's end, a host's whole heap (a test process with
  Hypothesis's) joined the oldest generation behind the collector's count of
  it, and full collections of all of it came often: the 2,000 programs of
  ``test_parallel_matches_plain_enumeration`` took 100 s with a freezing probe,
  51 s without the collector policy, 49 s with this one.
  Engines whose loop is not ``drive`` (random, PCT, Hypothesis, which allocate
  in their own ways) report no runs and keep the collector on.
* **Freezing what survived.**  While the collector is on in a search
  (:func:`searching`), a full collection that took longer than
  :data:`SLOW_COLLECTION` seconds is followed by ``gc.freeze()``: what survived
  it moves to the permanent generation, which later collections do not walk, so
  the next full collections walk only what was allocated since.

Frozen objects are still freed by reference counting when they die; what
freezing costs is that a frozen object that later becomes part of an
unreachable cycle is not collected while it is frozen.  When the outermost
search ends the collector is enabled again (if the search disabled it) and the
permanent generation is thawed (``gc.unfreeze()``), so anything the search left
is collected as before, except in a worker process of a parallel search
(:func:`stay_frozen`), whose state cache outlives its units: there the
collector stays as the search left it, off between units too (the unpickling
of shipped cache entries), and the next search's runs go on counting towards
the same probes; it is on again, over what was alive before, until that
search's first run ends, so an engine outside the run loop still has it.  On
3.11's ``writeback | load 2 | free 1`` on two workers, the collector took 0.4
to 0.7 s of the workers' 16 to 17 CPU-s, in 1,100 young collections, most of
them between units.  A process that had frozen objects of its own before the
search, or had disabled the collector, is left to its own policy: nothing is
disabled, frozen or thawed for it.

Measured on that scenario, one process, pure build: 12.5 CPU-s before, 9.4 with
the cycles gone, 7.4 with freezing too; 6.6 with the collector disabled.  On
3.11's whole suite, compiled build, one run each alternated: the collector's
callbacks timed 1.0 of 3.5-4.0 CPU-s in collections (0.65 s in 13 full ones),
and the suite took 2.5-2.8 CPU-s with the collector off.
"""

from __future__ import annotations

import gc
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

__all__ = ["PROBE_RUNS", "SLOW_COLLECTION", "run_ended", "searching", "stay_frozen"]

#: Seconds a full collection may take before its survivors are frozen.
SLOW_COLLECTION = 0.02
#: Runs from a probe's first young collection to its second, and before the first probe.
PROBE_RUNS = 8

_lock = threading.Lock()  # searches may nest, and run in two threads of a process
_depth = 0
_thaw = True
_active = False  # whether the outermost search installed the callback
_started = 0.0
_runs = 0  # runs the outermost search's loop reported
_probe_at = 0  # the run after which the next probe starts (0: no probe, collector on)
_disabled = False  # whether this search disabled the collector
_resumed = False  # a worker's search that goes on with its earlier ones' schedule


def _after_collection(phase: str, info: dict[str, Any]) -> None:
    global _started
    if info["generation"] != 2:
        return
    if phase == "start":
        _started = time.perf_counter()
    elif time.perf_counter() - _started > SLOW_COLLECTION:
        gc.freeze()


@contextmanager
def searching() -> Iterator[None]:
    """Within it, a slow full collection freezes its survivors; nested, the
    outermost one decides."""
    global _depth, _active, _runs, _probe_at, _disabled, _resumed
    with _lock:
        _depth += 1
        if _depth == 1:
            if _thaw or not _disabled:
                _runs, _disabled = 0, False
                _probe_at = PROBE_RUNS if gc.isenabled() else 0
            elif _probe_at:
                # A worker (``stay_frozen``): its searches go on with the schedule
                # the earlier ones left, and no probe found cycles yet.  The
                # collector is on until this search's first run ends (an engine
                # outside the run loop keeps it on), over none of what is alive now.
                gc.freeze()
                gc.enable()
                _resumed = True
            # A process that froze objects of its own keeps its policy: a thaw at the
            # end would undo its freeze too.
            _active = not (_thaw and gc.get_freeze_count())
            if _active:
                gc.callbacks.append(_after_collection)
    try:
        yield
    finally:
        with _lock:
            _depth -= 1
            if _depth == 0 and _active:
                # A run loop outside a search (a replay, an engine called directly)
                # reports runs that are no search's: they change nothing.
                _active = _resumed = False
                gc.callbacks.remove(_after_collection)
                if _thaw:
                    if _disabled:
                        gc.enable()
                    gc.unfreeze()


def run_ended() -> None:
    """The run loop ended a run: the collector is off from the first one, and probed
    at exponentially spaced runs (module docstring)."""
    global _runs, _probe_at, _disabled, _resumed
    if not _active or not _probe_at:
        return
    _runs += 1
    if _runs == 1 or _resumed:
        gc.disable()
        _disabled, _resumed = True, False
    if _runs == _probe_at:
        gc.collect(0)  # what it finds is from before the probe: not counted
    elif _runs == _probe_at + PROBE_RUNS:
        if gc.collect(0):
            # The model makes cycles: the collector runs as usual from here.
            _probe_at = 0
            gc.enable()
        else:
            _probe_at *= PROBE_RUNS


def stay_frozen(worker: bool = True) -> None:
    """This process is a parallel search's worker: its cache (and what else a
    search froze) outlives each unit, so a search's end does not thaw it.
    ``worker`` False: it is not one any more (the tests; the next search starts
    the schedule afresh)."""
    global _thaw, _disabled
    _thaw = not worker
    if not worker:
        _disabled = False
