"""README.md's "What it finds" table is what a run of the suites gives (issue 13)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

DOCS = Path(__file__).resolve().parent.parent / "docs" / "what_it_finds.py"


def test_the_readme_table_is_regenerated_from_a_run() -> None:
    spec = importlib.util.spec_from_file_location("what_it_finds", DOCS)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    readme = module.README.read_text()
    assert module.readme_table(readme) == module.table(), (
        "README.md's table is stale: run python docs/what_it_finds.py --write"
    )
