"""The zswap pools of 6.8 and later: their reference count, the current pool, release, switch.

A ``zswap_pool`` (mm/zswap.c, 6.12 and 6.13) is a zpool plus the per-CPU
compression contexts, on the RCU list ``zswap_pools`` whose head is the current
pool.  Its ``percpu_ref`` starts at one, the reference of being current; each
entry holds one (``entry->pool``, put by ``zswap_entry_free``), and so does a
store while it runs (6.13).  ``zswap_pool_current_get`` is ``rcu_read_lock``;
the list head; ``percpu_ref_tryget`` (fails only at zero).

Switching (``pool_switch``: writing ``zswap.compressor`` or ``zswap.zpool`` at
run time, ``__zswap_param_set``): ``zswap_pool_create`` makes a new pool
(``cpuhp_state_add_instance`` prepares its context on every online CPU), the
new pool goes to the head of the list, and ``percpu_ref_kill`` drops the old
pool's initial reference.  When a pool's count reaches zero,
``__zswap_pool_empty`` takes it off the list and schedules
``__zswap_pool_release``: ``synchronize_rcu``, then ``zswap_pool_destroy``
(``cpuhp_state_remove_instance``, which runs ``zswap_cpu_comp_dead`` on every
online CPU; ``free_percpu``; ``zpool_destroy_pool``; ``kfree``).

Simplifications: the RCU read side of ``zswap_pool_current_get`` is one step,
so ``synchronize_rcu`` has no reader to wait for; the release work runs in the
thread whose put reached zero, right after it (a kworker would run it later:
later only adds room for the pool to be unused longer); a switch always makes a
new pool (``zswap_pool_find_get`` reusing an old pool of the same parameters is
not modelled); the switch's ``zswap_init_lock`` and ``param_set_charp`` are left
out (one switch at a time is what the scenarios run).

6.8 (``kref=True``) differs in three ways, all in mm/zswap.c of 6.8.1: the count
is a ``kref`` (``kref_get_unless_zero`` fails only at zero, as the percpu_ref's
tryget does, so the counting is the same), the switch drops the old pool's
reference with ``zswap_pool_put(put_pool)``, and each pool owns its
``list_lru`` (``list_lru_init_memcg(&pool->list_lru)``; 6.9 made the lru one
global ``zswap_list_lru``), destroyed with the pool.  6.8 also has
``zswap_pool_last_get`` (the oldest pool on the list), which the shrink work
a rejected store queues holds (``pool->shrink_work``).
"""

from __future__ import annotations

from zmodel.runtime import Acquire, Call, Choose, Heap, MemObject, Release, Steps, Violation
from zmodel.runtime.faults import BUG_ON
from zmodel.zswap import list_lru, zpool
from zmodel.zswap.acomp_ctx import AcompCtxs


