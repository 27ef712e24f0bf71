"""The per-CPU context and pool paths of the 6.12+ designs (a mixin of their Design).

``zswap_compress`` / ``zswap_decompress`` as 6.12 and 6.13 take the CPU's
compression context (acomp_ctx.py; not modelled without ``cpus=``), the CPU
hotplug callbacks over every pool (``cpu_dead``, ``cpu_prepare``), the pool an
entry holds (zswap_pools.py) and ``pool_switch``, and ``zswap.enabled``.  The
designs keep their paths (store, load, writeback) and call these steps; a
variant overrides one of them.  zswap-6.8 uses the hotplug callbacks, the pool
switch and zswap.enabled (the same in 6.8's source) and has its own compression
steps (6.8 compresses inline in ``zswap_store``, without ``zswap_compress``).
"""

from __future__ import annotations

from typing import Any

from zmodel.runtime import Call, Heap, MemObject, Steps
from zmodel.zswap import zpool
from zmodel.zswap.acomp_ctx import AcompCtxs
from zmodel.zswap.zswap_pools import ZswapPools


class PoolPaths:
    """What 6.12 and 6.13 share around compression contexts and pools."""

    heap: Heap
    ctxs: AcompCtxs | None
    pools: ZswapPools
    globals: MemObject
    may_fail: bool
    #: The kernel the labels name ("6.12", "6.13").
    version: str = "6.12"

    def _decompress(self, entry: MemObject, page: MemObject) -> None:
        raise NotImplementedError  # the design's own single step

    def compress(
        self,
        entry: MemObject,
        page: MemObject,
        offset: int,
        who: str,
        pool: MemObject | None = None,
    ) -> Steps:
        """zswap_compress (6.12, 6.13): compress into this CPU's buffer, zpool_malloc, memcpy.

        The context is held throughout; without ``cpus=`` it is not modelled (each
        thread its own CPU: never contended, never freed).  6.12 takes the pool
        from ``entry->pool`` and fills the entry's swpentry and referenced bit in
        the same breath (zswap_store right after); 6.13 is passed ``pool`` and
        fills them only after xa_store (``pool`` given: the memcpy step sets
        handle and length alone)."""
        ctx = None
        owner = entry if pool is None else pool
        if self.ctxs is not None:
            ctx = yield from self.acomp_ctx_lock(owner, f"{who}: zswap_compress")
        data = yield Call(
            f"{who}: zswap_compress: crypto_acomp_compress", self._compress, ctx, page
        )
        # The pool an entry of ours or the pool we hold a reference to: never freed
        # under us, and its zpool never changes (peek: no footprint needed).
        zpool_of = self.heap.peek(self.heap.peek(entry, "pool") if pool is None else pool, "zpool")
        handle = yield from zpool.zpool_malloc(self.heap, zpool_of, self.may_fail, who)
        if handle is not None:
            yield Call(
                f"{who}: zswap_compress: memcpy; entry->swpentry, referenced = true"
                if pool is None
                else f"{who}: zswap_compress: memcpy; entry->handle, length",
                self._fill,
                ctx,
                entry,
                offset if pool is None else None,
                handle,
                data,
            )
        if ctx is not None:
            yield from self.acomp_ctx_unlock(ctx, f"{who}: zswap_compress")
        return handle is not None

    def decompress(self, entry: MemObject, page: MemObject, label: str) -> Steps:
        """zswap_decompress (6.12, 6.13; 6.8: __zswap_load), with the CPU's context (``cpus=``)."""
        if self.ctxs is None:
            yield Call(label, self._decompress, entry, page)
            return
        ctx = yield from self.acomp_ctx_lock(entry, label)
        yield Call(
            f"{label}: decompress (acomp_ctx->buffer, req)",
            self.ctxs.use,
            ctx,
            self._decompress,
            entry,
            page,
        )
        yield from self.acomp_ctx_unlock(ctx, label)

    # -- the lock scope of the CPU's context (cpus=N) ---------------------------------
    def acomp_ctx_lock(self, owner: MemObject, who: str) -> Steps:
        """This CPU's context of ``owner`` (a pool, or ``entry->pool``), its mutex held:
        6.12's raw_cpu_ptr + mutex_lock, 6.13's acomp_ctx_get_cpu_lock (acomp_ctx.py)."""
        assert self.ctxs is not None
        return (yield from self.ctxs.take(owner, who))

    def acomp_ctx_unlock(self, ctx: MemObject, who: str) -> Steps:
        """mutex_unlock(&acomp_ctx->mutex) (6.8, 6.12, 6.13)."""
        assert self.ctxs is not None
        yield from self.ctxs.put(ctx, who)

    # -- CPU hotplug, pool switch, zswap.enabled ---------------------------------------
    def cpu_dead(self, cpu: int) -> Steps:
        """zswap_cpu_comp_dead (6.8, 6.12, 6.13) of ``cpu`` for every pool (cpuhp instances)."""
        who = f"zswap_cpu_comp_dead ({self.version})"
        pools = yield Call(f"{who}: cpuhp instances (zswap pools)", self.pools.instances)
        for pool in pools:
            assert self.ctxs is not None
            yield from self.ctxs.dead(pool, cpu, who)

    def cpu_prepare(self, cpu: int) -> Steps:
        """zswap_cpu_comp_prepare (6.8, 6.12, 6.13), every pool; False (rolled back) on failure."""
        who = f"zswap_cpu_comp_prepare ({self.version})"
        pools = yield Call(f"{who}: cpuhp instances (zswap pools)", self.pools.instances)
        assert self.ctxs is not None
        for i in range(len(pools)):
            if not (yield from self.ctxs.prepare(pools[i], cpu, who)):
                for done in pools[:i]:  # cpuhp rollback: tear down what came up
                    yield from self.ctxs.dead(done, cpu, f"{who}: rollback")
                return False
        return True

    def pool_switch(self) -> Steps:
        """__zswap_param_set (6.8, 6.12, 6.13): a new current pool, the old one put."""
        yield from self.pools.switch()

    def set_enabled(self, enabled: bool) -> Steps:
        """zswap_enabled_param_set (6.8, 6.12, 6.13): write zswap.enabled."""
        yield Call(
            f"zswap_enabled_param_set: zswap_enabled = {enabled}",
            self.heap.set,
            self.globals,
            "zswap_enabled",
            enabled,
        )

    def _new_entry(self) -> MemObject | None:
        entry = self.heap.alloc("zswap_entry")
        pool = self.pools.current_get()
        if pool is None:
            self.heap.free(entry, "zswap_entry_cache_free")
            return None
        self.heap.set(entry, "pool", pool)
        return entry

    def _enabled(self) -> bool:
        return bool(self.heap.get(self.globals, "zswap_enabled"))

    def _compress(self, ctx: MemObject | None, page: MemObject) -> Any:
        if ctx is not None:
            assert self.ctxs is not None
            return self.ctxs.use(ctx, self.heap.get, page, "data")
        return self.heap.get(page, "data")

    def _fill(
        self,
        ctx: MemObject | None,
        entry: MemObject,
        offset: int | None,
        handle: MemObject,
        data: Any,
    ) -> None:
        self._memcpy(ctx, handle, data)
        self.heap.set(entry, "handle", handle)
        self.heap.set(entry, "length", 1)
        if offset is not None:  # 6.12: swpentry and referenced now; 6.13 after xa_store
            self.heap.set(entry, "offset", offset)
            self.heap.set(entry, "referenced", True)

    def _memcpy(self, ctx: MemObject | None, handle: MemObject, data: Any) -> None:
        """memcpy(zpool_map_handle(handle), acomp_ctx->buffer, dlen)."""
        if ctx is not None:
            assert self.ctxs is not None
            self.ctxs.use(ctx, zpool.write, self.heap, handle, data)
        else:
            zpool.write(self.heap, handle, data)

    def _free(self, entry: MemObject) -> MemObject | None:
        """zpool_free, zswap_pool_put, cache free: the pool if its count reached zero."""
        pool = self.heap.get(entry, "pool")
        zpool.free(self.heap, self.heap.get(pool, "zpool"), self.heap.get(entry, "handle"))
        self.heap.free(entry, "zswap_entry_cache_free")
        return pool if self.pools.drop(pool) else None

    def _put_entry_pool(self, entry: MemObject) -> MemObject | None:
        pool = self.heap.get(entry, "pool")
        self.heap.free(entry, "zswap_entry_cache_free")
        return pool if self.pools.drop(pool) else None
