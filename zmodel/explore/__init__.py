"""Engines: ways to pick schedules.  They see only the runtime's interface."""

from zmodel.explore.dfs import explore_dfs
from zmodel.explore.dpor import explore_dpor
from zmodel.explore.engines import (
    DEFAULT_ENGINE,
    ENGINES,
    EngineError,
    EngineOptions,
    explore,
    run_engine,
)
from zmodel.explore.icb import explore_icb
from zmodel.explore.program import Program
from zmodel.explore.replay import Replay, replay
from zmodel.explore.result import (
    BOUNDED,
    PASS,
    VERDICT_TEXT,
    VIOLATION,
    Choice,
    Found,
    ModelFailure,
    Result,
    Stats,
)

__all__ = [
    "BOUNDED",
    "DEFAULT_ENGINE",
    "ENGINES",
    "PASS",
    "VERDICT_TEXT",
    "VIOLATION",
    "Choice",
    "EngineError",
    "EngineOptions",
    "Found",
    "ModelFailure",
    "Program",
    "Replay",
    "Result",
    "Stats",
    "explore",
    "explore_dfs",
    "explore_dpor",
    "explore_icb",
    "replay",
    "run_engine",
]
