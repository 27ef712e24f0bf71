"""Hypothesis strategies for scenarios: operations over a few slots and versions.

Swarm testing (Groce, Zhang, Eide, Chen, Regehr, "Swarm testing", ISSTA 2012):
each scenario first draws which operation kinds its threads may use, then
draws operations only of those kinds.  A scenario without ``load`` is not a
rare corner of the distribution but a common one, and some races need a kind
to be absent (a ``load`` that re-reads a slot can mask a stale entry that a
later ``swapoff`` would expose); uniform mixtures bury those.  The kind set
shrinks too, so a failing scenario ends with only the kinds it needs.

Well-formedness.  A ``free`` is the last user dropping its reference, so the
swap layer reports a free of a slot not in use as a BUG_ON; a scenario that
frees what nobody holds is a wrong workload, not a kernel race.  So frees of a
slot are all in one thread (its owner, the first thread whose first free of
it follows a store of it or a setup store), each
one preceded, since the owner's previous free, by a store of the slot (or, for
the first, by a setup store); other frees are dropped.  Stores to a slot that
is freed are the owner's too: a store is a swap-out of the owner's page, and
another thread re-storing a slot whose last user is dropping it describes no
kernel workload (the model reports it as data loss).  ``free`` may meet
``swapoff``: try_to_unuse takes a slot away from its user, whose later free
then frees nothing, as in the kernel; and ``alloc_failures`` may meet it too
(a failed swapin allocation makes swapoff fail with -ENOMEM).  There is one
``swapoff``: the kernel's second swapoff of a device finds it gone (-EINVAL
under swap_lock), which the model's swapoff does not check.

The setup is stores only: it builds the state the threads race on, and any
other kind run sequentially before them adds nothing a thread cannot do.
Options: ``alloc_failures`` and ``pool_pages`` (including a full pool, which
makes writeback run); ``serialize`` stays on, because turning it off models a
swap layer the kernel does not have.  Everything shrinks towards fewer
threads, fewer operations, one slot, no options.
"""

from __future__ import annotations

import functools
from typing import Any

from hypothesis import assume
from hypothesis import strategies as st

from zmodel.zswap.scenario import OPTIONS, Op, OpKind, Scenario

KINDS: tuple[str, ...] = ("store", "load", "free", "writeback", "swapoff")
VALUES: tuple[str, ...] = ("A", "B", "C")


@functools.lru_cache(maxsize=256)
def ops(kind: str, slots: tuple[int, ...], values: tuple[str, ...]) -> st.SearchStrategy[Op]:
    """Operations of one kind over ``slots``, storing one of ``values``."""
    op_kind = OpKind(kind)
    if op_kind is OpKind.STORE:
        return st.builds(Op, st.just(op_kind), st.sampled_from(slots), st.sampled_from(values))
    if op_kind in (OpKind.LOAD, OpKind.FREE):
        return st.builds(Op, st.just(op_kind), st.sampled_from(slots))
    return st.just(Op(op_kind))


@functools.lru_cache(maxsize=256)
def _any_op(
    kinds: tuple[str, ...], slots: tuple[int, ...], values: tuple[str, ...]
) -> st.SearchStrategy[Op]:
    # Cached because building strategies costs more than drawing from them, and
    # a swarm has few distinct kind sets.
    return st.one_of([ops(kind, slots, values) for kind in kinds])


