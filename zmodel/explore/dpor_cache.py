"""A visited-state cache for source-DPOR, with summarised dependencies.

Why a cache, and why it needs summaries
---------------------------------------
Stateless DPOR runs one schedule per Mazurkiewicz trace.  The zswap model has
many traces that end in one state: two threads that each bump a counter under a
lock, in either order, leave the same heap.  A cached DFS stops at the second
arrival; stateless DPOR explores everything after it again, once per trace that
leads there.  On ``q1-unlocked-int`` load-vs-writeback that is 281,462 runs
against the cached DFS's 9,198.

Stopping DPOR at a visited state is unsound on its own (design.md rule 4, and
Yang, Chen, Gopalakrishnan, Kirby, "Efficient stateful dynamic partial order
reduction", SPIN 2008).  DPOR learns where to backtrack from the races of the
run it is on: a race between an event ``e`` of the current prefix and an event
``e'`` after the visited state ``s`` adds a backtrack point before ``e``.  If
the run stops at ``s``, ``e'`` never runs in this prefix and the race is never
seen, so a reordering that only it would have asked for is never explored.

What the cache keeps
--------------------
For each state ``s`` whose exploration is complete (its node was popped), the
cache keeps a *summary*: every distinct event (thread, footprint, lock
operation) of any run explored from ``s``, including the failed attempts of
blocked threads (how enabling and disabling races are found) and the summaries
of visited states met below ``s``.  Deep states share a few summaries, so equal
ones are stored once.

What a hit does
---------------
When a run reaches ``s`` again (at prefix ``E``), each summarised event ``e'`` of
thread ``q`` is analysed as if ``q`` ran it next, at the end of ``E``
(:meth:`~zmodel.explore.races.HappensBefore.probe`): its races are the last
event of each other thread dependent with it that does not already happen
before ``q``'s last event in ``E``, unless another such event happens after it.
In a real run from ``s``, ``e'`` comes after some events below ``s``; they can
only add happens-before edges, which turn races into non-races, never the
reverse.  So every race ``e`` of ``E`` can have with ``e'`` is among these, and
extra ones cost time, never soundness.

The reversal of such a race is ``v = notdep(e).e'``, and source-DPOR needs one
of ``v``'s initials in the backtrack or sleep set before ``e``.  ``v`` starts
with the events of ``E`` after ``e`` that do not happen after ``e``, and the
first event of each thread among them is an initial of ``v`` exactly when it is
an initial of that part alone (everything that precedes it in ``v`` is in that
part).  So when that part is not empty its initials, computed from ``E``
alone, are initials of ``v``, and the usual check-and-add applies to them.  When
it is empty, ``v`` lies wholly below ``s`` and is unknown; every enabled thread
with an event below ``s`` is added instead, except ``e``'s own and those with an
event after ``e`` in ``E`` (which happens after ``e``, so all they do below ``s``
does too).  The races of events both below ``s`` are the same whatever the
prefix (their happens-before involves only events below ``s``), and they were
reversed when ``s`` was first explored.

Footprints that depend on values
--------------------------------
The summarised events are real events of runs from ``s``, so their footprints are
exact from ``s`` on, whatever the prefix.  A hit never takes the summarised
event's own thread as an initial of a reversal (only the prefix part's initials,
or the fallback), so a footprint that changes when the event moves before the
racing one (issue 9; :mod:`zmodel.explore.dpor`) cannot make it look like it
starts the reversal.  A ghost (a sleeping step its waker changed) races with the
summarised events too; where they happen below ``s`` is not known, so each
dependent one's thread is added at the ghost's node.

When a hit may prune
--------------------
* Sleep sets (Godefroid): the first exploration of ``s`` skipped the threads
  asleep there.  A later arrival may prune only if its own sleep set contains
  all of those, or the skipped threads would be lost.
* The step budget: as in the cached DFS, an entry prunes only an arrival with
  no more budget left than it had.
* Preemption bounds: the cache is off.  Bounded DPOR has no sleep sets and its
  conservative backtrack points depend on the prefix's context switches.

The differential suite runs this engine against plain enumeration on thousands of
generated programs, and mutation tests that drop the summaries' races, the
fallback for reversals below ``s``, or the sleep-set rule show that the suite
notices (the last on a program wider than the generator's, with a thread
asleep at the first exploration of a state and awake at a later arrival).
"""

