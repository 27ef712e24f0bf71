"""Primitives: what a thread program yields, one atomic step each.

A thread program is a generator.  It yields a primitive, the executor performs it
when the scheduler picks that thread, and the primitive's result is sent back into
the generator.  Code between two yields runs as part of the step that precedes it
and may only compute on locals: the heap refuses shared access outside a
primitive, so every shared access is inside exactly one step and lands in that
step's footprint.

``label`` names the kernel function (and version) the step models; traces and
swimlanes print it.
"""

from __future__ import annotations

from collections.abc import Callable, Generator
from typing import Any

from zmodel.runtime.memory import MemObject


class Primitive:
    # The subclasses set ``label`` themselves rather than call this __init__: a
    # model builds one primitive per step, and the extra call cost a tenth of that.
    __slots__ = ("label",)

    def __init__(self, label: str) -> None:
        self.label = label


class Call(Primitive):
    """Run ``fn(*args)`` atomically; its heap accesses are the footprint."""

    __slots__ = ("args", "fn")

    def __init__(self, label: str, fn: Callable[..., Any], *args: Any) -> None:
        self.label = label
        self.fn = fn
        self.args = args


class Load(Primitive):
    """Read ``obj.field``: the value is the step's result.

    Unlike a :class:`Call` that reads one field, its footprint is known before it
    runs: it reads exactly ``obj.field`` whatever the value.  The DPOR engines use
    that (``races.Footprint.static``): reversing a race whose last step is a
    Load needs no run to learn what the step does in the other order.
    """

    __slots__ = ("field", "obj")

    def __init__(self, obj: MemObject, field: str, label: str) -> None:
        self.label = label
        self.obj = obj
        self.field = field


class Store(Primitive):
    """Write ``value`` to ``obj.field``; a footprint known before it runs (see :class:`Load`)."""

    __slots__ = ("field", "obj", "value")

    def __init__(self, obj: MemObject, field: str, value: Any, label: str) -> None:
        self.label = label
        self.obj = obj
        self.field = field
        self.value = value


class Acquire(Primitive):
    """Take the lock stored in ``obj.field``.  Disabled while another thread holds it.

    Spinlocks, mutexes and page locks share these mechanics: for interleavings
    the only difference that matters is who may proceed.  (Sleeping under a
    spinlock is not modelled.)
    """

    __slots__ = ("field", "obj")

    def __init__(self, obj: MemObject, field: str, label: str) -> None:
        self.label = label
        self.obj = obj
        self.field = field


class Release(Primitive):
    __slots__ = ("field", "obj")

    def __init__(self, obj: MemObject, field: str, label: str) -> None:
        self.label = label
        self.obj = obj
        self.field = field


class TryAcquire(Primitive):
    """``trylock``: always enabled; returns True and takes the lock if it is free."""

    __slots__ = ("field", "obj")

    def __init__(self, obj: MemObject, field: str, label: str) -> None:
        self.label = label
        self.obj = obj
        self.field = field


class Choose(Primitive):
    """A nondeterministic outcome (an allocation that may fail).

    The executor returns ``options[k]`` for the outcome ``k`` the schedule names;
    engines explore every ``k`` like a thread choice.
    """

    __slots__ = ("options",)

    def __init__(self, label: str, options: tuple[Any, ...]) -> None:
        self.label = label
        if not options:
            raise ValueError("a choice needs at least one option")
        self.options = options


class Await(Primitive):
    """Block until ``pred(*args)`` holds, then take one (empty) step.

    Models a kernel wait loop (``wait_on_page_locked``, the ``-EEXIST`` retry of
    ``swapcache_prepare``) without unfolding it into an unbounded spin, so that a
    schedule never has to starve a thread to terminate.
    """

    __slots__ = ("args", "pred")

    def __init__(self, label: str, pred: Callable[..., bool], *args: Any) -> None:
        self.label = label
        self.pred = pred
        self.args = args


#: A piece of thread program: yields primitives, returns a value to ``yield from``.
Steps = Generator[Primitive, Any, Any]
