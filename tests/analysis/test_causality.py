"""The decisive step and the racing pair of the 2013 leak, from one observed replay."""

from __future__ import annotations

from pathlib import Path

from zmodel.analysis.causality import function_of, observe_replay
from zmodel.counterexample import replay_file

ROOT = Path(__file__).resolve().parents[2]
LEAK = ROOT / "counterexamples" / "zswap-3.11" / "leak-b7bbdb09db.json"


def test_the_leak_is_blamed_on_the_last_put() -> None:
    obs, why = observe_replay(replay_file(LEAK))
    assert why is not None and why.decisive is not None
    decisive = obs.steps[why.decisive]
    assert decisive.step.label == "zswap_writeback_entry fail: zswap_entry_put"
    assert any(c.field == "refcount" and c.after == "0" for c in decisive.changes)
    assert why.pair is not None
    assert why.pair.second.step == why.decisive
    assert why.pair.first.function == "zswap_frontswap_invalidate_page"
    assert (why.pair.first.before, why.pair.first.after) == ("2", "1")
    steps = [(e.first.step, e.second.step) for e in why.chain]
    assert steps == sorted(steps, key=lambda s: (s[1], s[0]))


def test_function_of_a_label() -> None:
    assert function_of("zswap_writeback_entry fail: zswap_entry_put") == "zswap_writeback_entry"
