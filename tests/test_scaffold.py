"""``zmodel new-design``'s starting file (zmodel/scaffold.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from zmodel.design_contract import check_design
from zmodel.scaffold import class_name, scaffold, steps_of
from zmodel.zswap.designs import resolve_design


def test_the_named_steps_a_change_overrides_are_listed() -> None:
    steps = {name: doc for name, _, doc in steps_of(resolve_design("zswap-6.12"))}
    for step in ("writeback_take_folio", "writeback_claim", "writeback_write", "store"):
        assert step in steps
    assert steps["writeback_claim"].startswith("xa_cmpxchg(tree, offset, entry, NULL)")
    assert "holds" not in steps  # a view, not a step
    assert "load_find_get" in {name for name, _, _ in steps_of(resolve_design("zswap-3.11"))}


@pytest.mark.parametrize("base", ["zswap-3.11", "zswap-6.12", "zswap-6.13"])
def test_the_starting_file_loads_and_keeps_the_contract(base: str, tmp_path: Path) -> None:
    path = tmp_path / "mine.py"
    path.write_text(scaffold(resolve_design(base), base, "my-change"))
    cls = resolve_design(f"{path}:{class_name('my-change')}")
    assert cls.name == "my-change"
    assert check_design(cls) == []


def test_class_names() -> None:
    assert class_name("my-612-early-claim") == "My612EarlyClaim"
    assert class_name("612") == "D612"
