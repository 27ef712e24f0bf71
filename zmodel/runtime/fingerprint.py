"""Thread fingerprints: each suspended frame's position, locals and ``for``-loop positions.

A thread is a chain of generators (``yield from`` all the way down to the step
it is at).  Its fingerprint lists, outermost first, each frame's code, its last
instruction, its bound locals (in the code's own order: no sort) and the
positions of the ``for`` loops it is inside.

Only the innermost frame runs when a thread steps.  An outer frame suspended in
``yield from inner`` executes none of its own code until ``inner`` finishes, and
a finished generator cannot be delegated to again, so while the frame still
delegates to the *same* ``inner`` object (held here, so its identity cannot be
reused), its position and locals are those of last time, and so is its part.
That holds only if nothing else can change what its part renders, so a part is
kept only for a frame

* without cell or free variables (an inner closure could rebind them), and
* whose locals are all *frozen*: atoms, heap references (rendered by id),
  enums, functions, tuples and frozensets of frozen values, and objects whose
  class declares ``__fingerprint_frozen__`` (its ``__fingerprint__`` never
  changes).  An object with a changing ``__fingerprint__`` (a sub-step runner)
  makes its frame recomputed every time.

:func:`full_thread_fingerprint` recomputes every frame; the tests compare the
two at every step of many generated runs, and a mutation that reuses a part
past a change shows the comparison fails.
"""

from __future__ import annotations

import dis
import gc
from collections.abc import Generator, Iterator
from types import CodeType, GeneratorType
from typing import Any

from zmodel.runtime.faults import ModelError
from zmodel.runtime.memory import ATOMS, MemObject, canon

#: One frame's memo: the generator, what it delegated to, its part (None: not
#: reusable).  A thread keeps the list from its last fingerprint.
Memo = list[tuple[Any, Any, Any]]


def thread_fingerprint(gen: Any, memo: Memo) -> tuple[tuple[Any, ...], Memo]:
    """The fingerprint of the thread whose outermost generator is ``gen``, reusing
    the parts of ``memo`` that cannot have changed; and the memo for next time."""
    parts = []
    fresh: Memo = []
    depth = 0
    old = len(memo)
    while gen is not None:
        frame = gen.gi_frame
        if frame is None:
            break
        inner = gen.gi_yieldfrom
        part = memo[depth][2] if depth < old and unchanged(memo[depth], gen, inner) else None
        if part is None:
            part, frozen = frame_part(gen, frame)
            fresh.append((gen, inner, part if frozen else None))
        else:
            fresh.append((gen, inner, part))
        parts.append(part)
        gen = inner
        depth += 1
    return tuple(parts), fresh


def unchanged(entry: tuple[Any, Any, Any], gen: Any, inner: Any) -> bool:
    """Whether the frame ``entry`` remembers is ``gen``'s and has not run since: it
    still delegates to the same generator (see the module docstring)."""
    return entry[0] is gen and entry[1] is inner and type(inner) is GeneratorType


def full_thread_fingerprint(gen: Any) -> tuple[Any, ...]:
    """The same fingerprint with every frame recomputed (the reference)."""
    parts = []
    while gen is not None:
        frame = gen.gi_frame
        if frame is None:
            break
        parts.append(frame_part(gen, frame)[0])
        gen = gen.gi_yieldfrom
    return tuple(parts)


def frame_part(gen: Any, frame: Any) -> tuple[Any, bool]:
    """One frame's part, and whether it may be kept while the frame is suspended."""
    code = gen.gi_code
    shape = _SHAPES.get(code)
    if shape is None:
        shape = _SHAPES[code] = _shape(code)
    names, frozen, has_loop = shape
    # f_locals lists a variable bound after the dict was first built at its end;
    # walking the code's names gives one order however the dict grew.
    bound = frame.f_locals
    values = []
    for name in names:
        if name in bound:
            value = bound[name]
            if type(value) in ATOMS:
                values.append((name, value))
                continue
            if getattr(value, "__shared_world__", False):
                continue  # the heap and the model's world: shared state, rendered once
            if frozen and not _frozen(value):
                frozen = False
            values.append((name, canon(value)))
    loops: tuple[Any, ...] = ()
    if has_loop:
        loops, over_generators = _loop_positions(gen)
        frozen = frozen and not over_generators
    return (code.co_qualname, frame.f_lasti, tuple(values), loops), frozen


_SHAPES: dict[CodeType, tuple[tuple[str, ...], bool, bool]] = {}


def _shape(code: CodeType) -> tuple[tuple[str, ...], bool, bool]:
    """A code's local names in order, whether its frames may be kept (no cells),
    and whether it has a ``for`` loop."""
    names = tuple(dict.fromkeys(code.co_varnames + code.co_cellvars + code.co_freevars))
    no_cells = not code.co_cellvars and not code.co_freevars
    has_loop = any(i.opname == "FOR_ITER" for i in dis.get_instructions(code))
    return names, no_cells, has_loop


_FROZEN_TYPES: dict[type, bool] = {}


def _frozen(value: Any) -> bool:
    """Whether ``value``'s rendering can never change (see the module docstring)."""
    kind = type(value)
    if kind in ATOMS or kind is MemObject:
        return True
    if kind is tuple or kind is frozenset:
        return all(_frozen(item) for item in value)
    known = _FROZEN_TYPES.get(kind)
    if known is None:
        dynamic = hasattr(kind, "__fingerprint__") or issubclass(kind, (tuple, frozenset))
        known = _FROZEN_TYPES[kind] = not dynamic or bool(
            getattr(kind, "__fingerprint_frozen__", False)
        )
    return known


_ITERATORS: tuple[type, ...] = (type(iter(())), type(iter(range(0))), type(iter([])))


def _loop_positions(gen: Any) -> tuple[tuple[Any, ...], bool]:
    """The iterators of the ``for`` loops a suspended generator is inside, and
    whether one of them is a generator.

    They live on the frame's value stack, not in its locals, so without them two
    points of one loop with equal locals would look like one state and a cached
    search would prune the second.  ``gc.get_referents`` of a generator lists its
    value stack (CPython); each iterator is fingerprinted by its ``__reduce__``,
    which gives the sequence and the position, and a generator looped over by
    its own frames (what it would yield next depends on where it is).  The
    generator the frame delegates to (``yield from``) is the thread's next frame,
    fingerprinted there.
    """
    positions: list[Any] = []
    over_generators = False
    delegate = gen.gi_yieldfrom
    for ref in gc.get_referents(gen):
        if isinstance(ref, _ITERATORS):
            reduced: Any = ref.__reduce__()
            _fn, (sequence,), index = reduced
            positions.append((canon(tuple(sequence)), index))
        elif isinstance(ref, Generator):
            if ref is not delegate:
                positions.append(("generator", full_thread_fingerprint(ref)))
                over_generators = True
        elif isinstance(ref, Iterator):
            raise ModelError(
                f"{gen.gi_code.co_qualname}: a for loop over a {type(ref).__name__} cannot be"
                " fingerprinted; loop over a tuple, list or range"
            )
    return tuple(positions), over_generators
