"""docs/designing-a-change.md's three changes: each a few lines (the commands are run
by tests/test_design_files.py)."""

from __future__ import annotations

import ast
import re

from tests.doc_commands import ROOT

DOC = ROOT / "docs" / "designing-a-change.md"


def _changes_file() -> str:
    text = DOC.read_text()
    block = re.search(r"<!-- file: /tmp/changes.py -->\n```python\n(.*?)^```", text, re.S | re.M)
    assert block is not None
    return block.group(1)


def test_each_change_is_at_most_ten_lines() -> None:
    source = _changes_file()
    lines = source.splitlines()
    classes = [node for node in ast.parse(source).body if isinstance(node, ast.ClassDef)]
    assert [c.name for c in classes] == ["EarlyClaim", "UnlockedGet", "PutKeeps"]
    for cls in classes:
        assert cls.end_lineno is not None
        body = [line for line in lines[cls.lineno : cls.end_lineno] if line.strip()]
        assert len(body) <= 10, (cls.name, body)  # the non-blank lines under the class line
