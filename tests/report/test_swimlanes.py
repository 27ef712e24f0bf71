"""Swimlanes: columns per thread, wrapping, the violation mark, folding."""

from __future__ import annotations

from zmodel.report.swimlanes import Violation, find_repeats, lane_headers, render_swimlanes

LANES = ["setup: store 1 A", "T1: writeback", "T2: free 1"]
STEPS = [
    (0, "get_swap_page"),
    (0, "zswap_frontswap_store: zswap_rb_insert"),
    (1, "zswap_writeback_entry: zswap_entry_get"),
    (2, "zswap_frontswap_invalidate_page: rb_erase; zswap_entry_put"),
    (1, "zswap_get_swap_cache_page: swapcache_prepare"),
    (1, "zswap_writeback_entry fail: zswap_entry_put"),
]


def column_of(text: str, label: str) -> int:
    """Which '|'-separated column of its row a label starts in."""
    for line in text.splitlines():
        if label in line:
            return line[: line.index(label)].count("|")
    raise AssertionError(f"{label!r} not rendered")


def test_labels_sit_in_their_threads_column() -> None:
    text = render_swimlanes(STEPS, LANES, width=100)
    header = text.splitlines()[0]
    assert header.split("|")[0].strip() == "step"
    assert [c.strip() for c in header.split("|")[1:]] == ["T1: writeback", "T2: free 1"]
    assert column_of(text, "zswap_writeback_entry: zswap_entry_get") == 1
    assert column_of(text, "zswap_frontswap_invalidate_page") == 2
    assert column_of(text, "swapcache_prepare") == 1
    # Step indices are the trace's, setup included.
    assert any(line.split("|")[0].strip() == "3" for line in text.splitlines())


def test_setup_is_folded_by_default_and_shown_on_request() -> None:
    folded = render_swimlanes(STEPS, LANES)
    assert "setup: store 1 A: 2 steps (0-1), folded" in folded
    assert "get_swap_page" not in folded
    lane = render_swimlanes(STEPS, LANES, setup="lane", width=120)
    assert [c.strip() for c in lane.splitlines()[0].split("|")[1:]] == LANES
    assert column_of(lane, "get_swap_page") == 1
    assert column_of(lane, "zswap_frontswap_invalidate_page") == 3


def test_in_step_violation_is_marked() -> None:
    text = render_swimlanes(
        STEPS, LANES, violation=Violation(4, "use-after-free", "read of freed <entry#3>")
    )
    marked = [line for line in text.splitlines() if line.startswith(">>")]
    assert marked and marked[0].split("|")[0].strip() == ">> 4"
    assert "swapcache_prepare" in marked[0]
    assert ">> step 4 (T1): use-after-free: read of freed <entry#3>" in text


def test_end_state_violation_gets_an_end_row() -> None:
    text = render_swimlanes(STEPS, LANES, violation=Violation(len(STEPS), "leak", "<entry#1>"))
    assert text.splitlines()[-1] == "end (all threads done): leak: <entry#1>"
    assert not any(line.startswith(">>") for line in text.splitlines())


def test_violation_in_the_setup_unfolds_it() -> None:
    text = render_swimlanes(STEPS, LANES, violation=Violation(1, "bug-on", "BUG_ON"))
    assert "folded" not in text
    assert column_of(text, "get_swap_page") == 1


def test_long_labels_wrap_within_the_width() -> None:
    long = "zswap_get_swap_cache_page: " + " ".join(["swapcache_prepare"] * 12)
    steps = [*STEPS, (2, long)]
    for width in (80, 100, 120):
        text = render_swimlanes(steps, LANES, width=width)
        assert max(len(line) for line in text.splitlines()) <= width
        assert " ..." in text  # cut after three lines
    lines = render_swimlanes(steps, LANES, width=80).splitlines()
    start = next(i for i, line in enumerate(lines) if line.split("|")[0].strip() == "6")
    assert len(lines[start:]) == 3  # three lines, the last one cut
    assert lines[start].endswith("zswap_get_swap_cache_page:")
    assert lines[-1].endswith(" ...")


def test_many_threads_keep_a_minimum_lane_width() -> None:
    lanes = ["setup", *(f"T{i}" for i in range(1, 9))]
    steps = [(tid, f"step of T{tid}") for tid in range(1, 9)]
    text = render_swimlanes(steps, lanes, width=80)
    assert column_of(text, "step of T8") == 8


def test_repeated_blocks_are_folded() -> None:
    loop = [(1, "zbud_reclaim_page: spin_lock"), (1, "zswap_writeback_entry: search")]
    steps = [(0, "setup"), (2, "free"), *loop * 5, (1, "zbud_reclaim_page: -EAGAIN")]
    text = render_swimlanes(steps, LANES)
    assert text.count("zbud_reclaim_page: spin_lock") == 1
    assert "4-11: the 2 steps above, 4 more times" in text
    assert "zbud_reclaim_page: -EAGAIN" in text
    unfolded = render_swimlanes(steps, LANES, fold_repeats=False)
    assert unfolded.count("zbud_reclaim_page: spin_lock") == 5
    # A copy holding the violation is not folded away.
    marked = render_swimlanes(steps, LANES, violation=Violation(8, "refcount", "-2"))
    assert ">> 8" in marked


def test_find_repeats() -> None:
    a, b, c = (1, "a"), (1, "b"), (2, "c")
    assert find_repeats([a, b, a, b, a, b, c], set()) == {0: (2, 2)}
    assert find_repeats([a, a, a, a], set()) == {0: (1, 3)}
    assert find_repeats([a, b, a, b, c], set()) == {}  # twice is not folded
    assert find_repeats([a, a, a, a], {2}) == {}
    assert find_repeats([], set()) == {}


def test_lane_headers() -> None:
    assert lane_headers(["setup", "T1", "T2"], ["writeback", "free 1"], "store 1 A") == LANES
    assert lane_headers(["setup", "T1"], ["load 1"], "") == ["setup", "T1: load 1"]


def test_notes_sit_under_the_label_and_marks_before_the_index() -> None:
    text = render_swimlanes(STEPS, LANES, notes={2: ["refcount 1->0"]}, marks={2: "~~"})
    lines = text.splitlines()
    at = next(i for i, line in enumerate(lines) if line.startswith("~~ 2 "))
    assert "refcount 1->0" in lines[at + 1] and not lines[at + 1].split("|")[0].strip()
    plain_text = render_swimlanes(STEPS, LANES)
    assert "~~" not in plain_text and "refcount" not in plain_text
