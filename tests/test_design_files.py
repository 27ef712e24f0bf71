"""docs/designing-a-change.md works as written: its design file, copied out of the
document into a fresh directory, goes through check, verify and replay with the output
and exit codes the document shows."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from tests.doc_commands import ROOT, commands, run
from zmodel.cli import cli

DOC = ROOT / "docs" / "designing-a-change.md"
_FILE = re.compile(r"<!-- file: (\S+) -->\n```python\n(.*?)^```", re.S | re.M)


def design_file(markdown: str) -> tuple[str, str]:
    """The path the document writes to, and the file's text."""
    match = _FILE.search(markdown)
    assert match, f"{DOC.name}: no '<!-- file: PATH -->' python block"
    return match.group(1), match.group(2)


def test_the_example_is_about_ten_lines() -> None:
    _, text = design_file(DOC.read_text())
    code = [
        line
        for line in text.splitlines()
        if line.strip() and not line.strip().startswith(("#", '"""', "from ", "import "))
    ]
    assert len(code) <= 14, "\n".join(code)


def test_every_command_of_the_document(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    markdown = DOC.read_text()
    copies: dict[str, str] = {}
    for match in _FILE.finditer(markdown):  # every file the document writes
        copy = tmp_path / Path(match.group(1)).name
        copy.write_text(match.group(2))
        copies[match.group(1)] = str(copy)
    found = commands(markdown)
    used = {arg.split(":")[0] for cmd in found for arg in cmd.argv if arg.split(":")[0] in copies}
    assert used == set(copies), "the commands should use the files the document writes"
    verbs = {cmd.argv[0] for cmd in found}
    assert {"check", "verify", "replay"} <= verbs
    # A fresh directory: counterexamples land in ./counterexamples, as a user's would.
    monkeypatch.chdir(tmp_path)
    for cmd in found:
        run(cmd, replace=copies)


BUGGY = '''
from zmodel.zswap.designs.zswap_311 import Zswap311


class NoNegative(Zswap311):
    """3.11 with refcount -1 forbidden: the checker must reach it."""

    refcount_range = (0, None)
'''


def test_a_file_design_counterexample_replays_from_anywhere(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    work, elsewhere = tmp_path / "work", tmp_path / "elsewhere"
    work.mkdir()
    elsewhere.mkdir()
    (work / "bug.py").write_text(BUGGY)
    monkeypatch.chdir(work)
    result = CliRunner().invoke(
        cli, ["check", "--design", "bug.py:NoNegative", "--scenario", "writeback-vs-free"]
    )
    assert result.exit_code == 1, result.output
    (saved,) = (work / "counterexamples" / "bug_NoNegative").glob("refcount-*.json")
    # The design is found again from the file's absolute path, whatever the directory.
    monkeypatch.chdir(elsewhere)
    replayed = CliRunner().invoke(cli, ["replay", str(saved)], env={"COLUMNS": "100"})
    assert replayed.exit_code == 1, replayed.output
    assert "VIOLATION RECURS: refcount" in replayed.output
