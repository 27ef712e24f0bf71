"""zswap's per-CPU compression contexts (``struct crypto_acomp_ctx``) and their hotplug callbacks.

Each zswap pool has one context per CPU: a mutex, a scratch ``buffer`` (two
pages), the crypto transform ``acomp`` and its request ``req``.
``zswap_cpu_comp_prepare`` fills a CPU's context when the CPU comes up (or the
pool is created), ``zswap_cpu_comp_dead`` frees it when the CPU is dead (or the
pool destroyed).  ``zswap_compress`` and ``zswap_decompress`` use the context of
the CPU they run on.  How they take it is where versions differ:

- 6.12 (``SYNC_NONE``): ``acomp_ctx = raw_cpu_ptr(pool->acomp_ctx)``, then
  ``mutex_lock(&acomp_ctx->mutex)``.  The task is preemptible: after
  ``raw_cpu_ptr`` it can be migrated, its old CPU taken offline, and
  ``zswap_cpu_comp_dead`` (which takes no lock) frees ``req`` and ``buffer``
  under it: a use-after-free.  This is CVE-2025-21693.  ``prepare`` runs
  ``mutex_init`` and allocates with GFP_KERNEL, no lock held.
- 6.13 (``SYNC_MUTEX``, 12dcb0ef5406 "mm: zswap: properly synchronize freeing
  resources during CPU hotunplug", with 779b9955f643 "mm: zswap: move
  allocations during CPU init outside the lock"): ``acomp_ctx_get_cpu_lock``
  loops { ``raw_cpu_ptr``; ``mutex_lock``; return it if ``req`` is set, else
  unlock and retry on the CPU the task is on now }; ``zswap_cpu_comp_dead``
  holds the mutex while it frees and sets ``req = NULL``; ``prepare`` allocates
  first and publishes under the mutex (allocating under it could recurse into
  zswap through reclaim and deadlock).

Allocation under the context mutex could recurse into zswap through direct
reclaim and deadlock.  Neither version does it: ``zpool_malloc`` under the
mutex uses ``__GFP_NORETRY | __GFP_KSWAPD_RECLAIM`` (no direct reclaim), 6.12's
prepare holds no mutex, 6.13's allocates before taking it.  (12dcb0ef5406
alone allocated under it; 779b9955f643 fixed that before 6.13 shipped.)  So
the model has no such recursion to offer.

The objects ``acomp_buffer`` and ``acomp_req`` are heap objects, so a use after
``zswap_cpu_comp_dead`` is the heap's use-after-free.  Simplifications: the
transform ``acomp`` is folded into ``req`` (allocated and freed together); the
crypto wait is synchronous; ``is_sleepable`` and the zpool mapping mode do not
matter here (the buffer is always used).
"""

from __future__ import annotations

from collections.abc import Callable
from enum import Enum
from typing import Any

from zmodel.runtime import Acquire, Call, Choose, Heap, MemObject, Release, Steps, Violation
from zmodel.runtime.faults import BUG_ON
from zmodel.zswap.cpus import Cpus


class CtxSync(Enum):
    """How a version's compression path and hotplug callbacks synchronise."""

    NONE = "6.12: raw_cpu_ptr + mutex_lock; comp_dead frees without the mutex"
    MUTEX = "6.13: acomp_ctx_get_cpu_lock rechecks req under the mutex; comp_dead holds it"


