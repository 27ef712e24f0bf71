"""Counterexamples: the file format, saving without overwriting, loading, replaying."""

from zmodel.counterexample.format import (
    FORMAT_VERSION,
    MODEL_ERROR,
    Counterexample,
    CounterexampleError,
    TraceStep,
    loads,
)
from zmodel.counterexample.replay import (
    DIFFERENT,
    FIXED,
    NOT_REACHED,
    RECURS,
    ReplayReport,
    StaleCounterexampleError,
    replay_file,
)
from zmodel.counterexample.store import (
    DEFAULT_OUT,
    Saved,
    default_path,
    engine_options,
    from_failure,
    from_found,
    load,
    safe_name,
    save,
    schedule_hash,
    thread_names,
)

__all__ = [
    "DEFAULT_OUT",
    "DIFFERENT",
    "FIXED",
    "FORMAT_VERSION",
    "MODEL_ERROR",
    "NOT_REACHED",
    "RECURS",
    "Counterexample",
    "CounterexampleError",
    "ReplayReport",
    "Saved",
    "StaleCounterexampleError",
    "TraceStep",
    "default_path",
    "engine_options",
    "from_failure",
    "from_found",
    "load",
    "loads",
    "replay_file",
    "safe_name",
    "save",
    "schedule_hash",
    "thread_names",
]
