"""The design interface: what a zswap version provides to the swap layer around it.

A design is a class.  The swap layer (zmodel.zswap.swap) calls its paths as
thread programs, exactly where the kernel calls zswap: ``store`` from
swap_writepage with the page locked, ``load`` from swap_readpage, ``invalidate_page``
when a slot's last use goes, ``invalidate_area`` at swapoff, and ``writeback`` for
one shrink attempt.  A variant subclasses a design and overrides one path, one
step (each step is a method or a small function) or one parameter.

The ``holds`` and ``offsets`` views are the checker's, not the kernel's: they read
state with ``heap.peek`` at quiescence and never record footprints.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

from zmodel.runtime import Heap, MemObject, Steps, Violation
from zmodel.zswap.faults import REFCOUNT
from zmodel.zswap.scenario import (
    CPU_OPS,
    OPTIONAL_OPS,
    UNIVERSAL_OPTIONS,
    OpKind,
    Scenario,
    ScenarioError,
)

if TYPE_CHECKING:
    from zmodel.zswap.swap import SwapLayer

__all__ = ["Design", "Steps"]


class Design:
    #: Registered name (``zswap-3.11``); variants get their own.
    name: ClassVar[str] = ""
    #: The kernel version the design transcribes.
    kernel: ClassVar[str] = ""
    description: ClassVar[str] = ""
    #: Whether the swap layer reaches zswap through frontswap (3.x) or directly (6.x).
    frontswap: ClassVar[bool] = True
    #: Whether swapoff reaches ``invalidate_area``: 3.11's swapoff clears the
    #: frontswap map first, so frontswap_invalidate_area returns at once
    #: (mm/swapfile.c, mm/frontswap.c of 3.11); 3.13 and later reach it.
    swapoff_invalidates_area: ClassVar[bool] = True
    #: 6.x: whether ``free_swap_slot`` calls zswap_invalidate before the slot is
    #: really freed (6.12; 0827a1fb143f, 6.9) or ``swap_range_free`` does (6.8).
    invalidate_in_free_swap_slot: ClassVar[bool] = False
    #: With ``swapcache_bypass=on``: whether do_swap_page pins the entry with
    #: swapcache_prepare before it bypasses the swap cache (13ddaf26be32, 6.8).
    swapcache_bypass_pin: ClassVar[bool] = True
    #: Inclusive range a refcount may take; None means unbounded on that side.
    refcount_range: ClassVar[tuple[int | None, int | None]] = (0, None)
    #: The default scenario suite: (name, scenario text).
    suite: ClassVar[tuple[tuple[str, str], ...]] = ()
    #: Per scenario name, the properties this design is known to violate there.
    expected: ClassVar[dict[str, frozenset[str]]] = {}
    #: Per scenario name, step labels some explored run must execute: the racy
    #: window the scenario exists for.  Without them a pass could be vacuous.
    reach: ClassVar[dict[str, tuple[str, ...]]] = {}
    #: Per operation kind, label prefixes of which some explored run must execute
    #: one whenever a scenario runs that operation in a concurrent thread: the
    #: part of the operation where it races.  A ``writeback`` that never reaches
    #: zswap_writeback_entry (6.12's second-chance LRU rotates a fresh entry
    #: instead) leaves a pass vacuous, whatever the scenario.
    op_reach: ClassVar[dict[str, tuple[str, ...]]] = {
        "writeback": ("zswap_writeback_entry",),
        "shrink": ("zswap_writeback_entry",),
    }
    #: Scenario options beyond the universal ones that this design has the kernel
    #: mechanism for; a scenario setting another is refused (``check_scenario``).
    knobs: ClassVar[frozenset[str]] = frozenset()
    #: Operations beyond the universal ones that this design's kernel has
    #: (``shrink``: a shrinker walking the LRU, 6.x).
    ops: ClassVar[frozenset[OpKind]] = frozenset()

    @classmethod
    def check_scenario(cls, scenario: Scenario) -> None:
        """Refuse an option for a mechanism this design's kernel does not have."""
        cpus = scenario.option("cpus")
        for op in (op for ops in (scenario.setup, *scenario.threads) for op in ops):
            if op.kind in OPTIONAL_OPS and op.kind not in cls.ops:
                raise ScenarioError(
                    f"{cls.name or cls.__name__} has no {op.kind.value!r} operation"
                    f" (Linux {cls.kernel or '?'})"
                )
            if op.kind in CPU_OPS and (cpus is None or op.cpu is None or op.cpu >= cpus):
                raise ScenarioError(f"{op}: needs the option cpus=N with N > {op.cpu}")
        for name, _ in scenario.options:
            if name not in UNIVERSAL_OPTIONS and name not in cls.knobs:
                raise ScenarioError(
                    f"{cls.name or cls.__name__} has no {name!r} mechanism"
                    f" (Linux {cls.kernel or '?'}); designs with it take the option"
                )

    __shared_world__ = True

    def __init__(self, heap: Heap, swap: SwapLayer, scenario: Scenario) -> None:
        self.heap = heap
        self.swap = swap
        self.scenario = scenario
        self.may_fail: bool = bool(scenario.option("alloc_failures"))
        #: Whether the scenario writes zswap.enabled; if not, it is constant (on)
        #: and the designs do not read it (a read of a constant is no step).
        self.toggles = any(
            op.kind in (OpKind.ZSWAP_OFF, OpKind.ZSWAP_ON)
            for ops in (scenario.setup, *scenario.threads)
            for op in ops
        )

    # -- paths (thread programs) --------------------------------------------
    def store(self, offset: int, page: MemObject) -> Steps:
        """Return True if zswap now holds the page's data."""
        raise NotImplementedError

    def load(self, offset: int, page: MemObject) -> Steps:
        """Return True if zswap filled the page."""
        raise NotImplementedError

    def invalidate_page(self, offset: int) -> Steps:
        raise NotImplementedError

    def invalidate_area(self) -> Steps:
        raise NotImplementedError

    def writeback(self) -> Steps:
        raise NotImplementedError

    def swapon(self) -> Steps:
        """zswap's per-type init at a swapon after swapoff (``Design.ops`` has SWAPON)."""
        raise NotImplementedError

    def cpu_dead(self, cpu: int) -> Steps:
        """zswap_cpu_comp_dead(cpu) for every pool (``cpu_offline``, ``Design.knobs`` has cpus)."""
        raise NotImplementedError

    def cpu_prepare(self, cpu: int) -> Steps:
        """zswap_cpu_comp_prepare(cpu) for every pool: False if it failed (``cpu_online``)."""
        raise NotImplementedError

    def pool_switch(self) -> Steps:
        """A new current pool at run time (``Design.ops`` has POOL_SWITCH)."""
        raise NotImplementedError

    def set_enabled(self, enabled: bool) -> Steps:
        """Write ``zswap.enabled`` at run time (``Design.ops`` has ZSWAP_OFF, ZSWAP_ON)."""
        raise NotImplementedError

    def shrink(self, items: int) -> Steps:
        """One shrinker call that walks up to ``items`` LRU items (``shrink N``).

        By default ``items`` passes of :meth:`writeback`, one item each: the walk
        drops and retakes the LRU lock between items, so an item is where the
        other threads may run.
        """
        for _ in range(items):
            yield from self.writeback()

    # -- the checker's views (peek only) ----------------------------------------
    def holds(self, offset: int) -> Any:
        """The data version a load of ``offset`` would get from zswap now, or None."""
        raise NotImplementedError

    def offsets(self) -> set[int]:
        """Offsets zswap holds an entry for."""
        raise NotImplementedError

    def roots(self) -> list[MemObject]:
        """Objects that keep zswap's allocations alive (for leak detection)."""
        raise NotImplementedError

    # -- shared helpers -----------------------------------------------------
    def set_refcount(self, entry: MemObject, value: int) -> None:
        """Write ``entry->refcount``, checking the range this design allows."""
        lo, hi = self.refcount_range
        self.heap.set(entry, "refcount", value)
        if (lo is not None and value < lo) or (hi is not None and value > hi):
            raise Violation(REFCOUNT, f"{entry!r} refcount {value} outside [{lo}, {hi}]")
