"""A search leaves no cyclic garbage: every run's objects die by reference counting.

Reference cycles in a run's object graph (a design and its swap layer, an
observer closure and its executor, kernel objects pointing at each other) made
every run garbage that only CPython's cyclic collector frees, at a third of a
search's CPU (zmodel/explore/collector.py).  These tests run searches with the
collector disabled and count what a collection then finds unreachable.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest

from zmodel.explore import collector, explore
from zmodel.harness import build_program
from zmodel.properties.lock_order import LockOrder
from zmodel.runtime import Executor
from zmodel.zswap.designs import REGISTRY, Design, resolve_design
from zmodel.zswap.scenario import parse_scenario


@contextmanager
def unreachable() -> Iterator[list[Any]]:
    """Collect first, run the block with the collector off, then list what the block
    left unreachable."""
    found: list[Any] = []
    gc.collect()
    gc.disable()
    try:
        yield found
    finally:
        gc.set_debug(gc.DEBUG_SAVEALL)
        gc.collect()
        found.extend(gc.garbage)
        gc.garbage.clear()
        gc.set_debug(0)
        gc.enable()


def kinds(objects: list[Any]) -> list[str]:
    return sorted({type(o).__qualname__ for o in objects})


def search(design: type[Design], text: str, engine: str, **options: Any) -> None:
    explore(build_program(design, parse_scenario(text)), engine, time_limit=0.2, **options)


@pytest.mark.parametrize("name", sorted(REGISTRY))
@pytest.mark.parametrize("engine", ["dpor", "odpor", "dfs"])
def test_a_search_of_every_design_leaves_no_cycles(name: str, engine: str) -> None:
    design = REGISTRY[name]
    for _, text in design.suite[:3]:
        with unreachable() as left:
            search(design, text, engine, all_violations=True)
        assert not left, f"{name} {text!r}: {len(left)} objects in cycles: {kinds(left)}"


def test_the_default_engine_with_a_lock_order_observer_leaves_no_cycles() -> None:
    design = resolve_design("zswap-3.11")
    text = "store 1 A; store 2 B :: writeback | load 2 | free 1"
    with unreachable() as left:
        explore(
            build_program(design, parse_scenario(text), observe=[LockOrder()]),
            None,
            time_limit=0.3,
        )
    assert not left, kinds(left)


class _Cyclic(REGISTRY["zswap-3.11"]):  # type: ignore[misc,valid-type]
    """A design whose every run makes a cycle of its own: what the tests must see."""

    name = "cyclic-3.11"

    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        self.me = self


def test_a_design_that_makes_cycles_is_seen() -> None:
    with unreachable() as left:
        search(_Cyclic, "store 1 A :: writeback | free 1", "dpor")
    assert "_Cyclic" in kinds(left)


def test_a_search_freezes_what_survives_a_slow_collection_and_thaws_it_at_its_end(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # collector.py: while a search runs, a full collection slower than
    # SLOW_COLLECTION freezes its survivors; the search's end thaws them.
    monkeypatch.setattr(collector, "SLOW_COLLECTION", 0.0)  # every one is slow
    frozen: list[int] = []

    def collect(ex: object) -> None:
        if not frozen:
            gc.collect()
            frozen.append(gc.get_freeze_count())

    gc.unfreeze()
    program = build_program(
        REGISTRY["zswap-3.11"], parse_scenario("store 1 A :: writeback | free 1")
    )
    explore(program, "dpor", on_end=collect)
    assert frozen and frozen[0] > 0
    assert gc.get_freeze_count() == 0


def test_a_process_that_froze_objects_of_its_own_keeps_them_frozen(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(collector, "SLOW_COLLECTION", 0.0)
    gc.unfreeze()
    gc.freeze()  # the host's own freeze
    try:
        mine = gc.get_freeze_count()
        assert mine > 0
        program = build_program(
            REGISTRY["zswap-3.11"], parse_scenario("store 1 A :: writeback | free 1")
        )
        explore(program, "dpor", on_end=lambda ex: gc.collect())
        assert 0 < gc.get_freeze_count() <= mine  # nothing thawed, nothing more frozen
    finally:
        gc.unfreeze()


def _collector_states(design: type[Design], engine: str, text: str) -> dict[int, bool]:
    """Per run that reached an end (numbered from 1, cut runs too), whether the
    collector was enabled there, in a search of ``text``."""
    seen: dict[int, bool] = {}

    def note(ex: object) -> None:
        seen[collector._runs + 1] = gc.isenabled()  # the runs the loop reported, before this

    explore(build_program(design, parse_scenario(text)), engine, all_violations=True, on_end=note)
    return seen


def test_a_search_whose_model_makes_no_cycles_runs_without_the_collector() -> None:
    # collector.py: off from the first run; every probe finds nothing, so it stays off
    # for the whole search, and is on again (nothing left frozen) once it ends.
    gc.unfreeze()
    seen = _collector_states(REGISTRY["zswap-3.11"], "dpor", "store 1 A :: writeback | store 1 B")
    assert max(seen) > collector.PROBE_RUNS**3  # past the third probe
    assert [run for run, on in seen.items() if on] == [1]
    assert gc.isenabled() and gc.get_freeze_count() == 0


def test_a_model_that_makes_cycles_gets_the_collector_back_at_the_first_probe() -> None:
    gc.unfreeze()
    seen = _collector_states(_Cyclic, "dpor", "store 1 A :: writeback | store 1 B")
    collects = 2 * collector.PROBE_RUNS  # the run after which the first probe collects
    assert max(seen) > collects
    assert all(on == (run == 1 or run > collects) for run, on in seen.items())
    assert gc.isenabled() and gc.get_freeze_count() == 0


def test_a_process_that_disabled_the_collector_keeps_it_disabled() -> None:
    gc.disable()
    try:
        seen = _collector_states(REGISTRY["zswap-3.11"], "dpor", "store 1 A :: writeback | free 1")
        assert seen and not any(seen.values())
        assert not gc.isenabled()
    finally:
        gc.enable()


@pytest.mark.parametrize("engine", ["random", "pct"])
def test_an_engine_outside_the_run_loop_keeps_the_collector_on(engine: str) -> None:
    program = build_program(
        REGISTRY["zswap-3.11"], parse_scenario("store 1 A :: load 1 | writeback")
    )
    seen: list[bool] = []

    def noting() -> Executor:  # each run starts here: whether the collector is on
        seen.append(gc.isenabled())
        return program()

    explore(noting, engine, time_limit=0.2)
    assert len(seen) > 3 * collector.PROBE_RUNS and all(seen)


@contextmanager
def a_worker() -> Iterator[None]:
    """This process as a parallel search's worker (``collector.stay_frozen``), for a while."""
    # Through the module's functions, not monkeypatch: in the compiled build a
    # module global set from Python is not the one the compiled code reads.
    gc.unfreeze()
    gc.enable()  # the precondition, whatever an earlier test in this process left
    collector.stay_frozen()
    try:
        yield
    finally:
        collector.stay_frozen(False)
        gc.enable()
        gc.unfreeze()


