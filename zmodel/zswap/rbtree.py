"""A red-black tree on heap objects, rebalanced like Linux ``lib/rbtree.c``.

zswap keeps its entries in an rbtree keyed by swap offset, and several of the
races we study (Q2: how can an entry be freed while another thread walks the
tree?) only exist because insert and erase *restructure* the tree.  A model that
used a dict would hide them, so this module implements real insert and erase
with the standard recolouring and rotation cases, and every field access goes
through :class:`~zmodel.runtime.memory.Heap` so footprints are recorded and a
walk onto a freed node is reported as a use-after-free.

Why generators.  Each operation is written once, as a generator that yields a
short label after every structural sub-step (linking or unlinking the node, one
rotation, one recolouring case).  The same code serves two kinds of model:

* under the tree lock (zswap's ``tree->lock``) the whole operation is one atomic
  step: call :func:`run`, which drains the generator and returns its result;
* to model a lock-free walker racing with a writer, a model advances the
  generator itself, one ``next()`` per model step, so the walker can observe the
  tree between two rotations, or load a child pointer in one step and
  dereference it in the next.  Between yields the pointer structure is always a
  consistent binary search tree (only the colours may be mid-fixup), but a
  rotation can still move the sought node out of a stepped walker's path, so a
  lockless search may miss a key that is present, as in the kernel.

Simplifications relative to ``lib/rbtree.c``: no augmented-tree callbacks; the
colour is a field of its own (``rb_color``) rather than the low bit of the
parent pointer; the key comparison is built in (``key_field``) rather than
open-coded by each caller; and a rotation is one atomic step, whereas the kernel
orders its individual stores (``WRITE_ONCE``) for the benefit of latched
lockless readers.  Like the kernel, :func:`rb_erase` leaves the erased node's
own pointers stale; callers that need ``RB_EMPTY_NODE`` to hold afterwards call
:func:`init_node` (as ``zswap_rb_erase`` does with ``RB_CLEAR_NODE``).
"""

from __future__ import annotations

from collections.abc import Generator
from typing import Any, TypeVar, cast

from zmodel.runtime.faults import Violation
from zmodel.runtime.memory import Heap, MemObject
from zmodel.zswap.faults import TREE_CORRUPTION

RED = "red"
BLACK = "black"
#: ``rb_parent`` of a node that is in no tree (the kernel points it at itself).
CLEARED = "cleared"

PARENT, LEFT, RIGHT, COLOR = "rb_parent", "rb_left", "rb_right", "rb_color"
_OTHER = {LEFT: RIGHT, RIGHT: LEFT}
#: Name of the rotation that lifts the child on the given side.
_ROTATION = {RIGHT: "rotate_left", LEFT: "rotate_right"}

T = TypeVar("T")
#: An operation in progress: yields step labels, returns ``T``.
Steps = Generator[str, None, T]


def run(gen: Generator[str, Any, T]) -> T:
    """Drain ``gen`` in one go (the caller holds the tree lock) and return its result."""
    while True:
        try:
            next(gen)
        except StopIteration as stop:
            return cast(T, stop.value)


# -- node state --------------------------------------------------------------


def init_node(heap: Heap, node: MemObject) -> None:
    """``RB_CLEAR_NODE``: mark ``node`` as in no tree."""
    heap.set(node, PARENT, CLEARED)
    heap.set(node, LEFT, None)
    heap.set(node, RIGHT, None)
    heap.set(node, COLOR, BLACK)


def node_in_tree(heap: Heap, node: MemObject) -> bool:
    """``!RB_EMPTY_NODE``."""
    return not _is_cleared(heap.get(node, PARENT))


def _is_cleared(parent: Any) -> bool:
    # A parent is a node or None; only the marker is a string.
    return isinstance(parent, str)


def _is_red(heap: Heap, node: MemObject | None) -> bool:
    # Empty children count as black.
    return node is not None and heap.get(node, COLOR) == RED


# -- structural helpers (each runs inside one step) ---------------------------


