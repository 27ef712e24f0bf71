"""zmodel replay --html: one self-contained page, rendered by headless Chromium."""

from __future__ import annotations

import re
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import pytest
from click.testing import CliRunner

from zmodel.cli import cli

ROOT = Path(__file__).resolve().parents[2]
#: The 3.11 leak as zmodel check saves it (minimised): 55 steps.
LEAK = ROOT / "counterexamples" / "zswap-3.11" / "leak-33014013d8.json"
CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
)


def _write(tmp_path: Path) -> Path:
    out = tmp_path / "leak.html"
    result = CliRunner().invoke(cli, ["replay", str(LEAK), "--html", str(out)])
    assert result.exit_code == 1, result.output  # the leak recurs, as replay says
    assert f"html: {out}" in result.output
    return out


class _Dom(HTMLParser):
    """Every element with its attributes and the text inside it (nested text too)."""

    def __init__(self) -> None:
        super().__init__()
        self.elements: list[tuple[str, dict[str, str], list[str]]] = []
        self._open: list[int] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.elements.append((tag, {k: v or "" for k, v in attrs}, []))
        if tag not in ("meta", "input", "br", "link"):
            self._open.append(len(self.elements) - 1)

    def handle_endtag(self, tag: str) -> None:
        while self._open:
            if self.elements[self._open.pop()][0] == tag:
                break

    def handle_data(self, data: str) -> None:
        for i in self._open:
            self.elements[i][2].append(data)

    def find(
        self, tag: str, cls: str | None = None, **attrs: str
    ) -> list[tuple[dict[str, str], str]]:
        """The ``tag`` elements with ``attrs`` (and the class ``cls``): attributes, text."""
        return [
            (have, "".join(text))
            for name, have, text in self.elements
            if name == tag
            and all(have.get(k) == v for k, v in attrs.items())
            and (cls is None or cls in have.get("class", "").split())
        ]


def test_the_page_is_self_contained(tmp_path: Path) -> None:
    page = _write(tmp_path).read_text()
    assert not re.search(r"""(src|href)\s*=|<link|@import|url\(|https?://""", page)
    assert page.startswith("<!DOCTYPE html>")


@pytest.mark.skipif(shutil.which("chromium") is None, reason="chromium is not installed")
def test_chromium_renders_the_lanes_the_violation_and_the_state(tmp_path: Path) -> None:
    page = _write(tmp_path)
    profile = tmp_path / "profile"
    dom = subprocess.run(
        ["chromium", *CHROMIUM_FLAGS, f"--user-data-dir={profile}", "--dump-dom", page.as_uri()],
        capture_output=True,
        text=True,
        timeout=180,
        check=True,
    ).stdout
    parsed = _Dom()
    parsed.feed(dom)
    steps = parsed.find("tr")
    rows = [attrs for attrs, _ in steps if "data-step" in attrs]
    assert len(rows) == 55 + 1  # every step, and the end row of the leak
    headers = [text for _, text in parsed.find("th")]
    assert headers[:4] == ["step", "setup: store 1 A", "T1: writeback", "T2: free 1"]
    (end,) = parsed.find("tr", cls="violation")
    assert "leak at quiescence" in end[1]
    pair = parsed.find("tr", cls="pair")
    assert [attrs["data-step"] for attrs, _ in pair] == ["42", "50"]
    assert "zswap_entry.refcount 1->0" in pair[1][1]
    # The script ran: the state panel shows the state after the decisive step (the
    # put that took the refcount to 0), the field it changed highlighted.
    (panel,) = parsed.find("div", id="state")
    assert panel[0]["data-step"] == "50" and "State after step 50" in panel[1]
    changed = [text for _, text in parsed.find("tr", cls="changed")]
    assert changed == ["zswap_entry#65refcount0"]
    (selected,) = parsed.find("tr", cls="selected")
    assert selected[0]["data-step"] == "50"
    (explanation,) = parsed.find("pre", id="explanation")
    assert "zswap_writeback_entry" in explanation[1]
    assert "zswap_frontswap_invalidate_page" in explanation[1]
    assert "VIOLATION RECURS: leak" in explanation[1]
