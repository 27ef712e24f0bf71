"""The dependency relation, happens-before, and race reversal for the DPOR engine.

See :mod:`zmodel.explore.dpor` for the algorithm this serves.  This module holds
the three pieces of it that are pure bookkeeping over one run:

* :class:`Footprint` (:mod:`zmodel.explore.footprints`) and :func:`dependent`:
  when two steps of different threads do not commute.  Every rule of the relation
  is in :func:`dependent`, and every user of the relation (race detection,
  probes of blocked threads, sleep sets) calls it through the module global, so
  a test can flip one rule by monkeypatching it and watch the differential suite
  fail.
* :class:`HappensBefore`: vector clocks over the events of the current run, the
  races of a new (or virtual) event, and the initials of a race's reversal.

Thread 0 is the setup: it runs alone before every other thread, so its events
precede every other event in every execution and can never be reordered.  They
are kept out of the clocks altogether (component 0 counts nothing).
"""

from __future__ import annotations

from collections.abc import Sequence

from zmodel.explore.footprints import (
    ACQUIRE,
    EMPTY,
    RELEASE,
    STATIC_PRIMITIVES,
    TRYLOCK,
    UNKNOWN,
    Footprint,
    LockOp,
    lock_op,
)
from zmodel.runtime import Location

__all__ = [
    "ACQUIRE",
    "EMPTY",
    "RELEASE",
    "STATIC_PRIMITIVES",
    "TRYLOCK",
    "UNKNOWN",
    "Footprint",
    "HappensBefore",
    "LockOp",
    "Race",
    "block_start",
    "dependent",
    "lock_op",
    "reads_from",
]

VectorClock = tuple[int, ...]


def reads_from(writer: Footprint, reader: Footprint) -> bool:
    """Whether ``reader`` may read a value ``writer`` wrote.

    Then moving ``reader`` before ``writer`` can change what it reads, and with
    it what the step does: a compare-and-swap that failed may succeed, a branch
    may pick another field.  A halting step counts as writing everything.
    """
    if writer.halts:
        return True
    if not writer.writes.isdisjoint(reader.reads):
        return True
    if writer.whole or reader.whole:
        reader_read, reader_read_whole, _, _ = reader.objects()
        _, _, written, written_whole = writer.objects()
        return bool(written_whole & reader_read or written & reader_read_whole)
    return False


def dependent(a: Footprint, b: Footprint) -> bool:
    """Whether steps ``a`` and ``b`` of two different threads may not commute.

    They are dependent when one writes a location the other reads or writes.  A
    location ``(oid, None)`` is the whole object (allocation, free): it overlaps
    every ``(oid, field)``.  Lock acquire and release write the lock field, so
    two operations on one lock conflict.  A violating step is dependent with
    everything (it ends the run).
    """
    if a.halts or b.halts:
        return True
    if not a.writes.isdisjoint(b.rw) or not b.writes.isdisjoint(a.reads):
        return True
    if a.whole or b.whole:
        a_read, a_read_whole, a_written, a_written_whole = a.objects()
        b_read, b_read_whole, b_written, b_written_whole = b.objects()
        # A whole-object write against any access to the object, or a write of
        # one field against a whole-object access.
        return bool(
            a_written_whole & (b_read | b_written)
            or a_written & (b_read_whole | b_written_whole)
            or b_written_whole & a_read
            or b_written & a_read_whole
        )
    return False


class _Event:
    __slots__ = ("fp", "li", "lock", "tid", "vc")

    def __init__(self, tid: int, li: int, fp: Footprint, vc: VectorClock, lock: LockOp) -> None:
        self.tid = tid
        self.li = li  # 1-based index of the event among its thread's events
        self.fp = fp
        self.vc = vc  # vc[t] = how many of thread t's events happen before or at this one
        self.lock = lock


class Race:
    """Event ``index`` (``e``) races with a later (or virtual) event ``e'`` of ``tid``.

    ``initials`` are threads that can start the reversed sequence
    ``v = notdep(e).tid`` from the state before ``e`` (Abdulla et al.'s
    ``I[pre(E, e)](v)``), in the order they first appear in it.

    The last event of ``v`` is *the next step of* ``tid`` after ``notdep(e)``,
    which is ``e'`` only if it reads the same values there.  When ``e'`` read a
    location ``e`` wrote (:func:`reads_from`), or ``e'`` is the virtual attempt of
    a blocked or cut-off thread, that step has not been run and its footprint is
    unknown: ``known`` is False.  Then ``tid`` is in ``initials`` only when
    nothing else is in ``v`` or its first event in ``v`` comes before ``e'``;
    otherwise whether it is an initial depends on that unknown footprint, and the
    caller decides from what it knows of ``tid``'s step before ``e`` (a sleeping
    thread's footprint there is exact), using :meth:`HappensBefore.notdep`.
    """

    __slots__ = ("index", "initials", "known", "open", "tid")

    def __init__(
        self, index: int, tid: int, initials: list[int], known: bool = True, open: bool = False
    ) -> None:
        self.index = index
        self.tid = tid
        self.initials = initials
        #: Whether ``e'``'s footprint is that of ``tid``'s step in the reversal.
        self.known = known
        #: Whether ``tid`` may be an initial of ``v`` although it is not in ``initials``.
        self.open = open


