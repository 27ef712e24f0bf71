"""Running an rbtree operation as several model steps: one per node visit or rotation.

The rbtree module writes each operation once, as a generator that yields a label
after every structural sub-step (zmodel.zswap.rbtree).  Under ``tree->lock`` a
design drains it in one step; a design that lets a thread walk the tree without
the lock (seed question Q2) advances it one sub-step per model step, so the walker
can observe the tree between two rotations.

Two pieces of plumbing make that work with the runtime:

- :class:`TreeOp` holds the generator in progress.  The executor fingerprints
  every thread's locals for the state cache, and a bare generator has no
  fingerprint; a TreeOp gives the generator's position and locals (nodes by
  object id), exactly as the executor does for thread frames.
- :class:`SubStep` is a ``Call`` whose label is completed by the step itself: the
  sub-step's own label ("rb_erase: rotate_left") is only known once it has run.
  The executor records a step's label after performing it, so the trace shows
  the rotation; were that to change, the trace would show the generic label the
  step starts with, which is still true, only less precise.  Replays stay
  deterministic either way: the label is a function of the schedule.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable, Generator, Mapping
from typing import Any

from zmodel.runtime import Call
from zmodel.runtime.memory import canon
from zmodel.zswap.designs.base import Steps


class TreeOp:
    """An rbtree operation in progress."""

    __slots__ = ("done", "gen", "value")

    def __init__(self, gen: Generator[str, Any, Any]) -> None:
        self.gen = gen
        self.done = False
        self.value: Any = None

    def advance(self) -> str | None:
        """Run one sub-step; return its label, or None once the operation returned."""
        try:
            return next(self.gen)
        except StopIteration as stop:
            self.done = True
            self.value = stop.value
            return None

    def __fingerprint__(self) -> Any:
        if self.done:
            return ("done", canon(self.value))
        frames = []
        gen: Any = self.gen
        while gen is not None and gen.gi_frame is not None:
            frame = gen.gi_frame
            local_values = tuple(
                (name, canon(value))
                for name, value in frame.f_locals.items()
                if not getattr(value, "__shared_world__", False)
            )
            frames.append((gen.gi_code.co_qualname, frame.f_lasti, local_values))
            gen = gen.gi_yieldfrom
        return tuple(frames)


#: How a finished operation's last step reads, from its result.
Ending = Callable[[Any], str]


class SubStep(Call):
    """One sub-step of a TreeOp; its label becomes ``<fn>: <sub-step> <note>``."""

    __slots__ = ("__weakref__", "ending", "fn_name", "names", "note", "op")

    def __init__(
        self, fn_name: str, note: str, op: TreeOp, names: Mapping[str, str], ending: Ending
    ) -> None:
        # Its own method, called on a proxy of it: the bound method self._run would be
        # a reference cycle (tests/test_no_reference_cycles.py).
        super().__init__(f"{fn_name}: next sub-step {note}", SubStep._run, weakref.proxy(self))
        self.fn_name = fn_name
        self.note = note
        self.op = op
        self.names = names
        self.ending = ending

    def _run(self) -> bool:
        # Named before it runs too: a sub-step that faults never returns its label.
        self.label = f"{self.fn_name}: {self.names.get('', 'next sub-step')} {self.note}"
        sub = self.op.advance()
        if sub is None:
            what = self.ending(self.op.value)
        else:
            what = sub.split(": ", 1)[-1]
            what = self.names.get(what, what)
        self.label = f"{self.fn_name}: {what} {self.note}"
        return self.op.done


def stepped(
    fn_name: str,
    note: str,
    gen: Generator[str, Any, Any],
    names: Mapping[str, str] | None = None,
    ending: Ending = lambda _value: "done",
) -> Steps:
    """Run ``gen`` one sub-step per model step; return its result.

    ``fn_name`` is the kernel function the operation models (``zswap_rb_search``),
    ``note`` says what the variant changed; both go into every step's label.
    ``names`` renames the rbtree module's sub-step labels for the reader (the key
    ``""`` names a sub-step that faults before it yields), and ``ending`` words the
    last step from the operation's result.
    """
    op = TreeOp(gen)
    renames = tuple((names or {}).items())
    # Thread locals are fingerprinted for the state cache: keep only values that can be.
    del gen, names
    while True:
        done = yield SubStep(fn_name, note, op, dict(renames), ending)
        if done:
            return op.value
