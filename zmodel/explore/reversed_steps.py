"""The step a reversal puts in a new place, found by running it there, and remembered.

Optimal DPOR reverses a race whose last step read what the racing step wrote by
running that step where the reversal puts it: one replay of the schedule from
the initial state (:mod:`zmodel.explore.optimal_dpor`, ``reverse_unknown``).
Such replays were most of the search's work on the 4-thread zswap scenarios
(24 of 40 CPU-seconds under cProfile on zswap-3.11's
``writeback | free 1 | store 1 C | load 2``), and half of them ran a schedule
already run for an earlier reversal: sibling runs share their prefix, so they
meet the same race again and reverse it into the same place.

Why remembering is sound.  A program is deterministic (the executor's contract,
and what replay relies on): one schedule, a sequence of (thread, outcome) from
the initial state, always yields the same step.  So the footprint found for a
schedule is the footprint of every later run of it, and the memo is keyed by
the whole schedule, prefix included; nothing about the current run's state goes
into the answer.  The key is a 128-bit BLAKE2b digest of the schedule, so a
remembered entry is small (a collision, some 2^-64 at billions of entries, is
the only way two schedules share one); the memo holds at most ``limit``
entries and forgets the least recently used.  The differential suites run
odpor with the memo on; tests/explore/test_reversed_steps.py shows it changes
no outcome or count, and that a memo keyed without the prefix loses end states.
"""

from __future__ import annotations

from array import array
from collections import OrderedDict
from collections.abc import Iterable
from hashlib import blake2b

from zmodel.explore.footprints import Attempt
from zmodel.explore.program import Program
from zmodel.explore.races import EMPTY, UNKNOWN, Footprint
from zmodel.explore.result import Stats
from zmodel.runtime import Executor, ModelError, Violation

#: Schedules remembered per search; about 0.3 KB each on the zswap scenarios.
LIMIT = 65_536


class ReversedSteps:
    """Footprints of steps run at the end of a schedule, by replay or from memory."""

    __slots__ = ("hits", "limit", "memo", "program", "stats")

    def __init__(self, program: Program, stats: Stats, limit: int = LIMIT) -> None:
        self.program = program
        self.stats = stats
        self.limit = limit
        self.memo: OrderedDict[bytes, Footprint] = OrderedDict()
        self.hits = 0

    def footprint(self, schedule: list[tuple[int, int]], tid: int, outcome: int) -> Footprint:
        """What thread ``tid``'s step (taking ``outcome``) does after ``schedule``.

        An ``Attempt`` if the thread is blocked there, a halting footprint if the
        step violates a property, ``UNKNOWN`` if the model fails on the way.
        """
        key = _digest(schedule, tid, outcome)
        memo = self.memo
        found = memo.get(key)
        if found is not None:
            memo.move_to_end(key)
            self.hits += 1
            return found
        fp = self._run(schedule, tid, outcome)
        memo[key] = fp
        if len(memo) > self.limit:
            memo.popitem(last=False)
        return fp

    def _run(self, schedule: list[tuple[int, int]], tid: int, outcome: int) -> Footprint:
        ex = self.program()
        try:
            return self._footprint(ex, schedule, tid, outcome)
        finally:
            ex.discard()

    def _footprint(
        self, ex: Executor, schedule: list[tuple[int, int]], tid: int, outcome: int
    ) -> Footprint:
        self.stats.transitions += len(schedule) + 1
        try:
            for t, o in schedule:
                ex.step(t, o)
            if not ex.is_enabled(tid):
                return Attempt(ex.guard(tid), EMPTY)  # still blocked there
            step = ex.step(tid, outcome)
        except Violation:
            step = ex.trace[-1]
            return Footprint(step.reads, step.writes, True)
        except ModelError:
            return UNKNOWN
        return Footprint(step.reads, step.writes)


def _digest(schedule: Iterable[tuple[int, int]], tid: int, outcome: int) -> bytes:
    flat = array("l", [tid, outcome])
    for t, o in schedule:
        flat.append(t)
        flat.append(o)
    return blake2b(flat.tobytes(), digest_size=16).digest()