class AcompCtxs:
    """The per-CPU contexts of the zswap pools, and the paths that take them."""

    __shared_world__ = True

    def __init__(self, heap: Heap, cpus: Cpus, sync: CtxSync, may_fail: bool) -> None:
        self.heap = heap
        self.cpus = cpus
        self.sync = sync
        self.may_fail = may_fail

    def create(self, pool: MemObject, *, filled: bool) -> None:
        """alloc_percpu: a context per possible CPU.  ``filled``: the pool made at
        init, with every CPU online, also gets what prepare would give each."""
        for cpu in range(self.cpus.n):
            ctx = self.heap.alloc("acomp_ctx", {"mutex": None, "buffer": None, "req": None})
            self.heap.set(pool, f"acomp_ctx{cpu}", ctx)
            if filled:
                self._fill(ctx, *self._allocate())

    # -- taking a context (zswap_compress / zswap_decompress) ----------------------
    def put(self, ctx: MemObject, who: str) -> Steps:
        yield Release(ctx, "mutex", f"{who}: mutex_unlock(&acomp_ctx->mutex)")

    def take(self, owner: MemObject, who: str) -> Steps:
        """This CPU's context of ``owner`` (a pool, or an entry: ``entry->pool``), locked."""
        while True:
            cpu = yield from self.cpus.schedule(who)
            ctx = yield Call(f"{who}: raw_cpu_ptr(pool->acomp_ctx)", self._raw_cpu_ptr, owner, cpu)
            yield Acquire(ctx, "mutex", f"{who}: mutex_lock(&acomp_ctx->mutex)")
            if self.sync is CtxSync.NONE:
                return ctx
            live = yield Call(f"{who}: acomp_ctx_get_cpu_lock: acomp_ctx->req?", self._live, ctx)
            if live:
                return ctx
            # "migrated to a different CPU after getting the per-CPU ctx but before
            # the mutex was acquired ... Just try again on the new CPU"
            yield Release(ctx, "mutex", f"{who}: acomp_ctx_get_cpu_lock: mutex_unlock, retry")

    # -- the hotplug callbacks -------------------------------------------------------
    def dead(self, pool: MemObject, cpu: int, who: str) -> Steps:
        """zswap_cpu_comp_dead(cpu) for ``pool``."""
        ctx = yield Call(f"{who}: per_cpu_ptr(pool->acomp_ctx, {cpu})", self._ctx, pool, cpu)
        if self.sync is CtxSync.MUTEX:
            yield Acquire(ctx, "mutex", f"{who}: zswap_cpu_comp_dead: mutex_lock")
        yield Call(
            f"{who}: zswap_cpu_comp_dead: acomp_request_free; crypto_free_acomp; kfree(buffer)",
            self._free,
            ctx,
        )
        if self.sync is CtxSync.MUTEX:
            yield Release(ctx, "mutex", f"{who}: zswap_cpu_comp_dead: mutex_unlock")

    def prepare(self, pool: MemObject, cpu: int, who: str) -> Steps:
        """zswap_cpu_comp_prepare(cpu) for ``pool``: False if an allocation failed."""
        ctx = yield Call(f"{who}: per_cpu_ptr(pool->acomp_ctx, {cpu})", self._ctx, pool, cpu)
        if self.sync is CtxSync.NONE:
            yield Call(f"{who}: zswap_cpu_comp_prepare: mutex_init", self._mutex_init, ctx)
        if self.may_fail:
            ok = yield Choose(f"{who}: zswap_cpu_comp_prepare: kmalloc_node(buffer)", (True, False))
            if not ok:
                return False
        buffer, req = yield Call(
            f"{who}: zswap_cpu_comp_prepare: kmalloc_node; crypto_alloc_acomp_node;"
            " acomp_request_alloc",
            self._allocate,
        )
        if self.sync is CtxSync.MUTEX:
            yield Acquire(ctx, "mutex", f"{who}: zswap_cpu_comp_prepare: mutex_lock")
        yield Call(
            f"{who}: zswap_cpu_comp_prepare: acomp_ctx->buffer, acomp, req = ...",
            self._fill,
            ctx,
            buffer,
            req,
        )
        if self.sync is CtxSync.MUTEX:
            yield Release(ctx, "mutex", f"{who}: zswap_cpu_comp_prepare: mutex_unlock")
        return True

    # -- single steps ------------------------------------------------------------------
    def _ctx(self, pool: MemObject, cpu: int) -> MemObject:
        ctx: MemObject = self.heap.get(pool, f"acomp_ctx{cpu}")
        return ctx

    def _raw_cpu_ptr(self, owner: MemObject, cpu: int) -> MemObject:
        self.cpus.run_on(cpu)
        pool = self.heap.get(owner, "pool") if owner.kind == "zswap_entry" else owner
        return self._ctx(pool, self.cpus.current())

    def _live(self, ctx: MemObject) -> bool:
        return self.heap.get(ctx, "req") is not None

    def use(self, ctx: MemObject, fn: Callable[..., Any], *args: Any) -> Any:
        """acomp_request_set_params + crypto_acomp_(de)compress: both objects are used."""
        heap = self.heap
        req = heap.get(ctx, "req")
        buffer = heap.get(ctx, "buffer")
        heap.set(req, "dlen", heap.get(req, "dlen") | 1)  # the request is written
        heap.set(buffer, "bytes", heap.get(buffer, "bytes") | 1)  # and the scratch buffer
        return fn(*args)

    def _free(self, ctx: MemObject) -> None:
        heap = self.heap
        req, buffer = heap.get(ctx, "req"), heap.get(ctx, "buffer")
        if req is not None and not req.freed:
            heap.free(req, "acomp_request_free")
        if buffer is not None and not buffer.freed:
            heap.free(buffer, "kfree(acomp_ctx->buffer)")
        if self.sync is CtxSync.MUTEX:
            heap.set(ctx, "req", None)

    def _mutex_init(self, ctx: MemObject) -> None:
        if self.heap.get(ctx, "mutex") is not None:
            raise Violation(BUG_ON, "zswap_cpu_comp_prepare: mutex_init of a mutex a task holds")
        self.heap.set(ctx, "mutex", None)

    def _new_req(self) -> MemObject:
        return self.heap.alloc("acomp_req", {"dlen": 0})

    def _allocate(self) -> tuple[MemObject, MemObject]:
        return self.heap.alloc("acomp_buffer", {"bytes": 0}), self._new_req()

    def _fill(self, ctx: MemObject, buffer: MemObject, req: MemObject) -> None:
        self.heap.set(ctx, "buffer", buffer)
        self.heap.set(ctx, "req", req)
