"""The heap rbtree against a dict model, and its stepwise behaviour."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from zmodel.runtime import Heap, MemObject, Violation
from zmodel.runtime.faults import USE_AFTER_FREE
from zmodel.zswap.rbtree import (
    BLACK,
    RED,
    init_node,
    node_in_tree,
    postorder,
    rb_erase,
    rb_first,
    rb_insert,
    rb_next,
    rb_search,
    run,
)
from zmodel.zswap.rbtree_invariants import check_invariants, keys_inorder

KEY = "offset"
KEYS = st.integers(min_value=0, max_value=31)


def new_tree() -> tuple[Heap, MemObject]:
    heap = Heap()
    return heap, heap.alloc("rb_root", {"rb_node": None}, root=True)


def new_entry(heap: Heap, key: int) -> MemObject:
    entry = heap.alloc("zswap_entry", {KEY: key})
    init_node(heap, entry)
    return entry


def build(keys: list[int]) -> tuple[Heap, MemObject, dict[int, MemObject]]:
    heap, root = new_tree()
    nodes = {}
    for key in keys:
        nodes[key] = new_entry(heap, key)
        assert run(rb_insert(heap, root, nodes[key], KEY)) is None
    return heap, root, nodes


def in_order(heap: Heap, root: MemObject) -> list[MemObject]:
    out = []
    node = rb_first(heap, root)
    while node is not None:
        out.append(node)
        node = rb_next(heap, node)
    return out


class RbTreeMachine(RuleBasedStateMachine):
    """Random inserts, erases (followed by a free) and searches, checked against a dict."""

    def __init__(self) -> None:
        super().__init__()
        self.heap, self.root = new_tree()
        self.model: dict[int, MemObject] = {}

    @rule(key=KEYS)
    def insert(self, key: int) -> None:
        node = new_entry(self.heap, key)
        existing = run(rb_insert(self.heap, self.root, node, KEY))
        if key in self.model:
            assert existing is self.model[key]
            assert not node_in_tree(self.heap, node)
            self.heap.free(node)
        else:
            assert existing is None
            assert node_in_tree(self.heap, node)
            self.model[key] = node

    @precondition(lambda self: self.model)
    @rule(data=st.data())
    def erase_and_free(self, data: st.DataObject) -> None:
        key = data.draw(st.sampled_from(sorted(self.model)))
        node = self.model.pop(key)
        run(rb_erase(self.heap, self.root, node))
        init_node(self.heap, node)
        assert not node_in_tree(self.heap, node)
        # Any later walk that reaches this node raises a use-after-free Violation.
        self.heap.free(node)

    @rule(key=KEYS)
    def search(self, key: int) -> None:
        assert run(rb_search(self.heap, self.root, key, KEY)) is self.model.get(key)

    @invariant()
    def matches_model(self) -> None:
        assert check_invariants(self.heap, self.root, KEY) is None
        assert keys_inorder(self.heap, self.root, KEY) == sorted(self.model)
        assert in_order(self.heap, self.root) == [self.model[k] for k in sorted(self.model)]
        # Keys stay with their node objects (erase relinks, never copies keys).
        for key, node in self.model.items():
            assert self.heap.get(node, KEY) == key

    @invariant()
    def postorder_puts_children_first(self) -> None:
        order = postorder(self.heap, self.root)
        assert {n.oid for n in order} == {n.oid for n in self.model.values()}
        position = {n.oid: i for i, n in enumerate(order)}
        for node in order:
            for side in ("rb_left", "rb_right"):
                child = self.heap.get(node, side)
                if child is not None:
                    assert position[child.oid] < position[node.oid]


RbTreeMachine.TestCase.settings = settings(max_examples=200, stateful_step_count=40, deadline=None)
TestRbTreeAgainstDict = RbTreeMachine.TestCase


@settings(max_examples=30, deadline=None)
@given(st.permutations(range(64)), st.permutations(range(64)))
def test_bulk_insert_then_erase_everything(inserts: list[int], erases: list[int]) -> None:
    heap, root, nodes = build(inserts)
    assert keys_inorder(heap, root, KEY) == list(range(64))
    remaining = set(range(64))
    for key in erases:
        run(rb_erase(heap, root, nodes[key]))
        heap.free(nodes[key])
        remaining.discard(key)
        assert check_invariants(heap, root, KEY) is None
        assert keys_inorder(heap, root, KEY) == sorted(remaining)
    assert heap.get(root, "rb_node") is None


@settings(max_examples=100, deadline=None)
@given(st.lists(KEYS, unique=True, min_size=1), st.data())
def test_every_intermediate_step_is_a_search_tree(keys: list[int], data: st.DataObject) -> None:
    """Rotations keep the in-order sequence, so a stepping walker sees a valid BST."""
    heap, root = new_tree()
    nodes: dict[int, MemObject] = {}
    for key in keys:
        nodes[key] = new_entry(heap, key)
        for _label in rb_insert(heap, root, nodes[key], KEY):
            assert keys_inorder(heap, root, KEY) == sorted(nodes)
    for key in data.draw(st.permutations(keys)):
        node = nodes.pop(key)
        for _label in rb_erase(heap, root, node):
            assert keys_inorder(heap, root, KEY) == sorted(nodes)
        assert check_invariants(heap, root, KEY) is None


def test_rotations_are_separate_steps() -> None:
    heap, root, nodes = build([1, 2])
    labels = list(rb_insert(heap, root, new_entry(heap, 3), KEY))
    assert labels == ["rb_insert: link", "rb_insert: rotate_left"]

    # Inner grandchild: a double rotation, one step each.
    heap, root, nodes = build([3, 1])
    labels = list(rb_insert(heap, root, new_entry(heap, 2), KEY))
    assert labels == ["rb_insert: link", "rb_insert: rotate_left", "rb_insert: rotate_right"]

    # Erasing a black leaf whose sibling has a far red child: case 4 rotation.
    heap, root, nodes = build([2, 1, 3, 4])
    labels = list(rb_erase(heap, root, nodes[1]))
    assert labels == ["rb_erase: unlink", "rb_erase: rotate_left"]
    assert check_invariants(heap, root, KEY) is None


def test_erase_with_two_children_relinks_the_successor() -> None:
    heap, root, nodes = build(list(range(7)))
    top = heap.get(root, "rb_node")
    assert heap.get(top, "rb_left") is not None and heap.get(top, "rb_right") is not None
    top_key = heap.get(top, KEY)
    run(rb_erase(heap, root, top))
    successor = nodes[top_key + 1]
    assert heap.get(root, "rb_node") is successor  # the object moved, not its key
    assert heap.get(successor, KEY) == top_key + 1
    assert heap.get(top, KEY) == top_key
    assert check_invariants(heap, root, KEY) is None
    assert run(rb_search(heap, root, top_key, KEY)) is None


def test_search_yields_once_per_visited_node() -> None:
    heap, root, nodes = build(list(range(15)))
    gen = rb_search(heap, root, 0, KEY)
    labels = []
    with pytest.raises(StopIteration) as stop:
        while True:
            labels.append(next(gen))
    assert stop.value.value is nodes[0]
    depth, node = 1, nodes[0]
    while (node := heap.get(node, "rb_parent")) is not None:
        depth += 1
    assert depth >= 3
    assert labels == ["rb_search: visit"] * depth


def test_stepped_walker_hits_a_node_freed_under_it() -> None:
    """Q2 in miniature: the walker loads the root pointer, then the root is freed."""
    heap, root, nodes = build([1, 2, 3])
    walker = rb_search(heap, root, 3, KEY)
    assert next(walker) == "rb_search: visit"  # loaded root.rb_node, not yet dereferenced
    victim = nodes[2]
    assert heap.get(root, "rb_node") is victim
    run(rb_erase(heap, root, victim))
    heap.free(victim)
    with pytest.raises(Violation) as err:
        next(walker)
    assert err.value.prop == USE_AFTER_FREE


def test_search_records_its_footprint() -> None:
    heap, root, nodes = build([1, 2, 3])
    heap.begin_step(0)
    run(rb_search(heap, root, 3, KEY))
    reads, writes = heap.end_step()
    assert (nodes[2].oid, KEY) in reads and (nodes[3].oid, KEY) in reads
    assert (nodes[1].oid, KEY) not in reads
    assert not writes


def test_duplicate_insert_changes_nothing() -> None:
    heap, root, nodes = build([5, 3, 8])
    before = heap.fingerprint()
    dup = new_entry(heap, 3)
    labels = []
    gen = rb_insert(heap, root, dup, KEY)
    with pytest.raises(StopIteration) as stop:
        labels.append(next(gen))
    assert stop.value.value is nodes[3]
    assert labels == []
    heap.free(dup)
    assert [obj for obj in heap.fingerprint() if obj[0] != dup.oid] == list(before)


def test_first_next_and_cleared_nodes() -> None:
    heap, root = new_tree()
    assert rb_first(heap, root) is None
    heap, root, nodes = build([4, 2, 6])
    assert in_order(heap, root) == [nodes[2], nodes[4], nodes[6]]
    loose = new_entry(heap, 9)
    assert not node_in_tree(heap, loose)
    assert rb_next(heap, loose) is None


def test_check_invariants_catches_broken_trees() -> None:
    def fresh() -> tuple[Heap, MemObject, dict[int, MemObject]]:
        return build([1, 2, 3])  # 2 black at the root, 1 and 3 red

    heap, root, nodes = fresh()
    assert check_invariants(heap, root, KEY) is None

    heap, root, nodes = fresh()
    heap.set(nodes[2], "rb_color", RED)
    assert "root" in (check_invariants(heap, root, KEY) or "")

    heap, root, nodes = fresh()
    red_child = new_entry(heap, 4)
    heap.set(red_child, "rb_parent", nodes[3])
    heap.set(red_child, "rb_color", RED)
    heap.set(nodes[3], "rb_right", red_child)
    assert "red parent" in (check_invariants(heap, root, KEY) or "")

    heap, root, nodes = fresh()
    heap.set(nodes[1], "rb_color", BLACK)
    assert "black heights" in (check_invariants(heap, root, KEY) or "")

    heap, root, nodes = fresh()
    heap.set(nodes[1], KEY, 7)
    assert "out of order" in (check_invariants(heap, root, KEY) or "")

    heap, root, nodes = fresh()
    heap.set(nodes[3], "rb_parent", nodes[1])
    assert "rb_parent" in (check_invariants(heap, root, KEY) or "")

    heap, root, nodes = fresh()
    heap.free(nodes[3])
    assert "freed" in (check_invariants(heap, root, KEY) or "")

    heap, root, nodes = fresh()
    heap.set(nodes[1], "rb_left", nodes[2])
    assert "twice" in (check_invariants(heap, root, KEY) or "")


def test_stepped_walker_can_miss_a_key_moved_by_a_rotation() -> None:
    """Without a lock or seqcount, a rotation can take the target out of the walk."""
    heap, root, nodes = build([2, 1, 3, 4])
    walker = rb_search(heap, root, 3, KEY)
    next(walker)  # loaded a pointer to 2, the root
    assert list(rb_erase(heap, root, nodes[1]))[-1] == "rb_erase: rotate_left"  # 3 is root now
    with pytest.raises(StopIteration) as stop:
        next(walker)  # 3 > 2, but 2's right child is gone
    assert stop.value.value is None
    assert run(rb_search(heap, root, 3, KEY)) is nodes[3]
