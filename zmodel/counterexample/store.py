"""Building counterexamples from an engine's findings, and saving and loading files.

Files live at ``<out>/<design>/<property>-<short hash of the schedule>.json``.  A saved
file is never overwritten with different content: the same content is reused (saving
is idempotent), and different content under the same name (another scenario reaching
the same schedule, or an older zmodel's file) gets a numbered name instead.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import tempfile
from dataclasses import dataclass, fields, is_dataclass
from pathlib import Path
from typing import Any

from zmodel.counterexample.format import (
    MODEL_ERROR,
    Choice,
    Counterexample,
    CounterexampleError,
    Scalar,
    TraceStep,
    loads,
)
from zmodel.explore import Found, ModelFailure
from zmodel.harness import build_program
from zmodel.runtime import Step
from zmodel.zswap.designs import Design, design_fingerprint
from zmodel.zswap.scenario import Scenario

DEFAULT_OUT = Path("counterexamples")

#: Enough that a same-name file with different content is rare; collisions are
#: handled anyway (a numbered suffix), so this is about readability, not safety.
HASH_CHARS = 10


@dataclass(frozen=True)
class Saved:
    path: Path
    reused: bool  # an identical file was already there


def thread_names(design_cls: type[Design], scenario: Scenario) -> list[str]:
    """Thread names by tid, as the harness names them."""
    try:
        return build_program(design_cls, scenario)().names
    except Exception:
        # A model that fails while starting its threads is reported as such elsewhere;
        # here the names are only for the reader, so fall back to the harness's scheme.
        return ["setup", *(f"T{i + 1}" for i in range(len(scenario.threads)))]


def engine_options(options: Any, reported: dict[str, object]) -> dict[str, Scalar]:
    """The options the engine ran with (an ``EngineOptions``) plus what it reported."""
    merged: dict[str, object] = {}
    if is_dataclass(options) and not isinstance(options, type):
        merged.update({f.name: getattr(options, f.name) for f in fields(options)})
    merged.pop("on_end", None)  # a callback of the caller, not an option of the run
    merged.pop("subtree", None)  # a parallel search's unit, not how it searched
    extra = merged.pop("extra", None)
    if isinstance(extra, dict):
        merged.update({str(key): value for key, value in extra.items()})
    merged.update(reported)
    return {key: _scalar(value) for key, value in sorted(merged.items())}


def _scalar(value: object) -> Scalar:
    if value is None or isinstance(value, str | int | float | bool):
        return value
    return str(value)


def build(
    *,
    design_cls: type[Design],
    design_source: str,
    scenario: Scenario,
    engine: str,
    options: dict[str, Scalar],
    prop: str,
    message: str,
    step: int,
    schedule: list[Choice],
    trace: list[Step],
) -> Counterexample:
    names = thread_names(design_cls, scenario)
    return Counterexample(
        design_name=design_cls.name,
        design_fingerprint=design_fingerprint(design_cls),
        design_source=design_source,
        scenario=scenario.text,
        engine=engine,
        engine_options=options,
        prop=prop,
        message=message,
        step=step,
        schedule=tuple((tid, outcome) for tid, outcome in schedule),
        trace=tuple(
            TraceStep(
                s.tid, names[s.tid] if s.tid < len(names) else f"T{s.tid}", s.label, s.outcome
            )
            for s in trace
        ),
    )


def from_found(
    found: Found,
    *,
    design_cls: type[Design],
    design_source: str,
    scenario: Scenario,
    engine: str,
    options: dict[str, Scalar],
) -> Counterexample:
    return build(
        design_cls=design_cls,
        design_source=design_source,
        scenario=scenario,
        engine=engine,
        options=options,
        prop=found.prop,
        message=found.message,
        step=found.step_index,
        schedule=found.schedule,
        trace=found.trace,
    )


def from_failure(
    failure: ModelFailure,
    *,
    design_cls: type[Design],
    design_source: str,
    scenario: Scenario,
    engine: str,
    options: dict[str, Scalar],
) -> Counterexample:
    """A file for a schedule on which the model raised; replaying it raises again."""
    trace = list(failure.trace)
    schedule = list(failure.schedule)
    raised_in_step = len(schedule) == len(trace) + 1
    if raised_in_step:
        # The failing step raised before the executor recorded it; record it here under
        # the label of the step that was pending, so trace and schedule stay in step.
        tid, outcome = schedule[-1]
        label = _pending_label(design_cls, scenario, schedule) or "(the step that raised)"
        trace.append(Step(tid, label, outcome, frozenset(), frozenset()))
    return build(
        design_cls=design_cls,
        design_source=design_source,
        scenario=scenario,
        engine=engine,
        options=options,
        prop=MODEL_ERROR,
        message=failure.message,
        step=len(trace) - 1 if raised_in_step else len(trace),
        schedule=schedule,
        trace=trace,
    )


def _pending_label(
    design_cls: type[Design], scenario: Scenario, schedule: list[Choice]
) -> str | None:
    try:
        ex = build_program(design_cls, scenario)()
        for tid, outcome in schedule[:-1]:
            ex.step(tid, outcome)
        return ex.pending_label(schedule[-1][0])
    except Exception:
        return None  # only a label for the reader; the schedule is what matters


def safe_name(text: str) -> str:
    """A file or directory name for a design or property name (``a/b.py:C`` → ``a_b.py_C``)."""
    cleaned = re.sub(r"[^A-Za-z0-9._+-]+", "_", text).strip("._") or "unnamed"
    return cleaned


def schedule_hash(schedule: tuple[Choice, ...] | list[Choice]) -> str:
    canonical = json.dumps([list(c) for c in schedule], separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()[:HASH_CHARS]


def default_path(cx: Counterexample, out: Path) -> Path:
    return (
        out / safe_name(cx.design_name) / f"{safe_name(cx.prop)}-{schedule_hash(cx.schedule)}.json"
    )


def save(cx: Counterexample, out: Path = DEFAULT_OUT) -> Saved:
    """Write ``cx`` under ``out``; never replaces a file that holds something else."""
    try:
        return _save(cx, out)
    except OSError as err:
        where = err.filename or out
        raise CounterexampleError(
            f"cannot save a counterexample under {out}: {where}: {err.strerror or err}"
        ) from None


def save_in(cx: Counterexample, directory: Path) -> Saved:
    """Write ``cx`` into ``directory`` itself (``minimize`` puts a file beside its original)."""
    name = f"{safe_name(cx.prop)}-{schedule_hash(cx.schedule)}.json"
    try:
        return _save_at(cx, directory / name)
    except OSError as err:
        where = err.filename or directory
        raise CounterexampleError(
            f"cannot save a counterexample in {directory}: {where}: {err.strerror or err}"
        ) from None


def _save(cx: Counterexample, out: Path) -> Saved:
    return _save_at(cx, default_path(cx, out))


def same_run(a: Counterexample, b: Counterexample) -> bool:
    """The same schedule of the same design and scenario giving the same violation.

    The engine that found it and its options (and the zmodel version) do not make it
    another counterexample: saving it again reuses the file.
    """
    return (
        a.design_name,
        a.design_fingerprint,
        a.scenario,
        a.schedule,
        a.trace,
        a.prop,
        a.message,
        a.step,
    ) == (
        b.design_name,
        b.design_fingerprint,
        b.scenario,
        b.schedule,
        b.trace,
        b.prop,
        b.message,
        b.step,
    )


def _save_at(cx: Counterexample, first: Path) -> Saved:
    text = cx.dumps()
    first.parent.mkdir(parents=True, exist_ok=True)
    for n in range(1, 1000):
        path = first if n == 1 else first.with_name(f"{first.stem}-{n}{first.suffix}")
        if _create_exclusive(path, text):
            return Saved(path, reused=False)
        with contextlib.suppress(OSError, UnicodeDecodeError, CounterexampleError):
            existing = path.read_text(encoding="utf-8")
            if existing == text or same_run(loads(existing, str(path)), cx):
                return Saved(path, reused=True)
    raise CounterexampleError(f"{first.parent}: no free name for {first.name}")


def _create_exclusive(path: Path, text: str) -> bool:
    """Create ``path`` holding ``text`` atomically, or return False if it exists.

    The text is written to a temporary file and hard-linked into place: a link never
    replaces an existing file, and a reader never sees a half-written one.
    """
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=".json")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        try:
            os.link(tmp, path)
        except FileExistsError:
            return False
        except OSError:
            # No hard links on this file system: exclusive create is the fallback.
            try:
                with open(path, "x", encoding="utf-8") as handle:
                    handle.write(text)
            except FileExistsError:
                return False
        return True
    finally:
        with contextlib.suppress(OSError):
            os.unlink(tmp)


def load(path: Path | str) -> Counterexample:
    """Read and validate a counterexample file; any problem is one CounterexampleError."""
    where = str(path)
    try:
        raw = Path(path).read_bytes()
    except OSError as err:
        raise CounterexampleError(f"cannot read {where}: {err.strerror or err}") from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise CounterexampleError(f"{where}: not UTF-8 text (corrupt?)") from None
    if not text.strip():
        raise CounterexampleError(f"{where}: the file is empty")
    return loads(text, where)
