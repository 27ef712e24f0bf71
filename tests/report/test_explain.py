"""explain's text folds the edges a loop repeats; its --json keeps every edge."""

from __future__ import annotations

import re
from pathlib import Path

from zmodel.analysis.causality import observe_replay
from zmodel.counterexample import replay_file
from zmodel.report.explain import explain_json, fold, render_explain

ROOT = Path(__file__).resolve().parents[2]
#: zswap-2013's flush loop re-reads and re-writes the entry's lru 31 times.
FLUSH_LEAK = ROOT / "counterexamples" / "zswap-2013" / "leak-c0ee4bfe4a.json"
LEAK_311 = ROOT / "counterexamples" / "zswap-3.11" / "leak-33014013d8.json"


def _chain_lines(text: str) -> list[str]:
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("how it got there"))
    end = lines.index("", start)
    return lines[start + 1 : end]


def test_a_loops_repeated_edges_are_one_line_each() -> None:
    _, why = observe_replay(replay_file(FLUSH_LEAK))
    assert why is not None and why.pair is not None
    groups = fold(why.chain)
    assert sum(len(g) for g in groups) == len(why.chain) > 40
    lines = _chain_lines(render_explain(why, recurs=True))
    assert len(lines) == len(groups) <= 4
    folded = next(line for line in lines if "zswap_flush_entries wrote it at" in line)
    count = re.search(r"at (\d+) steps: 97, 100, 108, \.\.\., 262 \(", folded)
    assert count is not None and int(count.group(1)) == max(len(g) for g in groups)
    assert f"{why.pair.second.step}" in folded  # the racing pair's step stays on screen
    # --json: every edge, each with its own sentence.
    assert len(explain_json(why, recurs=True)["chain"]) == len(why.chain)


def test_edges_that_do_not_repeat_are_unchanged() -> None:
    _, why = observe_replay(replay_file(LEAK_311))
    assert why is not None
    lines = _chain_lines(render_explain(why, recurs=True))
    sentences = [edge["text"] for edge in explain_json(why, recurs=True)["chain"]]
    assert lines == [f"  {text};" for text in sentences]
