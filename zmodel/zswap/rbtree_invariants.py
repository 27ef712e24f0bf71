"""The red-black invariants of an rbtree.py tree, for tests and quiescence checks.

Both functions read with ``heap.peek``: they record no footprint and may run
outside a model step.
"""

from __future__ import annotations

from typing import Any

from zmodel.runtime import Heap, MemObject
from zmodel.zswap.rbtree import BLACK, COLOR, LEFT, PARENT, RED, RIGHT


class _Broken(Exception):  # noqa: N818 - internal control flow, not an error type
    pass


def check_invariants(heap: Heap, root: MemObject, key_field: str) -> str | None:
    """Describe the first violated invariant, or return None.

    Checks: the root is black with no parent; no node is freed or reached twice;
    parent pointers match child pointers; colours are valid; no red node has a
    red child; every root-to-leaf path has the same number of black nodes; keys
    are strictly increasing in order.  Reads with ``heap.peek``, so it records
    no footprint and may run outside a model step (quiescence checks, tests).
    """
    top = heap.peek(root, "rb_node")
    if top is None:
        return None
    try:
        _walk(heap, key_field, set(), top, None, None, None)
    except _Broken as broken:
        return str(broken)
    return None


def _walk(
    heap: Heap, key_field: str, seen: set[int], node: Any, parent: MemObject | None,
    lo: Any, hi: Any,
) -> int:  # fmt: skip
    """The black height under ``node``; raises _Broken at the first broken invariant.

    A module function, not a closure calling itself (a reference cycle: see
    rbtree._postorder)."""
    if node is None:
        return 0
    if not isinstance(node, MemObject):
        raise _Broken(f"non-node {node!r} linked under {parent!r}")
    if node.oid in seen:
        raise _Broken(f"{node!r} reached twice (cycle or shared subtree)")
    seen.add(node.oid)
    if node.freed:
        raise _Broken(f"freed node {node!r} is still in the tree")
    if heap.peek(node, PARENT) is not parent:
        raise _Broken(f"{node!r}.rb_parent is {heap.peek(node, PARENT)!r}, expected {parent!r}")
    color = heap.peek(node, COLOR)
    if color not in (RED, BLACK):
        raise _Broken(f"{node!r} has colour {color!r}")
    if parent is None and color != BLACK:
        raise _Broken(f"root {node!r} is red")
    if color == RED and parent is not None and heap.peek(parent, COLOR) == RED:
        raise _Broken(f"red {node!r} has red parent {parent!r}")
    key = heap.peek(node, key_field)
    if (lo is not None and not lo < key) or (hi is not None and not key < hi):
        raise _Broken(f"{node!r} key {key!r} out of order (between {lo!r} and {hi!r})")
    left_height = _walk(heap, key_field, seen, heap.peek(node, LEFT), node, lo, key)
    right_height = _walk(heap, key_field, seen, heap.peek(node, RIGHT), node, key, hi)
    if left_height != right_height:
        raise _Broken(f"black heights differ under {node!r}: {left_height} vs {right_height}")
    return left_height + int(color == BLACK)


def keys_inorder(heap: Heap, root: MemObject, key_field: str) -> list[Any]:
    """The keys in in-order sequence (a checker view: ``heap.peek``, no footprint)."""
    out: list[Any] = []
    _keys(heap, key_field, heap.peek(root, "rb_node"), out)
    return out


def _keys(heap: Heap, key_field: str, node: MemObject | None, out: list[Any]) -> None:
    if node is not None:
        _keys(heap, key_field, heap.peek(node, LEFT), out)
        out.append(heap.peek(node, key_field))
        _keys(heap, key_field, heap.peek(node, RIGHT), out)