def test_a_worker_keeps_the_collector_off_between_its_searches() -> None:
    # collector.py: a worker's units are searches of their own; between them (the
    # unpickling of shipped entries, the next prefix replay) the collector stays off,
    # and the next search's runs count towards the same probes.
    design = REGISTRY["zswap-3.11"]
    with a_worker():
        first = _collector_states(design, "dpor", "store 1 A :: writeback | free 1")
        assert [run for run, on in first.items() if on] == [1]
        assert not gc.isenabled()
        runs = collector._runs
        second = _collector_states(design, "dpor", "store 1 A :: load 1 | writeback")
        # On again only until the search's first run ends.
        assert [run for run, on in second.items() if on] == [min(second)]
        assert min(second) == runs + 1  # counted on from the first search's runs


@pytest.mark.parametrize("engine", ["random", "pct"])
def test_a_worker_runs_an_engine_outside_the_run_loop_with_the_collector_on(engine: str) -> None:
    design = REGISTRY["zswap-3.11"]
    with a_worker():
        _collector_states(design, "dpor", "store 1 A :: writeback | free 1")
        assert not gc.isenabled()  # left off by the run loop's search
        program = build_program(design, parse_scenario("store 1 A :: load 1 | writeback"))
        seen: list[bool] = []

        def noting() -> Executor:
            seen.append(gc.isenabled())
            return program()

        explore(noting, engine, time_limit=0.2)
        assert len(seen) > 3 * collector.PROBE_RUNS and all(seen)


def test_a_worker_whose_model_makes_cycles_keeps_the_collector_on() -> None:
    with a_worker():
        seen = _collector_states(_Cyclic, "dpor", "store 1 A :: writeback | store 1 B")
        assert max(seen) > 2 * collector.PROBE_RUNS and seen[max(seen)]
        later = _collector_states(_Cyclic, "dpor", "store 1 A :: writeback | free 1")
        assert later and all(later.values())


@pytest.mark.parametrize("give_after", [None, 3])
def test_a_parallel_search_leaves_no_cycles(give_after: int | None) -> None:
    # The split's and the gifts' replays, the units, their results and the shipped
    # cache entries die by reference counting too: a worker runs with the collector
    # off (collector.stay_frozen).
    from zmodel.explore.engines import EngineOptions
    from zmodel.explore.inline_backend import InlineBackend
    from zmodel.explore.parallel import explore_parallel
    from zmodel.shipping import ScenarioSource

    source = ScenarioSource.of("zswap-3.11", "store 1 A; store 2 B :: writeback | load 2")
    with unreachable() as left:
        result = explore_parallel(
            source,
            InlineBackend(2, give_after=give_after, share=True),
            None,
            EngineOptions(all_violations=True),
        )
    assert result.exhaustive
    assert not left, kinds(left)


def test_a_run_loop_outside_any_search_leaves_the_collector_alone() -> None:
    # The compiled CI run's order: a worker's PCT search (on until a first run that
    # never came), then, out of worker mode, an engine called directly, whose run
    # loop is no search's; it had found the worker's stale schedule and disabled
    # the collector for the rest of the process.
    from zmodel.explore.dpor import explore_dpor

    design = REGISTRY["zswap-3.11"]
    with a_worker():
        _collector_states(design, "dpor", "store 1 A :: writeback | free 1")
        explore(build_program(design, parse_scenario("store 1 A :: load 1")), "pct", time_limit=0.1)
    assert gc.isenabled()
    explore_dpor(build_program(design, parse_scenario("store 1 A :: writeback | free 1")))
    assert gc.isenabled()
