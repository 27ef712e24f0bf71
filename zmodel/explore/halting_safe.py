"""Optimal DPOR's second start, halting-safe, once a run halts at a violation.

The weak-initial argument of optimal DPOR (a step ``p`` outside a wakeup sequence
``v`` that commutes with all of it covers ``v``: Abdulla et al., JACM 2017,
section 6) needs ``p`` to run in every maximal extension of ``v``.  A violation
halts the run, and every thread with it, so an extension of ``v`` may end before
``p`` runs; then the trace it ends in starts with neither ``v`` (dropped as
covered) nor ``p``, and when two such coverings lean on each other it is never run
(tests/explore/test_odpor_halting_restart.py: 4 generated programs of 2 to 4
threads in 24,000 lost an end state, 2026-12-04).

Until a run halts, the search has run only what the program whose violating
steps do not halt also runs, and made the choices optimal DPOR makes on that
program, where it is sound.  So a search that stops at its first violation is
sound as it is: if a violation is reachable, that program's search reaches a
run with the violating step in it, and ours halts there.  A search that goes on
(``all_violations``) starts again at that run, *halting-safe*: every insertion
strict (a sleeper or a wakeup branch covers only the sequences it starts, the
initials of source-DPOR; :func:`zmodel.explore.wakeup_tree.insert`).  Starting
again, not switching, because a covering made before the first halt may have
dropped a sequence whose node is gone.

Measured when written: halting-safe from the first run costs lastzero(8) 2,315
runs instead of 704 (1,611 end asleep); the generated halting programs, 0.7%
more runs.  Programs that never halt pay nothing.  The first attempt's
transitions and seconds count in the result, its runs are
``options["restarted_after"]``, not executions (as the default engine's probe,
:mod:`zmodel.explore.choose`); a unit of a parallel search starts again over its
whole subtree, so what it gave away before the halt runs twice.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from zmodel.explore.donate import Handoff
from zmodel.explore.drive import Search, drive
from zmodel.explore.result import Result


class Halted(Exception):  # noqa: N818 - a signal, not an error
    """A run halted at a violation and the search goes on: start again halting-safe."""


def drive_halting_safe(
    new_search: Callable[[bool, bool], Search],
    *,
    stop_on_first: bool,
    time_limit: float | None,
    handoff: Handoff | None,
) -> Result:
    """Drive ``new_search(restart, safe)``: first with ``restart`` (raise
    :class:`Halted` from backtracking after a run that halted) unless the search
    stops at its first violation, then, if it halted, again with ``safe``."""
    started = time.perf_counter()
    search = new_search(not stop_on_first, False)
    try:
        return drive(search, stop_on_first=stop_on_first, time_limit=time_limit, handoff=handoff)
    except Halted:
        pass
    first = search.result.stats
    spent = time.perf_counter() - started
    left = None if time_limit is None else max(time_limit - spent, 0.0)
    result = drive(
        new_search(False, True), stop_on_first=stop_on_first, time_limit=left, handoff=handoff
    )
    # As the default engine's probe (choose.py): the work counts, the runs are not
    # this search's executions.
    result.stats.transitions += first.transitions
    result.stats.seconds += spent
    result.options["restarted_after"] = first.executions
    return result
