"""A Hypothesis state machine over zswap operations and steps, properties as invariants.

Where :mod:`zmodel.explore.hypothesis_engine` draws a whole scenario and then a
schedule, this machine interleaves the two, the way a test writer thinks:
"thread 1 stores slot 1; thread 2 starts a writeback and runs three steps;
thread 1 frees slot 1; everybody runs to the end".  Its rules are

* ``start(thread, op)``: give a thread one more operation;
* ``step(thread, steps, outcome)``: run a number of steps of a thread (each
  of the next thread that can move, cyclically, if it cannot), with that
  outcome at choice points;
* ``run_to_end(thread)``: let a thread run until it finishes or blocks;

and its invariants are the properties: a violation raised inside a step (use
after free, BUG_ON, stale data at a load) fails the rule, and at every
quiescent point the end-state properties (leak, data, locks) and deadlock are
checked.  At teardown every thread runs to the end and the end state is
checked once more, so an example that stops mid-operation still counts.

Every run maps onto an ordinary scenario and schedule.  Thread ids are given
in the order threads receive their first operation, so adding an operation
never renumbers a thread; the machine's program at any moment is the scenario
of the operations given so far (no setup), and its steps so far are a
schedule of that scenario.  When an operation is added, the program is rebuilt
and the schedule replayed (an added operation only lets a thread continue
where it used to finish, so the replay stays valid).  A violation is therefore
reported as a :class:`~zmodel.explore.result.Found` of a plain scenario,
replayed by :mod:`zmodel.explore.replay`, and saved and replayed like any
other counterexample.

Operations obey :func:`zmodel.zswap.strategies.well_formed` (a free only of a
slot its thread holds, and so on); a ``start`` that would break it does
nothing.  Violations that ``interesting`` rejects (a design's known ones)
halt the example quietly instead of failing it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import hypothesis
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    rule,
    run_state_machine_as_test,
)

from zmodel.explore.hypothesis_engine import DEFAULT_PROFILE, candidates, profile_settings
from zmodel.explore.program import Program
from zmodel.explore.replay import replay
from zmodel.explore.result import Choice, Found
from zmodel.runtime import Executor, Violation
from zmodel.zswap.scenario import Op, Scenario
from zmodel.zswap.strategies import KINDS, VALUES, may_fail_dup, ops, well_formed

Build = Callable[[Scenario], Program]
MAX_STEPS = 400


class MachineFailure(Exception):  # noqa: N818 - carries the counterexample out of Hypothesis
    def __init__(self, scenario: Scenario, found: Found) -> None:
        super().__init__(f"{found.prop}: {found.message} in {scenario.text}")
        self.scenario = scenario
        self.found = found


@dataclass
class MachineResult:
    scenario: Scenario | None
    found: Found | None
    examples: int


def machine_class(
    build: Build,
    *,
    interesting: Callable[[str], bool] | None = None,
    threads: int = 3,
    slots: tuple[int, ...] = (1, 2),
    values: tuple[str, ...] = VALUES,
    max_ops: int = 6,
    counter: list[int] | None = None,
    failed_dups: bool = True,
) -> type[RuleBasedStateMachine]:
    """A state machine class checking ``build``'s programs (one per design).

    ``failed_dups=False`` refuses operations that make the scenario one where a
    duplicate store may fail (:func:`~zmodel.zswap.strategies.may_fail_dup`).
    """
    op_strategy = st.one_of([ops(kind, slots, values) for kind in KINDS])
    thread_ids = st.integers(0, threads - 1)

    class ZswapMachine(RuleBasedStateMachine):
        def __init__(self) -> None:
            super().__init__()
            if counter is not None:
                counter[0] += 1
            self.ops: list[list[Op]] = [[] for _ in range(threads)]
            self.order: list[int] = []  # machine threads by first operation: tid = index + 1
            self.options: tuple[tuple[str, Any], ...] = ()
            self.schedule: list[Choice] = []
            self.ex: Executor | None = None
            self.halted = False

        # -- the program so far ------------------------------------------------
        def scenario(self) -> Scenario:
            return Scenario((), tuple(tuple(self.ops[m]) for m in self.order), self.options)

        def fail_or_halt(self, v: Violation) -> None:
            self.halted = True
            if interesting is not None and not interesting(v.prop):
                return  # a known violation: this example says nothing new
            scenario = self.scenario()
            rep = replay(build(scenario), self.schedule)
            if rep.violation is None:
                raise RuntimeError(f"machine run did not replay: {rep.diverged}")
            raise MachineFailure(scenario, rep.violation)

        def run_step(self, tid: int, outcome: int) -> None:
            assert self.ex is not None
            self.schedule.append((tid, outcome))
            try:
                self.ex.step(tid, outcome)
            except Violation as v:
                self.fail_or_halt(v)

        # -- rules ---------------------------------------------------------------
        @initialize(
            alloc_failures=st.booleans(),
            pool_pages=st.none() | st.integers(0, 2),
        )
        def configure(self, alloc_failures: bool, pool_pages: int | None) -> None:
            chosen: dict[str, Any] = {}
            if alloc_failures:
                chosen["alloc_failures"] = True
            if pool_pages is not None:
                chosen["pool_pages"] = pool_pages
            self.options = tuple(sorted(chosen.items()))

        @rule(thread=thread_ids, op=op_strategy)
        def start(self, thread: int, op: Op) -> None:
            if self.halted or sum(map(len, self.ops)) >= max_ops:
                return
            if op.kind == "swapoff" and dict(self.options).get("alloc_failures"):
                return  # see zmodel.zswap.strategies: the model cannot fail swapoff
            trial = [list(o) for o in self.ops]
            trial[thread].append(op)
            if well_formed([], trial) != trial:
                return
            kinds = {o.kind for ops_ in trial for o in ops_}
            if "free" in kinds and "swapoff" in kinds:
                return
            trial_scenario = Scenario((), tuple(tuple(t) for t in trial if t), self.options)
            if not failed_dups and may_fail_dup(trial_scenario):
                return
            old_ops, old_order = self.ops, list(self.order)
            self.ops = trial
            if thread not in self.order:
                self.order.append(thread)
            ex = build(self.scenario())()
            if not self.replays_past(ex):
                self.ops, self.order = old_ops, old_order  # the operation would rewrite history
                return
            self.ex = ex

        def replays_past(self, ex: Executor) -> bool:
            """Run the schedule so far on ``ex``; whether it does what it did before.

            It usually does: an added operation only lets a thread continue where
            it used to finish.  A new slot can change a ``swapoff`` in progress
            (it walks every slot), and then the operation is refused.
            """
            before = self.ex.trace if self.ex is not None else []
            for (tid, outcome), old in zip(self.schedule, before, strict=True):
                if not ex.is_enabled(tid) or ex.outcomes(tid) <= outcome:
                    return False
                try:
                    step = ex.step(tid, outcome)
                except Violation:
                    return False
                if step.label != old.label:
                    return False
            return True

        @rule(thread=thread_ids, steps=st.integers(1, 40), outcome=st.integers(0, 2))
        def step(self, thread: int, steps: int, outcome: int) -> None:
            # Several steps per rule: a race window is often dozens of steps into
            # a path, out of reach of one-step rules at 50 rules per example.
            for _ in range(steps):
                ex = self.ex
                if self.halted or ex is None or len(self.schedule) >= MAX_STEPS:
                    return
                enabled = ex.enabled()
                if not enabled:
                    return
                tid = self.tid(thread)
                if tid not in enabled:
                    tid = candidates(tid, enabled)[0] if tid is not None else enabled[0]
                self.run_step(tid, outcome % ex.outcomes(tid))

        @rule(thread=thread_ids)
        def run_to_end(self, thread: int) -> None:
            tid = self.tid(thread)
            while (
                not self.halted
                and self.ex is not None
                and tid is not None
                and len(self.schedule) < MAX_STEPS
                and self.ex.is_enabled(tid)
            ):
                self.run_step(tid, 0)

        def tid(self, thread: int) -> int | None:
            return self.order.index(thread) + 1 if thread in self.order else None

        # -- properties ----------------------------------------------------------
        @invariant()
        def quiescent_properties(self) -> None:
            ex = self.ex
            if self.halted or ex is None:
                return
            try:
                if ex.finished():
                    ex.check_end()
                elif not ex.enabled():
                    ex.check_deadlock()
            except Violation as v:
                self.fail_or_halt(v)

        def teardown(self) -> None:
            # Finish every operation (the current thread keeps running, as in
            # the relative encoding's default) and check the end state.
            ex = self.ex
            while not self.halted and ex is not None and len(self.schedule) < MAX_STEPS:
                enabled = ex.enabled()
                if not enabled:
                    break
                last = self.schedule[-1][0] if self.schedule else None
                self.run_step(candidates(last, enabled)[0], 0)
            self.quiescent_properties()

    return ZswapMachine


def run_machine(
    build: Build,
    *,
    interesting: Callable[[str], bool] | None = None,
    profile: str = DEFAULT_PROFILE,
    seed: int | None = None,
    max_examples: int | None = None,
    threads: int = 3,
    failed_dups: bool = True,
) -> MachineResult:
    """Run the state machine under a profile; return the shrunk failure, if any."""
    counter = [0]
    cls = machine_class(
        build, interesting=interesting, threads=threads, counter=counter, failed_dups=failed_dups
    )
    conf = profile_settings(profile)
    if max_examples is not None:
        conf = hypothesis.settings(conf, max_examples=max_examples)
    if seed is not None:
        conf = hypothesis.settings(conf, derandomize=False)

    def factory() -> RuleBasedStateMachine:
        return cls()

    if seed is not None:
        factory = hypothesis.seed(seed)(factory)
    try:
        # A factory function is documented to work (and carries the seed); the
        # annotation only admits the class.
        run_state_machine_as_test(factory, settings=conf)  # type: ignore[arg-type]
    except MachineFailure as failure:
        return MachineResult(failure.scenario, failure.found, counter[0])
    return MachineResult(None, None, counter[0])


__all__ = ["MachineFailure", "MachineResult", "machine_class", "run_machine"]
