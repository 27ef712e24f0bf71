"""Cache entries a running unit ships to the other workers while it runs.

A parallel search's units keep one state cache per worker, and the entries a
unit stores travel with the next unit handed to each other worker
(:mod:`zmodel.explore.parallel`).  Shipped only when a unit ends, the entries of
a long unit reach nobody while it runs: on 3.11's ``writeback | load 2 | free 1``
the three biggest of 64 units hold some 70 % of the work, and the units run
beside them explored again what those had already stored.  The count of
executions then hung on timing: on two local workers it was 1,581 to 1,851 (mean
1,716 over 9 runs), against 1,441 in one process; shipped in parts it was 1,549
to 1,704 (mean 1,597), mostly 1,572 to 1,588.

So a unit also ships, every :data:`SHARE_EVERY` seconds between two runs, the
entries stored since the last time (:class:`Sharer`, called by
:func:`~zmodel.explore.drive.drive` through its ``Handoff``).  It is as sound as
shipping at the end: an entry is stored only once its state was explored
completely (:mod:`zmodel.explore.dpor_cache`), so what it says holds whether the
unit goes on, ends, or its worker dies.  Each part is numbered; the unit's
outcome carries the rest as the next part, so the coordinator passes every
entry on once whichever arrives first.

Every entry travels, though few are ever hit (on that scenario, 2 workers, 67 of
12,000): most are of states one run explored, whose hit saves one run.  Shipping
only the entries whose exploration took 4 runs or more (a count the journal
then recorded) cut the workers' CPU in pickling, unpickling and storing entries
from 0.86 to 0.27 s of some 16, but raised the transitions 1.3 % (694 k against
685 k, mean of 4 runs each): no gain that runs on this machine could show.
"""

from __future__ import annotations

import pickle
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

#: Seconds between two parts a running unit ships.
SHARE_EVERY = 0.5

Stored = list[tuple[object, frozenset[int], int, Any]]
#: Which entries a batch holds: the unit's index, its attempt (a unit whose worker
#: died runs again) and the part.
BatchKey = tuple[int, int, int]


@dataclass(frozen=True)
class Shared:
    """Part ``part`` of the cache entries a unit stored, pickled."""

    part: int
    stored: bytes


class Sharer:
    """The entries a running unit stored, shipped in parts with ``send``.

    ``cache`` finds the worker's cache (None until the search made one); entries
    ``cutoff`` or fewer steps of budget left (deep states) stay home.
    """

    def __init__(
        self,
        cache: Callable[[], Any],
        journal: Stored,
        cutoff: int,
        send: Callable[[Shared], None] | None,
        every: float = SHARE_EVERY,
    ) -> None:
        self.cache, self.journal, self.cutoff, self.send = cache, journal, cutoff, send
        self.every = every
        self.parts = 0  # parts made
        self.sent = 0  # entries of the journal in them
        self._next = time.perf_counter() + every

    def __call__(self) -> None:
        """Ship what was stored since the last part, if ``every`` seconds went by."""
        now = time.perf_counter()
        if self.send is None or now < self._next:
            return
        self._next = now + self.every
        part = self.part()
        if part is not None:
            self.send(part)

    def part(self) -> Shared | None:
        """The entries stored since the last part (None: none to ship)."""
        cache = self.cache()
        if cache is None:
            return None
        if cache.journal is None:  # made by this unit: all its entries are this unit's
            self.journal[:] = cache.entries()
            cache.journal = self.journal
        fresh = [entry for entry in self.journal[self.sent :] if entry[2] > self.cutoff]
        self.sent = len(self.journal)
        if not fresh:
            return None
        self.parts += 1
        return Shared(self.parts - 1, pickle.dumps(fresh, protocol=pickle.HIGHEST_PROTOCOL))
