"""zsmalloc: size classes, zspages of several page frames, objects that span two frames.

zsmalloc "allocates a bunch of 0-order pages and links them together ... These
linked pages act as a single higher-order page i.e. an object can span 0-order
page boundaries" (drivers/staging/zsmalloc/zsmalloc-main.c, 3.11).  A size class
packs objects of one size into zspages of ``pages_per_zspage`` frames, chosen by
``get_pages_per_zspage`` to waste the least; a zspage is freed only when its
last object is (``inuse == 0``).  Two versions are modelled:

- ``STAGING_3_11``: the staging allocator the 2013 zswap series used.  A spinlock
  per size class; ``zs_free`` frees an emptied zspage after dropping it.  No LRU,
  no reclaim.  ``limit`` stands for the zswap_zs_ops.alloc callback of the v4
  series (zswap_alloc_page), which refuses a frame once the pool holds
  ``max_pool_pages``: that is how a full pool makes ``zs_malloc`` fail.
- ``WRITEBACK_6_4``: mm/zsmalloc.c with writeback, 6.2-6.4 (9997bc017549, with
  "zsmalloc: fix a race with deferred_handles storing", Jan 2023, and
  d461aac924b9, which moved the LRU update back into zs_malloc, May 2023).
  One ``pool->lock``; zspages on an LRU (head = most
  recently allocated into); ``zs_reclaim_page`` takes the LRU tail, sets
  ``under_reclaim``, ``remove_zspage`` (no allocation can land in it), evicts
  every allocated object, and frees the zspage if ``inuse == 0``.  A ``zs_free``
  meanwhile frees the object but defers the handle and never the zspage.

Model simplifications (each keeps the interleavings that matter):
- sizes are fractions of a page (2/3 gives 3 objects in 2 frames, the middle
  one spanning both); an object's bytes are its value, written to every frame it
  touches, so a copy across the boundary is two steps and a reader between them
  sees a torn object (``("torn", first, second)``);
- a handle is a heap object (``zs_handle``: zspage and index).  6.x handles are
  slab objects; 3.11's encode pfn and index.  Modelling both as objects means a
  leaked, doubly freed or stale handle is caught by the heap's lifetime checks;
- the freelist is LIFO as in the kernel, but kept as a tuple of indices;
- fullness groups are folded into one list of partly used zspages per class
  (with 3 objects per zspage every partly used zspage is ZS_ALMOST_FULL anyway);
- migration and compaction are not modelled, so ``lock_zspage`` (which pins the
  frames against migration) has nothing to exclude and takes no step, and
  ``zs_map_object`` resolves a handle without 6.x's brief ``pool->lock``;
- allocating a zspage's frames is one step and one failure point.

The pool's lists are allocator metadata, weak for leak detection (as in zbud.py).
"""

from __future__ import annotations

from collections.abc import Callable, Generator
from dataclasses import dataclass
from fractions import Fraction
from math import floor
from typing import Any

from zmodel.runtime import Acquire, Call, Choose, Heap, MemObject, Primitive, Release
from zmodel.zswap.zsmalloc_mapping import Handle, HandleRef, ObjectMapping, frames_of_object

Steps = Generator[Primitive, Any, Any]
#: The evict callback (zpool_ops.evict): a thread program returning 0 on success.
Evict = Callable[[Handle], Steps]

STAGING_3_11 = "3.11-staging"
WRITEBACK_6_4 = "6.2-6.4"
#: 3.11 staging: 1 << ZS_MAX_ZSPAGE_ORDER (2).
ZS_MAX_PAGES_PER_ZSPAGE = 4
EINVAL, EAGAIN = -22, -11

__all__ = ["Handle", "HandleRef", "ZsPool", "frames_of_object", "get_pages_per_zspage"]


def get_pages_per_zspage(size: Fraction, max_pages: int = ZS_MAX_PAGES_PER_ZSPAGE) -> int:
    """get_pages_per_zspage (3.11): the zspage size (in frames) that wastes the least."""
    best, best_used = 1, Fraction(0)
    for frames in range(1, max_pages + 1):
        used = (frames - frames % size) / frames
        if used > best_used:
            best, best_used = frames, used
    return best


@dataclass(frozen=True)
class SizeClass:
    """The static part of a size class; ``state`` holds its lock and partial list.

    Static, so generator frames holding one skip it when fingerprinting.
    """

    __shared_world__ = True

    size: Fraction
    pages_per_zspage: int
    objects: int
    state: MemObject