def _replace_child(
    heap: Heap, root: MemObject, parent: MemObject | None, old: MemObject, new: MemObject | None
) -> None:
    """Point whatever pointed at ``old`` (``parent``'s child slot or the root) at ``new``."""
    if parent is None:
        heap.set(root, "rb_node", new)
    elif heap.get(parent, LEFT) is old:
        heap.set(parent, LEFT, new)
    else:
        heap.set(parent, RIGHT, new)


def _rotate(heap: Heap, root: MemObject, x: MemObject, up: str) -> None:
    """Lift ``x``'s child on side ``up`` into ``x``'s place; ``x`` becomes its child.

    In-order sequence is preserved, which is what keeps the tree a valid search
    tree between steps.
    """
    down = _OTHER[up]
    y: MemObject = heap.get(x, up)
    inner = heap.get(y, down)
    heap.set(x, up, inner)
    if inner is not None:
        heap.set(inner, PARENT, x)
    parent = heap.get(x, PARENT)
    heap.set(y, PARENT, parent)
    _replace_child(heap, root, parent, x, y)
    heap.set(y, down, x)
    heap.set(x, PARENT, y)


def _leftmost(heap: Heap, node: MemObject) -> MemObject:
    while (left := heap.get(node, LEFT)) is not None:
        node = left
    return node


# -- search ------------------------------------------------------------------


def rb_search(heap: Heap, root: MemObject, key: Any, key_field: str) -> Steps[MemObject | None]:
    """Find the node whose ``key_field`` equals ``key`` (``zswap_rb_search``).

    Yields ``"rb_search: visit"`` once per node visited, *after* loading the
    pointer to it and *before* dereferencing it, so a stepped walk exposes the
    window in which that node can be erased and freed.
    """
    node: MemObject | None = heap.get(root, "rb_node")
    while node is not None:
        yield "rb_search: visit"
        node_key = heap.get(node, key_field)
        if key < node_key:
            node = heap.get(node, LEFT)
        elif key > node_key:
            node = heap.get(node, RIGHT)
        else:
            return node
    return None


# -- insert ------------------------------------------------------------------


def rb_insert(
    heap: Heap, root: MemObject, node: MemObject, key_field: str
) -> Steps[MemObject | None]:
    """Insert ``node`` keyed by its ``key_field``; return None, or the existing node.

    If a node with the same key is already in the tree, nothing is changed and
    that node is returned (``zswap_rb_insert`` returning ``-EEXIST`` with
    ``*dupentry`` set).  Otherwise the node is linked as a red leaf
    (``rb_link_node``) and the tree rebalanced (``rb_insert_color``).
    """
    key = heap.get(node, key_field)
    parent: MemObject | None = None
    side = LEFT
    cur: MemObject | None = heap.get(root, "rb_node")
    while cur is not None:
        cur_key = heap.get(cur, key_field)
        if key < cur_key:
            side = LEFT
        elif key > cur_key:
            side = RIGHT
        else:
            return cur
        parent, cur = cur, heap.get(cur, side)

    heap.set(node, PARENT, parent)
    heap.set(node, LEFT, None)
    heap.set(node, RIGHT, None)
    heap.set(node, COLOR, RED if parent is not None else BLACK)
    if parent is None:
        heap.set(root, "rb_node", node)
    else:
        heap.set(parent, side, node)
    yield "rb_insert: link"
    yield from _insert_fixup(heap, root, node)
    return None