class ZswapPools:
    """The pool list, its current pool, and each pool's reference count."""

    __shared_world__ = True

    def __init__(
        self,
        heap: Heap,
        ctxs: AcompCtxs | None,
        may_fail: bool,
        lru: MemObject | None,
        *,
        kref: bool = False,
    ) -> None:
        """``lru``: the one global list_lru (6.9+), or None for a list_lru per pool (6.8);
        ``kref``: 6.8's kref instead of the percpu_ref (labels only, see above)."""
        self.heap = heap
        self.ctxs = ctxs
        self.may_fail = may_fail
        self.lru = lru
        self.kref = kref
        self.pools: list[MemObject] = []  # every pool ever made, in order (the list is on_list)
        first = self._new_pool(filled=True)
        self.head = heap.alloc("zswap_pools", {"current": first, "lock": None}, root=True)

    # -- references ----------------------------------------------------------------
    def current_get(self) -> MemObject | None:
        """zswap_pool_current_get, as one step (inside a Call)."""
        pool: MemObject = self.heap.get(self.head, "current")
        ref = self.heap.get(pool, "ref")
        if not ref:
            return None
        self.heap.set(pool, "ref", ref + 1)
        return pool

    def last_get(self) -> MemObject | None:
        """zswap_pool_last_get (6.8), as one step: the oldest pool on the list, or None."""
        listed = [p for p in self.pools if not p.freed and self.heap.get(p, "on_list")]
        if not listed:
            return None
        pool = listed[0]  # list_add_rcu puts a new pool at the head: the last is the oldest
        ref = self.heap.get(pool, "ref")
        if not ref:
            return None
        self.heap.set(pool, "ref", ref + 1)
        return pool

    def get(self, pool: MemObject) -> None:
        """zswap_pool_get on a pool the caller holds a reference to (one step)."""
        self.heap.set(pool, "ref", self.heap.get(pool, "ref") + 1)

    def drop(self, pool: MemObject) -> bool:
        """percpu_ref_put as one step: True if the count reached zero."""
        ref = self.heap.get(pool, "ref") - 1
        if ref < 0:
            raise Violation(BUG_ON, f"{pool!r}: percpu_ref_put below zero")
        self.heap.set(pool, "ref", ref)
        return bool(ref == 0)

    def released(self, pool: MemObject, who: str) -> Steps:
        """__zswap_pool_empty, then the release work (see the module docstring)."""
        yield Acquire(
            self.head, "lock", f"{who}: __zswap_pool_empty: spin_lock_bh(&zswap_pools_lock)"
        )
        yield Call(
            f"{who}: __zswap_pool_empty: WARN_ON(pool == current); list_del_rcu",
            self._unlist,
            pool,
        )
        yield Release(self.head, "lock", f"{who}: __zswap_pool_empty: spin_unlock_bh")
        who = f"{who}: __zswap_pool_release (synchronize_rcu) -> zswap_pool_destroy"
        if self.ctxs is not None:
            yield from self.ctxs.cpus.hotplug_lock(f"{who}: cpuhp_state_remove_instance")
            online = yield Call(f"{who}: for_each_online_cpu", self.ctxs.cpus.online)
            for cpu in online:
                yield from self.ctxs.dead(pool, cpu, f"{who}: cpuhp teardown")
            yield Call(f"{who}: cpuhp_state_remove_instance", self.heap.set, pool, "cpuhp", False)
            yield from self.ctxs.cpus.hotplug_unlock(f"{who}: cpuhp_state_remove_instance")
        yield Call(f"{who}: free_percpu; zpool_destroy_pool; kfree(pool)", self._destroy, pool)

    def release_if(self, pool: MemObject | None, who: str) -> Steps:
        """The release, if a put (done in the caller's step) returned the pool at zero."""
        if pool is not None:
            yield from self.released(pool, who)

    def put(self, pool: MemObject, who: str) -> Steps:
        """zswap_pool_put (a step of its own)."""
        if (yield Call(f"{who}: zswap_pool_put", self.drop, pool)):
            yield from self.released(pool, who)

    # -- pool_switch -----------------------------------------------------------------
    def switch(self) -> Steps:
        """__zswap_param_set with a new compressor: a new current pool, the old one killed."""
        who = "__zswap_param_set"
        if self.may_fail:
            ok = yield Choose(f"{who}: zswap_pool_create: kzalloc(pool)", (True, False))
            if not ok:
                return  # -EINVAL: the current pool stays
        pool = yield Call(
            f"{who}: zswap_pool_create: kzalloc; zpool_create_pool; alloc_percpu",
            self._new_pool,
            False,
        )
        if self.ctxs is not None:
            cpus = self.ctxs.cpus
            yield from cpus.hotplug_lock(f"{who}: cpuhp_state_add_instance")
            online = yield Call(f"{who}: cpuhp_state_add_instance: online CPUs", cpus.online)
            for cpu in online:
                ok = yield from self.ctxs.prepare(pool, cpu, f"{who}: cpuhp_state_add_instance")
                if not ok:
                    yield from cpus.hotplug_unlock(f"{who}: cpuhp_state_add_instance")
                    yield Call(f"{who}: zswap_pool_create: error", self._destroy, pool)
                    return
            yield Call(
                f"{who}: cpuhp_state_add_instance: added", self.heap.set, pool, "cpuhp", True
            )
            yield from cpus.hotplug_unlock(f"{who}: cpuhp_state_add_instance")
        yield Acquire(self.head, "lock", f"{who}: spin_lock_bh(&zswap_pools_lock)")
        old = yield Call(
            f"{who}: put_pool = zswap_pool_current(); list_add_rcu(&pool->list)",
            self._publish,
            pool,
        )
        yield Release(self.head, "lock", f"{who}: spin_unlock_bh(&zswap_pools_lock)")
        kill = "zswap_pool_put(put_pool)" if self.kref else "percpu_ref_kill(&put_pool->ref)"
        if (yield Call(f"{who}: {kill}", self.drop, old)):
            yield from self.released(old, who)

    # -- single steps ----------------------------------------------------------------
    def _new_pool(self, filled: bool) -> MemObject:
        pool = self.heap.alloc(
            "zswap_pool",
            {
                "zpool": zpool.create(self.heap),
                "ref": 1,
                "on_list": True,
                "list_lru": list_lru.create(self.heap) if self.lru is None else self.lru,
                "cpuhp": filled,  # on CPUHP_MM_ZSWP_POOL_PREPARE's instance list
                **({"shrink_work": False} if self.kref else {}),  # 6.8: WORK_STRUCT_PENDING
            },
            root=True,
        )
        if self.ctxs is not None:
            self.ctxs.create(pool, filled=filled)
        self.pools.append(pool)
        return pool

    def _publish(self, pool: MemObject) -> MemObject:
        old: MemObject = self.heap.get(self.head, "current")
        self.heap.set(self.head, "current", pool)
        return old

    def _unlist(self, pool: MemObject) -> None:
        if self.heap.get(self.head, "current") is pool:
            raise Violation(BUG_ON, "__zswap_pool_empty: WARN_ON(pool == zswap_pool_current())")
        self.heap.set(pool, "on_list", False)

    def _destroy(self, pool: MemObject) -> None:
        heap = self.heap
        if self.ctxs is not None:
            for cpu in range(self.ctxs.cpus.n):
                heap.free(heap.get(pool, f"acomp_ctx{cpu}"), "free_percpu(pool->acomp_ctx)")
        if self.lru is None:  # 6.8: list_lru_destroy(&pool->list_lru)
            heap.free(heap.get(pool, "list_lru"), "list_lru_destroy")
        heap.free(heap.get(pool, "zpool"), "zpool_destroy_pool")
        heap.set(pool, "on_list", False)
        heap.free(pool, "kfree(pool)")

    def instances(self) -> tuple[MemObject, ...]:
        """The pools on the cpuhp instance list (a step's read)."""
        return tuple(p for p in self.pools if not p.freed and self.heap.get(p, "cpuhp"))

    def total_pages(self) -> int:
        """zswap_total_pages (6.12): the pages of every pool on the list (in a step)."""
        heap = self.heap
        return sum(
            zpool.total_pages(heap, heap.get(p, "zpool"))
            for p in self.pools
            if not p.freed and heap.get(p, "on_list")
        )
