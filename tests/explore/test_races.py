"""The dependency relation and happens-before bookkeeping of the DPOR engine."""

from __future__ import annotations

from zmodel.explore.races import Footprint, HappensBefore, block_start, dependent
from zmodel.runtime import Location


def fp(
    reads: frozenset[Location] | set[Location] = frozenset(),
    writes: frozenset[Location] | set[Location] = frozenset(),
    halts: bool = False,
) -> Footprint:
    return Footprint(frozenset(reads), frozenset(writes), halts)


def test_reads_commute_and_writes_conflict() -> None:
    assert not dependent(fp({(1, "a")}), fp({(1, "a")}))
    assert dependent(fp(writes={(1, "a")}), fp({(1, "a")}))
    assert dependent(fp({(1, "a")}), fp(writes={(1, "a")}))
    assert dependent(fp(writes={(1, "a")}), fp(writes={(1, "a")}))
    assert not dependent(fp(writes={(1, "a")}), fp(writes={(1, "b")}, reads={(2, "a")}))


def test_whole_object_overlaps_every_field() -> None:
    free = fp(writes={(1, None)})
    assert dependent(free, fp({(1, "a")}))
    assert dependent(fp({(1, "b")}), free)
    assert dependent(free, fp(writes={(1, "lk")}))
    assert not dependent(free, fp({(2, "a")}))
    assert not dependent(fp({(1, None)}), fp({(1, "a")}))  # two reads still commute


def test_a_violating_step_is_dependent_with_everything() -> None:
    assert dependent(fp(halts=True), fp())
    assert dependent(fp({(3, "x")}), fp(halts=True))


def test_lock_operations_conflict() -> None:
    acquire = fp({(1, "lk")}, {(1, "lk")})
    failed_trylock = fp({(1, "lk")})
    assert dependent(acquire, acquire)
    assert dependent(acquire, failed_trylock)
    assert not dependent(failed_trylock, failed_trylock)


def test_races_skip_events_ordered_through_a_third() -> None:
    hb = HappensBefore(4)
    x = fp(writes={(1, "x")})
    y = fp(writes={(1, "y")})
    assert hb.push(0, x) == []  # the setup never races
    assert hb.push(1, x) == []
    [race] = hb.push(2, fp({(1, "x")}, {(1, "y")}))  # reads thread 1's x
    assert (race.index, race.tid, race.initials) == (1, 2, [2])
    # Thread 3 conflicts with both, but thread 1's write is ordered before
    # thread 2's step, so only the latter races with it.
    [race] = hb.push(3, fp(writes={(1, "x")} | {(1, "y")}))
    assert race.index == 2
    assert hb.probe(1, y)[0].index == 3


def test_initials_of_a_reversal() -> None:
    hb = HappensBefore(3)
    hb.push(1, fp(writes={(1, "x")}))  # e
    hb.push(2, fp(writes={(2, "z")}))  # independent of e: in notdep, starts v
    [race] = hb.push(2, fp({(1, "x")}))
    # v = (thread 2's z write).(thread 2's read): thread 2 starts it.
    assert (race.index, race.initials) == (0, [2])
    hb.truncate(1)
    assert len(hb) == 1 and hb.by_thread[2] == []


def test_block_start() -> None:
    assert block_start([0, 1, 1, 2, 2, 2], 5) == 3
    assert block_start([0, 1, 1, 2], 2) == 1
    assert block_start([1], 0) == 0