def _insert_fixup(heap: Heap, root: MemObject, node: MemObject) -> Steps[None]:
    """Repair a red ``node`` that may have a red parent (``rb_insert_color``)."""
    while True:
        parent: MemObject | None = heap.get(node, PARENT)
        if parent is None or heap.get(parent, COLOR) == BLACK:
            return
        # A red parent is never the root, so the grandparent exists (and is black).
        gparent: MemObject = heap.get(parent, PARENT)
        side = LEFT if heap.get(gparent, LEFT) is parent else RIGHT
        uncle = heap.get(gparent, _OTHER[side])
        if _is_red(heap, uncle):
            # Case 1: push the grandparent's blackness down to both children, and
            # continue from the grandparent (unless it is the root, which stays black).
            heap.set(parent, COLOR, BLACK)
            heap.set(uncle, COLOR, BLACK)
            if heap.get(gparent, PARENT) is None:
                yield "rb_insert: recolor"
                return
            heap.set(gparent, COLOR, RED)
            yield "rb_insert: recolor"
            node = gparent
            continue
        if heap.get(parent, _OTHER[side]) is node:
            # Case 2: node is an inner grandchild; rotate it to the outside.
            _rotate(heap, root, parent, up=_OTHER[side])
            yield f"rb_insert: {_ROTATION[_OTHER[side]]}"
            node, parent = parent, node
        # Case 3: outer grandchild; rotate the parent above the grandparent.
        heap.set(parent, COLOR, BLACK)
        heap.set(gparent, COLOR, RED)
        _rotate(heap, root, gparent, up=side)
        yield f"rb_insert: {_ROTATION[side]}"
        return


# -- erase -------------------------------------------------------------------


def rb_erase(heap: Heap, root: MemObject, node: MemObject) -> Steps[None]:
    """Unlink ``node`` and rebalance (``rb_erase``).

    A node with two children is replaced by its in-order successor, relinked into
    its position (keys stay with their objects, as in the kernel).  The erased
    node's own fields are left stale.
    """
    left: MemObject | None = heap.get(node, LEFT)
    right: MemObject | None = heap.get(node, RIGHT)
    parent: MemObject | None = heap.get(node, PARENT)
    if _is_cleared(parent):
        # The kernel would relink whatever the node's stale pointers name; the model
        # stops at the cause (a second erase of one entry) rather than the mess after.
        raise Violation(TREE_CORRUPTION, f"rb_erase of {node!r}, which is in no tree")
    child: MemObject | None
    hole_parent: MemObject | None  # parent of the slot where a black may now be missing
    if left is None or right is None:
        child = right if left is None else left
        _replace_child(heap, root, parent, node, child)
        removed_black = heap.get(node, COLOR) == BLACK
        hole_parent = parent
    else:
        succ = _leftmost(heap, right)
        child = heap.get(succ, RIGHT)
        if succ is right:
            hole_parent = succ
        else:
            # Detach the successor from deep in the right subtree first.
            hole_parent = heap.get(succ, PARENT)
            heap.set(hole_parent, LEFT, child)
            heap.set(succ, RIGHT, right)
            heap.set(right, PARENT, succ)
        heap.set(succ, LEFT, left)
        heap.set(left, PARENT, succ)
        _replace_child(heap, root, parent, node, succ)
        # The successor takes over the node's colour; its own colour is what was
        # really removed from the tree, at its old position.
        removed_black = heap.get(succ, COLOR) == BLACK
        heap.set(succ, COLOR, heap.get(node, COLOR))
        heap.set(succ, PARENT, parent)
    if child is not None:
        heap.set(child, PARENT, hole_parent)
        if removed_black:
            # The only child of a black node is red: blacken it and we are done.
            heap.set(child, COLOR, BLACK)
            removed_black = False
    yield "rb_erase: unlink"
    if removed_black and hole_parent is not None:
        yield from _erase_fixup(heap, root, hole_parent)