from __future__ import annotations

import sys
from collections import OrderedDict
from collections.abc import Iterable, Sequence
from typing import Protocol

from zmodel.explore.races import Footprint, HappensBefore, LockOp

#: One event below a state: thread, footprint, lock operation.
Event = tuple[int, Footprint, LockOp]
#: A frozen summary: every distinct event below a state.
Frozen = tuple[Event, ...]


class Summary:
    """The distinct events, per thread, below one scheduling point."""

    __slots__ = ("events",)

    def __init__(self) -> None:
        self.events: dict[tuple[object, ...], Event] = {}

    def add(self, tid: int, fp: Footprint, lock: LockOp = None) -> None:
        if tid == 0:
            return  # the setup runs alone, first: its events never race
        key = (tid, fp.reads, fp.writes, fp.halts, lock)
        if key not in self.events:
            self.events[key] = (tid, fp, lock)

    def merge(self, events: Iterable[Event]) -> None:
        for tid, fp, lock in events:
            self.add(tid, fp, lock)


class StateCache:
    """Completely explored states, with the sleep set and budget they were explored
    with and the summary of what happened below them.

    Bounded: once the estimated size passes ``max_bytes`` the least recently used
    states are dropped (``evicted`` counts them).  Dropping is sound: a state that
    is not in the cache is explored again as a new one, as without the cache; a
    hit is the only thing the cache adds, and a hit only ever returns a summary
    stored whole for that state.
    """

    #: Sizes are measured on a sample of the keys (a deep size is as dear as the
    #: fingerprint itself); the rest are priced at the sample's mean.
    SAMPLE_EVERY = 64

    def __init__(self, max_bytes: int | None = None) -> None:
        self._entries: OrderedDict[object, list[tuple[frozenset[int], int, Frozen]]] = OrderedDict()
        # Equal summaries are shared: deep states tend to have the same few.
        self._interned: dict[object, Frozen] = {}
        self.max_bytes = max_bytes
        self.evicted = 0
        self._bytes = 0  # estimated size of the entries and the interned summaries (bounded)
        self._interned_bytes = 0
        self._stores = 0
        self._sampled = 0
        self._key_mean = 0.0
        #: When a list: every store is appended to it as well (a parallel search's
        #: worker ships them to the others, :meth:`adopt`).
        self.journal: list[tuple[object, frozenset[int], int, Frozen]] | None = None

    def __len__(self) -> int:
        return len(self._entries)

    def lookup(self, key: object, sleep: frozenset[int], remaining: int) -> Frozen | None:
        """The summary of ``key`` if an exploration of it covers this arrival."""
        entries = self._entries.get(key)
        if entries is None:
            return None
        for asleep, budget, frozen in entries:
            if asleep <= sleep and budget >= remaining:
                self._entries.move_to_end(key)
                return frozen
        return None

    def store(self, key: object, sleep: frozenset[int], remaining: int, frozen: Frozen) -> None:
        entries = self._entries.get(key)
        if entries is None:
            entries = self._entries[key] = []
            # Sized only under a bound: a key's deep size is as dear as its
            # fingerprint (1.5 % of an unbounded search's profile, for nothing).
            if self.max_bytes is not None:
                self._bytes += self._key_size(key)
        else:
            self._entries.move_to_end(key)
        entries.append((sleep, remaining, frozen))
        if self.journal is not None:
            self.journal.append((key, sleep, remaining, frozen))
        if self.max_bytes is not None:
            self._bytes += _ENTRY_BYTES
            if self._bytes > self.max_bytes:
                self._evict()

    def entries(self) -> list[tuple[object, frozenset[int], int, Frozen]]:
        """Every entry, as :meth:`adopt` takes them."""
        return [(key, *entry) for key, held in self._entries.items() for entry in held]

    def adopt(self, stored: list[tuple[object, frozenset[int], int, Frozen]]) -> None:
        """Store what another search's cache stored (a parallel search's other
        worker).  Sound as any entry is: each is a state explored completely, and one
        is used only after it was stored, so no entry's summary rests on itself."""
        journal, self.journal = self.journal, None
        try:
            for key, sleep, remaining, frozen in stored:
                self.store(key, sleep, remaining, frozen)
        finally:
            self.journal = journal

    def freeze(self, summary: Summary) -> Frozen:
        parts = frozenset(summary.events)
        frozen = self._interned.get(parts)
        if frozen is None:
            if self.max_bytes is not None and self._interned_bytes > self.max_bytes // 2:
                # Entries keep the summaries they hold; only the sharing restarts.
                self._bytes -= self._interned_bytes
                self._interned.clear()
                self._interned_bytes = 0
            frozen = self._interned[parts] = tuple(summary.events.values())
            size = _EVENT_BYTES * len(frozen) + _ENTRY_BYTES
            self._interned_bytes += size
            self._bytes += size
        return frozen

    def _key_size(self, key: object) -> int:
        self._stores += 1
        if self._sampled == 0 or self._stores % self.SAMPLE_EVERY == 0:
            self._sampled += 1
            self._key_mean += (deep_size(key) - self._key_mean) / self._sampled
        return int(self._key_mean)

    def _evict(self) -> None:
        """Drop the least recently used states until a tenth of the budget is free."""
        assert self.max_bytes is not None
        target = self.max_bytes * 9 // 10
        per_key = int(self._key_mean)
        while self._entries and self._bytes > target:
            _, entries = self._entries.popitem(last=False)
            self._bytes -= per_key + _ENTRY_BYTES * len(entries)
            self.evicted += 1


