"""zsmalloc object mapping (zs_map_object, the copy, zs_unmap_object): a mixin of ZsPool.

An object that spans two page frames is copied one frame per step (through the
per-CPU buffer of ``__zs_map_object`` / ``__zs_unmap_object``), so a reader
between the two steps of a write sees a torn object, ``("torn", first,
second)``.  zsmalloc.py says what else the model simplifies.
"""

from __future__ import annotations

from collections.abc import Generator
from fractions import Fraction
from math import ceil, floor
from typing import TYPE_CHECKING, Any

from zmodel.runtime import Call, MemObject, Primitive

Handle = MemObject
#: A handle, or ``(obj, field)``: the handle is read from ``obj.field`` in the
#: same step that maps it, as in ``zs_map_object(pool, entry->handle, ...)``.
HandleRef = MemObject | tuple[MemObject, str]
Steps = Generator[Primitive, Any, Any]


def frames_of_object(size: Fraction, idx: int) -> tuple[int, ...]:
    """The frames (indices within the zspage) object ``idx`` occupies: one or two."""
    start = idx * size
    return tuple(range(floor(start), ceil(start + size)))


class ObjectMapping:
    """Reading and writing a zsmalloc object through its handle."""

    if TYPE_CHECKING:  # what the mixin uses of ZsPool (declared, never defined here)
        from zmodel.runtime import Heap
        from zmodel.zswap.zsmalloc import SizeClass

        heap: Heap

        def class_of(self, zspage: MemObject) -> SizeClass: ...

    # -- mapping: zs_map_object / copy / zs_unmap_object ------------------------
    def zs_write(self, ref: HandleRef, value: Any, who: str) -> Steps:
        """zs_map_object(ZS_MM_WO), memcpy, zs_unmap_object.

        An object on two frames goes through the per-CPU buffer and is copied out
        one frame at a time by __zs_unmap_object: two steps, and other CPUs may
        run in between.
        """
        rest = yield Call(f"{who}: zs_map_object(WO), memcpy", self._write_first, ref, value)
        if rest is not None:
            frame, idx = rest
            yield Call(
                f"{who}: zs_unmap_object: copy the part on the next frame",
                self._write_part,
                frame,
                idx,
                value,
            )

    def zs_read(self, ref: HandleRef, who: str, into: tuple[Any, ...] = ()) -> Steps:
        """zs_map_object(ZS_MM_RO) and copy out: the value, or ``("torn", a, b)``.

        ``into`` is ``(fn, *args)``: ``fn(*args, value)`` runs inside the last
        step (the decompression into the caller's page), so that a read does
        not cost an extra step.
        """
        first, rest = yield Call(f"{who}: zs_map_object(RO), copy", self._read_first, ref, into)
        if rest is None:
            return first
        frame, idx = rest
        return (
            yield Call(
                f"{who}: __zs_map_object: copy the part on the next frame",
                self._read_rest,
                frame,
                idx,
                first,
                into,
            )
        )

    def read_object(self, ref: HandleRef) -> Any:
        """The whole object inside the caller's step: the value or ``("torn", ...)``.

        For readers transcribed as one step (3.11's decompress); a write is still
        two steps, so a read between them still sees the tear.
        """
        frames, idx = self._object_frames(ref)
        parts = [self.heap.get(frame, f"o{idx}") for frame in frames]
        return parts[0] if all(p == parts[0] for p in parts) else ("torn", *parts)

    def read_head(self, handle: Handle) -> Any:
        """The start of the object (a header), read inside the caller's step."""
        value, _rest = self._read_first(handle)
        return value

    # -- single steps ------------------------------------------------------------
    def _object_frames(self, ref: HandleRef) -> tuple[tuple[MemObject, ...], int]:
        handle = self.heap.get(*ref) if isinstance(ref, tuple) else ref
        zspage = self.heap.get(handle, "zspage")
        idx: int = self.heap.get(handle, "idx")
        frames = self.heap.get(zspage, "frames")
        cls = self.class_of(zspage)
        return tuple(frames[k] for k in frames_of_object(cls.size, idx)), idx

    def _write_first(self, ref: HandleRef, value: Any) -> tuple[MemObject, int] | None:
        frames, idx = self._object_frames(ref)
        self.heap.set(frames[0], f"o{idx}", value)
        return (frames[1], idx) if len(frames) > 1 else None

    def _write_part(self, frame: MemObject, idx: int, value: Any) -> None:
        self.heap.set(frame, f"o{idx}", value)

    def _read_first(
        self, ref: HandleRef, into: tuple[Any, ...] = ()
    ) -> tuple[Any, tuple[MemObject, int] | None]:
        frames, idx = self._object_frames(ref)
        value = self.heap.get(frames[0], f"o{idx}")
        if len(frames) > 1:
            return value, (frames[1], idx)
        if into:
            into[0](*into[1:], value)
        return value, None

    def _read_rest(self, frame: MemObject, idx: int, first: Any, into: tuple[Any, ...]) -> Any:
        second = self.heap.get(frame, f"o{idx}")
        value = first if first == second else ("torn", first, second)
        if into:
            into[0](*into[1:], value)
        return value

    # -- the checker's views (peek only) ---------------------------------------
    def peek_object(self, handle: Handle) -> Any:
        """What a read of the object would return now, or None if it is gone."""
        heap = self.heap
        zspage = heap.peek(handle, "zspage")
        if handle.freed or zspage is None or zspage.freed:
            return None
        idx = heap.peek(handle, "idx")
        size = Fraction(*heap.peek(zspage, "size"))
        frames = heap.peek(zspage, "frames")
        parts = [heap.peek(frames[k], f"o{idx}") for k in frames_of_object(size, idx)]
        return parts[0] if all(p == parts[0] for p in parts) else None
