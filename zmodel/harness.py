"""Binds a design and a scenario into a runnable program, and runs an engine on it.

This is where the layers meet: the zswap world (layer 2) and the properties
(layer 3) become a :data:`~zmodel.explore.Program` the engines (layer 4) can
explore.  Counterexamples and the CLI go through here.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from zmodel.explore import Program, Result
from zmodel.explore.engines import EngineOptions
from zmodel.explore.engines import run_engine as run_on_program
from zmodel.properties import check_end_state
from zmodel.runtime import Executor, Heap, Step, StepKind, StepObserver, ThreadProgram, Violation
from zmodel.zswap.designs import Design
from zmodel.zswap.scenario import Op, Scenario
from zmodel.zswap.swap import SwapLayer


class Watcher(Protocol):
    """Watches every run of a search: ``watch`` gives the observer of one run."""

    #: The observer needs only the lock steps (Acquire, TryAcquire, Release).
    locks_only: bool

    def watch(self, ex: Executor) -> StepObserver: ...


def thread_program(swap: SwapLayer, ops: tuple[Op, ...]) -> ThreadProgram:
    for i in range(len(ops)):
        yield from swap.run(ops[i])


def build_program(
    design_cls: type[Design],
    scenario: Scenario,
    coverage: set[str] | None = None,
    observe: Sequence[Watcher] = (),
) -> Program:
    """A zero-argument factory of fresh runs of ``scenario`` against the design.

    With ``coverage``, every run adds the labels of the steps it executes to it.
    Each of ``observe`` is given every new run and returns the observer of its
    steps (the lock-order graph, the state graph).  A scenario option for a
    mechanism the design lacks is a ScenarioError.
    """
    design_cls.check_scenario(scenario)

    def program() -> Executor:
        heap = Heap()
        heap.tid = -1
        swap = SwapLayer(heap, scenario)
        design = design_cls(heap, swap, scenario)
        swap.attach(design)
        threads = [("setup", thread_program(swap, scenario.setup))]
        threads += [
            (f"T{i + 1}", thread_program(swap, ops)) for i, ops in enumerate(scenario.threads)
        ]
        ex = Executor(
            heap,
            threads,
            end_check=lambda: check_end_state(heap, swap, design),
            coverage=coverage,
            coverage_from=1,  # the setup thread's steps open no racy window
        )
        if observe:
            ex.observer = _each([watcher.watch(ex) for watcher in observe])
            ex.observe_locks_only = all(watcher.locks_only for watcher in observe)
        return ex

    return program


def _each(observers: list[StepObserver]) -> StepObserver:
    if len(observers) == 1:
        return observers[0]

    def observe(step: Step, kind: StepKind, violation: Violation | None) -> None:
        for observer in observers:
            observer(step, kind, violation)

    return observe


def run_engine(
    design_cls: type[Design],
    scenario: Scenario,
    engine: str | None,
    opts: EngineOptions,
    coverage: set[str] | None = None,
    observe: Sequence[Watcher] = (),
) -> Result:
    """Run ``engine`` (None: the default) on ``scenario`` against the design."""
    return run_on_program(build_program(design_cls, scenario, coverage, observe), engine, opts)


def unreached(
    design_cls: type[Design], name: str | None, coverage: set[str], scenario: Scenario | None = None
) -> list[str]:
    """The reachability guard: labels the suite scenario ``name`` must execute in some
    explored run (``Design.reach``) that no run executed, and, for every operation
    of ``scenario``'s concurrent threads with a racy part (``Design.op_reach``),
    that part if no run reached it.  A pass with any of them unreached is vacuous:
    the racy window never opened."""
    missing = [label for label in design_cls.reach.get(name or "", ()) if label not in coverage]
    if scenario is not None:
        kinds = {op.kind for thread in scenario.threads for op in thread}
        for kind in sorted(kinds):
            prefixes = design_cls.op_reach.get(kind, ())
            if prefixes and not any(label.startswith(prefixes) for label in coverage):
                missing.append(f"{kind}: {' or '.join(prefixes)}")
    return missing