class ZsPool(ObjectMapping):
    """One zs_pool.  Static configuration lives here, all mutable state in the heap.

    A class rather than zbud.py's module functions because which lock a step
    takes (class or pool) depends on the version, and must be known before the
    step runs.
    """

    __shared_world__ = True

    def __init__(
        self,
        heap: Heap,
        sizes: tuple[Fraction, ...] = (Fraction(2, 3),),
        *,
        version: str = STAGING_3_11,
        limit: int | None = None,
    ) -> None:
        if version not in (STAGING_3_11, WRITEBACK_6_4):
            raise ValueError(f"unknown zsmalloc version {version!r}")
        self.heap = heap
        self.version = version
        self.limit = limit
        self.classes: dict[Fraction, SizeClass] = {}
        for size in sizes:
            if not 0 < size <= 1:
                raise ValueError("object sizes are fractions of a page in (0, 1]")
            ppz = get_pages_per_zspage(size)
            state = heap.alloc("size_class", {"lock": None, "partial": ()}, weak=("partial",))
            self.classes[size] = SizeClass(size, ppz, floor(ppz / size), state)
        self.pool = heap.alloc(
            "zs_pool",
            {
                "lock": None,
                "classes": tuple(c.state for c in self.classes.values()),
                "pages_nr": 0,
                "lru": (),
                # Q5 ghosts: (evictions, frames freed) per reclaim that freed a
                # zspage; every reclaim attempt's (evictions, frames or zspage).
                "evictions_per_free": (),
                "reclaim_log": (),
            },
            weak=("lru", "reclaim_log"),
        )

    def size_class(self, size: Fraction) -> SizeClass:
        """get_size_class_index: the class zs_malloc serves ``size`` from (a static lookup).

        Callers look the class up once and pass it to :meth:`zs_malloc`, because
        a generator's arguments are part of the state fingerprint and a Fraction
        has none.
        """
        return self.classes[size]

    def _lock(self, cls: SizeClass) -> tuple[MemObject, str]:
        if self.version == STAGING_3_11:
            return cls.state, "class->lock"
        return self.pool, "pool->lock"

    def class_of(self, zspage: MemObject) -> SizeClass:
        num, den = self.heap.get(zspage, "size")
        return self.classes[Fraction(num, den)]

    # -- zs_malloc / zs_free --------------------------------------------------
    def zs_malloc(self, cls: SizeClass, may_fail: bool) -> Steps:
        """zs_malloc: a handle, or None (alloc_page failed, or the pool limit)."""
        v = self.version
        lock, name = self._lock(cls)
        yield Acquire(lock, "lock", f"zs_malloc ({v}): spin_lock(&{name})")
        zspage = yield Call(f"zs_malloc ({v}): find_get_zspage", self._find_get_zspage, cls)
        if zspage is None:
            yield Release(lock, "lock", f"zs_malloc ({v}): spin_unlock before alloc_zspage")
            if may_fail:
                ok = yield Choose(f"alloc_zspage ({v}): alloc_page", (True, False))
                if not ok:
                    return None
            zspage = yield Call(
                f"alloc_zspage ({v}): alloc_page x{cls.pages_per_zspage}, init_zspage",
                self._alloc_zspage,
                cls,
            )
            if zspage is None:
                return None  # zswap_alloc_page: zswap_pool_limit_hit
            yield Acquire(lock, "lock", f"zs_malloc ({v}): spin_lock(&{name})")
        lru = "; LRU head" if v == WRITEBACK_6_4 else ""
        handle = yield Call(
            f"zs_malloc ({v}): obj_malloc, inuse++, fix_fullness_group{lru}",
            self._obj_malloc,
            cls,
            zspage,
        )
        yield Release(lock, "lock", f"zs_malloc ({v}): spin_unlock(&{name})")
        return handle

    def zs_free(self, ref: HandleRef) -> Steps:
        """zs_free: returns the number of page frames it freed (0 unless the zspage emptied).

        With ``ref = (entry, "handle")`` the caller's ``entry->handle`` is read in
        an unlocked step first, as the argument is evaluated before the call.
        """
        v = self.version
        cls = next(iter(self.classes.values()))
        if isinstance(ref, tuple) or (v == STAGING_3_11 and len(self.classes) > 1):
            # The handle, and in 3.11 the class (hence the lock), are read unlocked.
            ref, cls = yield Call(
                f"zs_free ({v}): obj_handle_to_location, get_zspage_mapping",
                self._locate_handle,
                ref,
            )
        lock, name = self._lock(cls)
        yield Acquire(lock, "lock", f"zs_free ({v}): spin_lock(&{name})")
        frames = yield Call(
            f"zs_free ({v}): obj_free, inuse--, fix_fullness_group", self._obj_free, ref
        )
        yield Release(lock, "lock", f"zs_free ({v}): spin_unlock(&{name})")
        if isinstance(frames, MemObject):
            # 3.11 staging frees an emptied zspage after dropping class->lock.
            return (yield Call("zs_free (3.11): free_zspage", self.free_zspage, frames))
        return frames

    def pool_pages(self) -> int:
        """zs_get_total_size_bytes >> PAGE_SHIFT; read without a lock (a plain step function)."""
        pages: int = self.heap.get(self.pool, "pages_nr")
        return pages

    # -- single steps ------------------------------------------------------------
    def _find_get_zspage(self, cls: SizeClass) -> MemObject | None:
        partial = self.heap.get(cls.state, "partial")
        return partial[0] if partial else None

    def _alloc_zspage(self, cls: SizeClass) -> MemObject | None:
        heap = self.heap
        pages = heap.get(self.pool, "pages_nr")
        if self.limit is not None and pages + cls.pages_per_zspage > self.limit:
            return None
        heap.set(self.pool, "pages_nr", pages + cls.pages_per_zspage)
        frames = tuple(heap.alloc("zs_frame", {}) for _ in range(cls.pages_per_zspage))
        size = (cls.size.numerator, cls.size.denominator)
        return heap.alloc(
            "zspage",
            {
                "size": size,
                "frames": frames,
                "inuse": 0,
                "freelist": tuple(range(cls.objects)),
                "slots": (None,) * cls.objects,
                "under_reclaim": False,
            },
            # A zspage's own record of its handles does not keep them alive: an
            # object nobody's entry points to is a leak even if its zspage lives.
            weak=("slots",),
        )

    def _obj_malloc(self, cls: SizeClass, zspage: MemObject) -> Handle:
        heap = self.heap
        freelist = heap.get(zspage, "freelist")
        idx = freelist[0]
        heap.set(zspage, "freelist", freelist[1:])
        handle = heap.alloc("zs_handle", {"zspage": zspage, "idx": idx})
        self.set_slot(zspage, idx, handle)
        inuse = heap.get(zspage, "inuse") + 1
        heap.set(zspage, "inuse", inuse)
        frames = heap.get(zspage, "frames")
        for k in frames_of_object(cls.size, idx):
            heap.forget(frames[k], f"o{idx}")  # memory handed out anew holds garbage
        partial = tuple(z for z in heap.get(cls.state, "partial") if z is not zspage)
        heap.set(cls.state, "partial", partial if inuse == cls.objects else (zspage, *partial))
        if self.version == WRITEBACK_6_4:
            lru = tuple(z for z in heap.get(self.pool, "lru") if z is not zspage)
            heap.set(self.pool, "lru", (zspage, *lru))
        return handle

    def _locate_handle(self, ref: HandleRef) -> tuple[Handle, SizeClass]:
        handle: Handle = self.heap.get(*ref) if isinstance(ref, tuple) else ref
        if handle.freed:
            self.heap.free(handle, "zs_free")  # reports the double free, with its footprint
        return handle, self.class_of(self.heap.get(handle, "zspage"))

    def _obj_free(self, handle: Handle) -> int | MemObject:
        """Under the lock.  0, the frames freed (6.x), or the zspage to free (3.11)."""
        heap = self.heap
        if handle.freed:
            heap.free(handle, "zs_free")  # reports the double free, with its footprint
        zspage: MemObject = heap.get(handle, "zspage")
        cls = self.class_of(zspage)
        idx: int = heap.get(handle, "idx")
        inuse = heap.get(zspage, "inuse") - 1
        heap.set(zspage, "inuse", inuse)
        if self.version == WRITEBACK_6_4 and heap.get(zspage, "under_reclaim"):
            # "Reclaim needs the handles during writeback. It'll free them along
            # with the zspage when it's done with them."
            self.set_slot(zspage, idx, ("deferred", handle))
            return 0
        # The object's bytes stay as they were: a reader that resolved the
        # handle earlier still finds them (a stale read, not a fault).
        self.set_slot(zspage, idx, None)
        heap.set(zspage, "freelist", (idx, *heap.get(zspage, "freelist")))
        heap.free(handle, "cache_free_handle")
        partial = tuple(z for z in heap.get(cls.state, "partial") if z is not zspage)
        if inuse:
            heap.set(cls.state, "partial", (zspage, *partial))
            return 0
        heap.set(cls.state, "partial", partial)
        if self.version == STAGING_3_11:
            return zspage
        return self.free_zspage(zspage)

    def free_zspage(self, zspage: MemObject) -> int:
        heap = self.heap
        lru = heap.get(self.pool, "lru")
        if zspage in lru:
            heap.set(self.pool, "lru", tuple(z for z in lru if z is not zspage))
        frames = heap.get(zspage, "frames")
        for frame in frames:
            heap.free(frame, "__free_page")
        heap.free(zspage, "free_zspage")
        heap.set(self.pool, "pages_nr", heap.get(self.pool, "pages_nr") - len(frames))
        return len(frames)

    def set_slot(self, zspage: MemObject, idx: int, value: Any) -> None:
        slots = self.heap.get(zspage, "slots")
        self.heap.set(zspage, "slots", (*slots[:idx], value, *slots[idx + 1 :]))
