"""zmodel's pytest plugin: a failing property suite of a user's design prints a replay
command that reproduces the violation from any directory."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from tests.doc_commands import ROOT

BUGGY = '''
from zmodel.zswap.designs.zswap_311 import Zswap311


class NoNegative(Zswap311):
    """3.11 with refcount -1 forbidden: the checker must reach it."""

    refcount_range = (0, None)
'''


def pytest_run(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    suite = str(ROOT / "properties" / "test_exhaustive_suites.py")
    command = [sys.executable, "-m", "pytest", suite, "-p", "no:cacheprovider", "-p", "no:xdist"]
    return subprocess.run(
        [*command, "-q", *args], cwd=cwd, capture_output=True, text=True, check=False
    )


def test_the_printed_replay_command_reproduces_from_elsewhere(tmp_path: Path) -> None:
    work, elsewhere = tmp_path / "work", tmp_path / "elsewhere"
    work.mkdir()
    elsewhere.mkdir()
    (work / "bug.py").write_text(BUGGY)
    done = pytest_run(work, "--zmodel-design", "bug.py:NoNegative", "-k", "writeback-vs-free")
    assert done.returncode == 1, done.stdout + done.stderr
    (command,) = set(re.findall(r"zmodel replay (\S+\.json)", done.stdout))
    saved = Path(command)
    # The default directory: counterexamples/ of where pytest ran, not a pytest tmp dir.
    assert saved.parent == work / "counterexamples" / "bug_NoNegative", saved
    replay = subprocess.run(
        [sys.executable, "-m", "zmodel", "replay", command],
        cwd=elsewhere,
        capture_output=True,
        text=True,
        check=False,
    )
    assert replay.returncode == 1, replay.stdout + replay.stderr
    assert "VIOLATION RECURS: refcount" in replay.stdout


def test_zmodel_out_chooses_the_directory(tmp_path: Path) -> None:
    (tmp_path / "bug.py").write_text(BUGGY)
    out = tmp_path / "saved-here"
    args = ["--zmodel-design", "bug.py:NoNegative", "--zmodel-out", str(out)]
    done = pytest_run(tmp_path, *args, "-k", "writeback-vs-free")
    assert done.returncode == 1
    assert [p.parent.name for p in out.rglob("*.json")] == ["bug_NoNegative"]
    assert not (tmp_path / "counterexamples").exists()