#: Rough sizes (CPython, 64-bit): an entry's tuple and list slot; one summarised
#: event (its tuple; footprints are shared with the runs' events).
_ENTRY_BYTES = 120
_EVENT_BYTES = 80


def deep_size(obj: object, seen: set[int] | None = None) -> int:
    """The bytes of ``obj`` and the containers and values it holds (each counted once)."""
    seen = set() if seen is None else seen
    if id(obj) in seen:
        return 0
    seen.add(id(obj))
    size = sys.getsizeof(obj)
    if isinstance(obj, (tuple, list, frozenset, set)):
        size += sum(deep_size(item, seen) for item in obj)
    elif isinstance(obj, dict):
        size += sum(deep_size(k, seen) + deep_size(v, seen) for k, v in obj.items())
    return size


class Node(Protocol):
    """What :func:`reverse_below` needs of a scheduling point of the current run."""

    tid: int
    enabled: list[int]
    backtrack: set[int]
    sleep: dict[int, Footprint]
    summary: Summary | None


def reverse_below(hb: HappensBefore, stack: Sequence[Node], frozen: Frozen) -> None:
    """Reverse every race the current run may have with the events below a cached
    state, then add them to the summary of the run's last scheduling point."""
    indices: set[int] = set()
    for tid, fp, lock in frozen:
        indices.update(race.index for race in hb.probe(tid, fp, lock))
    below = {tid for tid, _, _ in frozen}
    for index in sorted(indices):
        node = stack[index]
        initials = hb.stack_initials(index)
        if any(q in node.backtrack or q in node.sleep for q in initials):
            continue
        enabled = [q for q in initials if q in node.enabled]
        if enabled:
            node.backtrack.add(enabled[0])
        elif initials:  # not expected: an initial of the prefix part is enabled
            _fallback(node, below)
        else:
            # Every later event of the run happens after e: so does everything
            # their threads do below the cached state.
            _fallback(node, below - {ev.tid for ev in hb.events[index + 1 :]})
    summary = stack[-1].summary
    assert summary is not None
    summary.merge(frozen)


def _fallback(node: Node, below: set[int]) -> None:
    """The reversal lies wholly below the cached state: any enabled thread with an
    event there that may not happen after the racing event, other than the racing
    event's own, may start it."""
    node.backtrack.update(q for q in below if q != node.tid and q in node.enabled)