def _erase_fixup(heap: Heap, root: MemObject, parent: MemObject) -> Steps[None]:
    """Restore black height after a black leaf was removed (``____rb_erase_color``).

    ``node`` (initially the empty slot) roots a subtree one black short.
    """
    node: MemObject | None = None
    while True:
        # Test against the right child: ``node`` may be None, but the sibling
        # cannot be (it carries at least the black that ``node`` lacks).
        side = LEFT if heap.get(parent, RIGHT) is not node else RIGHT
        other = _OTHER[side]
        sibling: MemObject = heap.get(parent, other)
        if _is_red(heap, sibling):
            # Case 1: rotate the red sibling up so node gets a black sibling.
            heap.set(sibling, COLOR, BLACK)
            heap.set(parent, COLOR, RED)
            _rotate(heap, root, parent, up=other)
            yield f"rb_erase: {_ROTATION[other]}"
            sibling = heap.get(parent, other)
        near = heap.get(sibling, side)
        far = heap.get(sibling, other)
        if not _is_red(heap, near) and not _is_red(heap, far):
            # Case 2: take a black off the sibling's side too; the deficit moves up.
            heap.set(sibling, COLOR, RED)
            if heap.get(parent, COLOR) == RED:
                heap.set(parent, COLOR, BLACK)
                yield "rb_erase: recolor"
                return
            yield "rb_erase: recolor"
            node, grand = parent, heap.get(parent, PARENT)
            if grand is None:
                return
            parent = grand
            continue
        if not _is_red(heap, far):
            # Case 3: only the near nephew is red; rotate it up into the sibling's
            # place.  Case 4 then recolours both, so no colour writes here.
            _rotate(heap, root, sibling, up=side)
            yield f"rb_erase: {_ROTATION[side]}"
            far, sibling = sibling, near
        # Case 4: far nephew red; rotate the sibling up and recolour to add a black.
        heap.set(sibling, COLOR, heap.get(parent, COLOR))
        heap.set(parent, COLOR, BLACK)
        heap.set(far, COLOR, BLACK)
        _rotate(heap, root, parent, up=other)
        yield f"rb_erase: {_ROTATION[other]}"
        return


# -- iteration (plain functions: zswap only iterates under the lock) ----------


def rb_first(heap: Heap, root: MemObject) -> MemObject | None:
    top: MemObject | None = heap.get(root, "rb_node")
    return None if top is None else _leftmost(heap, top)


def rb_next(heap: Heap, node: MemObject) -> MemObject | None:
    """In-order successor; None at the end or for a node in no tree (as in the kernel)."""
    parent = heap.get(node, PARENT)
    if _is_cleared(parent):
        return None
    right = heap.get(node, RIGHT)
    if right is not None:
        return _leftmost(heap, right)
    while parent is not None and heap.get(parent, RIGHT) is node:
        node, parent = parent, heap.get(parent, PARENT)
    return cast(MemObject | None, parent)


def postorder(heap: Heap, root: MemObject) -> list[MemObject]:
    """All nodes, children before parents (``rbtree_postorder_for_each_entry_safe``).

    The list is computed up front, so the caller may free each node as it goes.
    """
    out: list[MemObject] = []
    _postorder(heap, heap.get(root, "rb_node"), out)
    return out


# The walks below recurse through module functions, not closures: a closure that
# calls itself is a reference cycle (function -> cell -> function), which makes the
# run's whole object graph garbage only the cyclic collector frees (and its cost
# was a third of a search's CPU): tests/test_no_reference_cycles.py.
def _postorder(heap: Heap, node: MemObject | None, out: list[MemObject]) -> None:
    if node is not None:
        _postorder(heap, heap.get(node, LEFT), out)
        _postorder(heap, heap.get(node, RIGHT), out)
        out.append(node)


# -- checker views (heap.peek: no footprint, usable outside a step) -----------


def nodes_peek(heap: Heap, root: MemObject) -> list[MemObject]:
    """Every node reachable from ``root``, in order, without recording a footprint.

    Tolerates a corrupted tree: a node is visited at most once.
    """
    out: list[MemObject] = []
    _inorder_peek(heap, heap.peek(root, "rb_node"), out, set())
    return out


def _inorder_peek(heap: Heap, node: Any, out: list[MemObject], seen: set[int]) -> None:
    if isinstance(node, MemObject) and node.oid not in seen:
        seen.add(node.oid)
        _inorder_peek(heap, heap.peek(node, LEFT), out, seen)
        out.append(node)
        _inorder_peek(heap, heap.peek(node, RIGHT), out, seen)