@st.composite
def scenarios(
    draw: st.DrawFn,
    *,
    max_threads: int = 3,
    max_ops: int = 2,
    max_setup: int = 2,
    slots: tuple[int, ...] = (1, 2),
    values: tuple[str, ...] = VALUES,
    kinds: tuple[str, ...] = KINDS,
    options: bool = True,
    failed_dups: bool = True,
    knobs: frozenset[str] = frozenset(),
) -> Scenario:
    """A scenario of 2..``max_threads`` threads of 1..``max_ops`` operations each.

    ``failed_dups=False`` keeps duplicate stores (a slot stored twice) away from
    the options that make a store fail (``pool_pages``, ``alloc_failures``); see
    :func:`may_fail_dup`.  ``knobs`` are the on/off options of the design's own
    mechanisms (``Design.knobs``: the slot cache, the bypass fault, exclusive
    loads), each drawn on or off.
    """
    swarm = sorted(draw(st.sets(st.sampled_from(kinds), min_size=1)), key=kinds.index)
    op = _any_op(tuple(swarm), slots, values)
    setup = draw(st.lists(ops("store", slots, values), max_size=max_setup))
    drawn = draw(
        st.lists(st.lists(op, min_size=1, max_size=max_ops), min_size=2, max_size=max_threads)
    )
    threads = [t for t in well_formed(setup, drawn) if t]
    assume(len(threads) >= 2)
    chosen: dict[str, Any] = {}
    if options:
        if draw(st.booleans()):
            chosen["alloc_failures"] = True
        pool = draw(st.none() | st.integers(0, 2))
        if pool is not None:
            chosen["pool_pages"] = pool
        for knob in sorted(knobs):
            if OPTIONS[knob].values == "on|off":
                if draw(st.booleans()):
                    chosen[knob] = True
            elif knob == "cpus" and draw(st.booleans()):
                chosen[knob] = 2  # two CPUs: a context can be shared and one can go
    scenario = Scenario(
        tuple(setup),
        tuple(tuple(ops_) for ops_ in threads),
        tuple(sorted(chosen.items())),
    )
    if not failed_dups and may_fail_dup(scenario):
        scenario = Scenario(scenario.setup, scenario.threads, ())
    return scenario


def may_fail_dup(scenario: Scenario) -> bool:
    """Whether a duplicate store of ``scenario`` may fail (a known swap-layer bug).

    3.11's ``__frontswap_store`` answers a failed duplicate store by clearing the
    frontswap bit only, leaving the superseded entry in zswap: a leak once the
    slot is freed, stale data if writeback writes it back, worse with swapoff.
    Every frontswap design inherits it.  A search for *other* bugs on such a
    design avoids it (conservatively: any slot stored twice, with an option
    that lets a store fail), instead of rediscovering it in every property.
    """
    stores = [
        op.slot for ops_ in (scenario.setup, *scenario.threads) for op in ops_ if op.kind == "store"
    ]
    dup = len(stores) != len(set(stores))
    fails = scenario.option("pool_pages") is not None or bool(scenario.option("alloc_failures"))
    return dup and fails


def well_formed(setup: list[Op], threads: list[list[Op]]) -> list[list[Op]]:
    """``threads`` without the frees (and stores) the workload cannot mean; see above."""
    held = {op.slot for op in setup if op.kind == "store"}
    # The owner of a slot: the first thread whose first free of it can be right.
    owner: dict[int, int] = {}
    for i, ops_ in enumerate(threads):
        stored = set(held)
        tried: set[int] = set()
        for op in ops_:
            if op.kind == "store" and op.slot is not None:
                stored.add(op.slot)
            elif op.kind == "free" and op.slot is not None and op.slot not in tried:
                tried.add(op.slot)
                if op.slot in stored:
                    owner.setdefault(op.slot, i)
    swapoffs = 0
    result: list[list[Op]] = []
    for i, ops_ in enumerate(threads):
        mine = set(held)  # slots this thread may free next: in use, and not freed by it since
        kept: list[Op] = []
        for op in ops_:
            if op.kind in ("store", "free") and op.slot is not None and owner.get(op.slot, i) != i:
                continue
            if op.kind == "swapoff":
                swapoffs += 1
                if swapoffs > 1:
                    continue
            if op.kind == "store":
                mine.add(op.slot)
            elif op.kind == "free":
                if op.slot not in mine:
                    continue
                mine.discard(op.slot)
            kept.append(op)
        result.append(kept)
    return result


__all__ = ["KINDS", "VALUES", "may_fail_dup", "ops", "scenarios", "well_formed"]