class HappensBefore:
    """Vector clocks over the events of the current run, for race detection."""

    def __init__(self, nthreads: int) -> None:
        self.n = nthreads
        self.events: list[_Event] = []
        self.by_thread: list[list[int]] = [[] for _ in range(nthreads)]
        self.zero: VectorClock = (0,) * nthreads

    def __len__(self) -> int:
        return len(self.events)

    def truncate(self, length: int) -> None:
        """Forget the events from position ``length`` on (the run diverges there)."""
        events = self.events
        while len(events) > length:
            self.by_thread[events.pop().tid].pop()

    def push(self, tid: int, fp: Footprint, lock: LockOp = None) -> list[Race]:
        """Append the event ``tid`` just performed; return its races.

        ``lock`` says whether the step took a lock (acquire, successful trylock)
        or released it (the release primitive), and which.
        """
        if tid == 0:
            self._append(tid, fp, self.zero, lock)
            return []
        vc, races = self._analyse(tid, fp, lock, False)
        self._append(tid, fp, vc, lock)
        return races

    def probe(self, tid: int, fp: Footprint, lock: LockOp = None) -> list[Race]:
        """Races of a virtual event of ``tid`` at the end of the run (not recorded).

        A blocked thread's failed attempt reads its guard; races with that attempt
        are how a step that disables or enables the thread becomes a backtrack
        point.  The attempt is not the step the thread takes once it can run, so
        its reversals never know that step's footprint (``Race.known``).
        """
        return self._analyse(tid, fp, lock, True)[1]

    def notdep(self, index: int) -> list[Footprint]:
        """The footprints of ``notdep(e)``: the events after event ``index`` that do
        not happen after it, in order."""
        events = self.events
        e = events[index]
        t, li = e.tid, e.li
        return [ev.fp for ev in events[index + 1 :] if ev.vc[t] < li]

    # -- internals -------------------------------------------------------------
    def _append(self, tid: int, fp: Footprint, vc: VectorClock, lock: LockOp) -> None:
        mine = self.by_thread[tid]
        mine.append(len(self.events))
        self.events.append(_Event(tid, len(mine), fp, vc, lock))

    def _analyse(
        self, tid: int, fp: Footprint, lock: LockOp, virtual: bool
    ) -> tuple[VectorClock, list[Race]]:
        events = self.events
        mine = self.by_thread[tid]
        prev = events[mine[-1]].vc if mine else self.zero
        # The last event of each other thread that is dependent with this one.
        # Events already ordered before this one through program order (covered
        # by ``prev``) cannot race with it, so the scan stops there.
        deps: dict[int, _Event] = {}
        dep_index: dict[int, int] = {}
        for t in range(1, self.n):
            if t == tid:
                continue
            seen = prev[t]
            theirs = self.by_thread[t]
            for k in range(len(theirs) - 1, seen - 1, -1):
                ev = events[theirs[k]]
                if dependent(ev.fp, fp):
                    deps[t] = ev
                    dep_index[t] = theirs[k]
                    break
        vc = list(prev)
        for ev in deps.values():
            vc = [max(x, y) for x, y in zip(vc, ev.vc, strict=True)]
        vc[tid] = len(mine) + 1
        races: list[Race] = []
        for t, ev in deps.items():
            # ev races with this event unless another direct predecessor already
            # happens after it (Abdulla et al.: e <. e' has no event in between).
            excl = list(prev)
            for u, other in deps.items():
                if u != t:
                    excl = [max(x, y) for x, y in zip(excl, other.vc, strict=True)]
            if excl[t] >= ev.li:
                continue
            excl[tid] = len(mine) + 1
            index = dep_index[t]
            if lock is not None and lock[0] == ACQUIRE and ev.lock == (RELEASE, lock[1]):
                # An acquire cannot move before the release of the lock it
                # waits for; it can move before the acquire that release ends.
                taken = self._taken(index, lock[1])
                if taken is None or events[taken].tid == 0:
                    continue  # taken by the setup, which never reorders
                if excl[events[taken].tid] >= events[taken].li:
                    continue
                index = taken
            # A lock acquire or release, a Load or a Store does the same whatever
            # it reads; any other step that read what the racing event wrote may not.
            known = not virtual and (
                fp.static
                or (lock is not None and lock[0] != TRYLOCK)
                or not reads_from(events[index].fp, fp)
            )
            races.append(self._race(index, tid, tuple(excl), known))
        return tuple(vc), races

    def _race(self, index: int, tid: int, vc: VectorClock, known: bool) -> Race:
        """The race of event ``index`` with ``tid``'s event whose clock ``vc`` leaves it out.

        Initials of ``v = notdep(e, E).e'``: a thread is one if its first event in
        ``v`` has no predecessor in ``v``.  ``e'``'s predecessors are taken from its
        clock only when its footprint is ``known``.
        """
        first = self._first_not_after(index)
        # Open: whether tid starts v hangs on its unknown step (v has other events
        # before it, none of tid's).
        open_ = not known and bool(first) and tid not in first
        if tid not in first and not open_:
            first[tid] = (vc, vc[tid])
        return Race(index, tid, _initials_of(first), known, open_)

    def _taken(self, release: int, loc: Location) -> int | None:
        """The event that took the lock that event ``release`` releases."""
        for k in range(release - 1, -1, -1):
            lock = self.events[k].lock
            if lock is not None and lock[1] == loc and lock[0] != RELEASE:
                return k
        return None

    def ghost_reversal(self, start: int, fp: Footprint, pos: int) -> list[int] | None:
        """The reversal of a race between a *sleeping* step and event ``pos``.

        ``fp`` is the step of a thread asleep at the node before event ``start``,
        woken there by event ``start``, which read or wrote what it reads (so the
        thread may do something else once it runs: see :mod:`zmodel.explore.dpor`).
        Event ``pos`` is dependent with ``fp``.  Placed just before ``start``, the
        sleeping step would happen before ``start`` and everything dependent with
        it; the reversal runs the events after ``start`` that would not, then event
        ``pos``.  Returns their indices (``pos`` last), or None when event ``pos``
        itself would happen after the sleeping step through another event.
        """
        events = self.events
        tainted: list[_Event] = []
        kept: list[int] = []
        for k in range(start, pos + 1):
            ev = events[k]
            after = any(ev.vc[t.tid] >= t.li for t in tainted)
            if k == pos:
                if after:
                    return None
                kept.append(k)
            elif k == start or after or dependent(fp, ev.fp):
                tainted.append(ev)
            else:
                kept.append(k)
        return kept

    def initials_of(self, indices: list[int]) -> list[int]:
        """The threads that can start the sequence of events ``indices`` (in order)."""
        first: dict[int, tuple[VectorClock, int]] = {}
        for k in indices:
            ev = self.events[k]
            if ev.tid not in first:
                first[ev.tid] = (ev.vc, ev.li)
        return _initials_of(first)

    def stack_initials(self, index: int) -> list[int]:
        """Initials of ``notdep(e, E)`` alone (empty if every later event follows ``e``).

        For a race of ``e`` with an event not in this run (below a cached state),
        these are initials of the reversal too: see :mod:`zmodel.explore.dpor_cache`.
        """
        return _initials_of(self._first_not_after(index))

    def _first_not_after(self, index: int) -> dict[int, tuple[VectorClock, int]]:
        """Per thread, the clock and index of its first event after event ``index``
        that does not happen after it."""
        events = self.events
        e = events[index]
        t, li = e.tid, e.li
        first: dict[int, tuple[VectorClock, int]] = {}
        for k in range(index + 1, len(events)):
            ev = events[k]
            if ev.vc[t] < li and ev.tid not in first:
                first[ev.tid] = (ev.vc, ev.li)
        return first


def _initials_of(first: dict[int, tuple[VectorClock, int]]) -> list[int]:
    """The threads whose first event has no predecessor among the others' first events."""
    return [
        q
        for q, (qvc, _) in first.items()
        if all(qvc[u] < uli for u, (_, uli) in first.items() if u != q)
    ]


def block_start(tids: Sequence[int], index: int) -> int:
    """The first position of the run of same-thread events containing ``index``.

    Coons et al.'s conservative backtrack point: a context switch already happens
    there, so scheduling another thread there costs no extra preemption.
    """
    tid = tids[index]
    while index > 0 and tids[index - 1] == tid:
        index -= 1
    return index
