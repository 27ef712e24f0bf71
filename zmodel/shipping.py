"""What a worker of a parallel search needs to rebuild a scenario's program.

A :class:`ScenarioSource` is picklable: the design's registered name, or for a
design given as ``path/to/file.py:Class`` the file's text too (a cluster's
workers need not share a file system with the user), and the scenario's
canonical text.  A worker writes a shipped file into a directory of its own,
named by the text's hash, keeping the file's name (a file design's name is
``stem:Class``), and loads it from there once per process.  A design file that
imports its neighbours needs them on the workers too: only the one file ships.
"""

from __future__ import annotations

import hashlib
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from zmodel.explore import Program
from zmodel.harness import build_program
from zmodel.properties.lock_order import LockOrder
from zmodel.zswap.designs import REGISTRY, Design, resolve_design
from zmodel.zswap.scenario import parse_scenario

_LOADED: dict[tuple[str, str], type[Design]] = {}


@dataclass(frozen=True)
class ScenarioSource:
    design: str  # a registered name, or path/to/file.py:Class
    scenario: str  # the scenario's canonical text
    file_text: str | None = None  # the design file's text, shipped

    @classmethod
    def of(cls, design: str, scenario: str) -> ScenarioSource:
        """The source of ``scenario`` against ``design`` (a design file is read now)."""
        if design in REGISTRY or ":" not in design:
            return cls(design, scenario)
        path, _, _ = design.rpartition(":")
        return cls(design, scenario, Path(path).read_text())

    def design_cls(self) -> type[Design]:
        if self.file_text is None:
            return resolve_design(self.design)
        digest = hashlib.sha256(self.file_text.encode()).hexdigest()[:16]
        key = (self.design, digest)
        if key not in _LOADED:
            path, _, class_name = self.design.rpartition(":")
            here = Path(path)
            if not (here.is_file() and here.read_text() == self.file_text):
                here = Path(tempfile.gettempdir()) / f"zmodel-design-{digest}" / here.name
                here.parent.mkdir(parents=True, exist_ok=True)
                here.write_text(self.file_text)
            _LOADED[key] = resolve_design(f"{here}:{class_name}")
        return _LOADED[key]

    def program(self, coverage: set[str], edges: dict[Any, Any]) -> Program:
        """The scenario's program, recording labels in ``coverage`` and the lock-order
        graph's edges in ``edges``."""
        order = LockOrder(edges=edges)
        return build_program(self.design_cls(), parse_scenario(self.scenario), coverage, [order])
