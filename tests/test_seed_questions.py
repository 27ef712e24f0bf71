"""docs/seed-questions.md says what the checker says: every ``zmodel`` command in it
runs, in a fresh directory, with the output and exit status the document shows; every
counterexample it names is committed; the colleagues' answers it includes are current."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.doc_commands import ROOT, commands, run

DOC = ROOT / "docs" / "seed-questions.md"
_INCLUDE = re.compile(r"<!-- begin (\S+) -->\n(.*?)<!-- end \1 -->", re.S)
_CX_PATH = re.compile(r"counterexamples/[\w.+-]+/[\w.+-]+\.json")


def test_every_command_of_the_document(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    found = commands(DOC.read_text())
    assert len(found) >= 7
    # Counterexamples land in ./counterexamples with the CLI's default --out, so a fresh
    # directory shows the file names a first run gets: the committed ones.
    monkeypatch.chdir(tmp_path)
    for command in found:
        run(command)


def test_every_counterexample_it_names_is_committed() -> None:
    named = set(_CX_PATH.findall(DOC.read_text()))
    assert named
    missing = sorted(path for path in named if not (ROOT / path).is_file())
    assert not missing, f"not committed: {missing}"


def test_every_question_is_answered() -> None:
    text = DOC.read_text()
    for n in range(1, 7):
        assert re.search(rf"^## Q{n}: ", text, re.M), f"no section for Q{n}"
    own = [s for s in re.split(r"^## ", text, flags=re.M) if re.match(r"Q[1236]:", s)]
    assert len(own) == 4
    for section in own:
        for part in ("**What the thread got right.**", "**What it missed.**", "**Where the kernel"):
            assert part in section, f"{section.splitlines()[0]}: no {part}"


@pytest.mark.parametrize("name", ["docs/seed-questions/q4.md", "docs/seed-questions/q5.md"])
def test_included_answers_match_their_files(name: str) -> None:
    included = {path: body for path, body in _INCLUDE.findall(DOC.read_text())}
    assert name in included, f"no '<!-- begin {name} -->' section"
    source = ROOT / name
    if source.is_file():
        assert included[name].strip() == source.read_text().strip(), (
            f"{name} changed: copy it into {DOC.name} between its markers"
        )
    else:
        assert "Pending" in included[name]
