"""CPUs, the tasks that run on them, and CPU hotplug (scenario option ``cpus=N``).

Without ``cpus=`` every thread is its own CPU and zswap's per-CPU compression
contexts are not modelled (each is used by one thread only, and no CPU goes
away): today's scenarios keep their meaning and their state space.  With
``cpus=N`` the model has N CPUs, all online at the start; the setup runs on
CPU 0 and thread i on CPU (i-1) mod N.  A task's CPU is a heap field, so a
step that reads it (``raw_cpu_ptr``) and a migration that writes it race in
the ordinary way.

Migration.  The kernel may move a preemptible task to another CPU at any
point; what matters to zswap is the window between ``raw_cpu_ptr`` and the
last use of the per-CPU context it returned.  A task takes a context with a
choice point first (``Choose`` among the online CPUs: the scheduler decides
where the task runs), and ``cpu_offline`` moves every task off the dying CPU,
which is the migration that CVE-2025-21693 needs.  (Migration between other
steps changes nothing any step reads.)

Hotplug, as ``_cpu_down`` / ``_cpu_up`` run it (kernel/cpu.c, 6.12), under
``cpus_write_lock`` (``cpu_hotplug_lock``):
- ``cpu_offline C``: ``sched_cpu_deactivate`` and ``migrate_tasks`` (every task
  on C moves to the first other online CPU), then, the CPU being dead, the
  teardown of the PREPARE-stage states on the control CPU, among them
  ``CPUHP_MM_ZSWP_POOL_PREPARE``: ``zswap_cpu_comp_dead(C)`` for every zswap
  pool.  The last online CPU cannot go (-EBUSY); an offline one is a no-op.
- ``cpu_online C``: ``zswap_cpu_comp_prepare(C)`` for every pool; if one fails
  the ones done are torn down again and C stays offline (cpuhp rollback);
  otherwise C is online (tasks move there only by migrating).

Simplifications: the cpuhp state machine is reduced to the states zswap has;
the cpu_hotplug_lock is one mutex (a pool's creation and destruction, which
take it as readers, are serialised with hotplug and with each other).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from zmodel.runtime import Acquire, Call, Choose, Heap, Release, Steps

if TYPE_CHECKING:
    from zmodel.zswap.designs.base import Design

MAX_CPUS = 4


class Cpus:
    """The online mask, each task's CPU, and the hotplug operations."""

    __shared_world__ = True

    def __init__(self, heap: Heap, n: int, tasks: int) -> None:
        self.heap = heap
        self.n = n
        self.state = heap.alloc(
            "cpus",
            {"hotplug_lock": None, **{f"online{c}": True for c in range(n)}},
            root=True,
        )
        self.tasks = [
            heap.alloc("task", {"cpu": 0 if t == 0 else (t - 1) % n}, root=True)
            for t in range(tasks)
        ]

    # -- what a task sees --------------------------------------------------------
    def online(self) -> tuple[int, ...]:
        """The online CPUs (one step's read of the mask)."""
        return tuple(c for c in range(self.n) if self.heap.get(self.state, f"online{c}"))

    def run_on(self, cpu: int) -> int:
        """The scheduler put the running task on ``cpu``; its CPU from now on."""
        task = self.tasks[self.heap.tid]
        if self.heap.get(task, "cpu") != cpu:
            self.heap.set(task, "cpu", cpu)
        return cpu

    def current(self) -> int:
        """smp_processor_id() of the running task."""
        cpu: int = self.heap.get(self.tasks[self.heap.tid], "cpu")
        return cpu

    def schedule(self, who: str) -> Steps:
        """A preemption point: the task may now run on any online CPU."""
        online = yield Call(f"{who}: (preemptible) online CPUs", self.online)
        cpu = yield Choose(f"{who}: the scheduler runs the task on a CPU", online)
        return cpu

    # -- hotplug -----------------------------------------------------------------
    def cpu_offline(self, cpu: int, design: Design) -> Steps:
        yield Acquire(self.state, "hotplug_lock", "cpu_down: cpus_write_lock")
        moved = yield Call(
            f"_cpu_down({cpu}): sched_cpu_deactivate; migrate_tasks (tasks leave CPU {cpu})",
            self._take_down,
            cpu,
        )
        if moved:
            yield from design.cpu_dead(cpu)  # CPUHP_MM_ZSWP_POOL_PREPARE teardown
        yield Release(self.state, "hotplug_lock", "cpu_down: cpus_write_unlock")

    def cpu_online(self, cpu: int, design: Design) -> Steps:
        yield Acquire(self.state, "hotplug_lock", "cpu_up: cpus_write_lock")
        offline = yield Call(f"_cpu_up({cpu}): cpu_online?", self._is_offline, cpu)
        if offline:
            ok = yield from design.cpu_prepare(cpu)  # CPUHP_MM_ZSWP_POOL_PREPARE startup
            if ok:
                yield Call(f"_cpu_up({cpu}): set_cpu_online", self._bring_up, cpu)
        yield Release(self.state, "hotplug_lock", "cpu_up: cpus_write_unlock")

    def hotplug_lock(self, who: str) -> Steps:
        """cpus_read_lock (cpuhp_state_add_instance / remove_instance)."""
        yield Acquire(self.state, "hotplug_lock", f"{who}: cpus_read_lock")

    def hotplug_unlock(self, who: str) -> Steps:
        yield Release(self.state, "hotplug_lock", f"{who}: cpus_read_unlock")

    # -- single steps ------------------------------------------------------------
    def _take_down(self, cpu: int) -> bool:
        """False: the CPU is offline already, or the last online one (-EBUSY)."""
        heap = self.heap
        if not heap.get(self.state, f"online{cpu}"):
            return False
        others = [c for c in range(self.n) if c != cpu and heap.get(self.state, f"online{c}")]
        if not others:
            return False
        heap.set(self.state, f"online{cpu}", False)
        for task in self.tasks:
            if heap.get(task, "cpu") == cpu:
                heap.set(task, "cpu", others[0])
        return True

    def _is_offline(self, cpu: int) -> bool:
        return not self.heap.get(self.state, f"online{cpu}")

    def _bring_up(self, cpu: int) -> None:
        self.heap.set(self.state, f"online{cpu}", True)
