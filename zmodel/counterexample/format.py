"""The counterexample file format (version 1): one violating schedule, replayable.

A file holds everything a replay needs, and what a reader needs to follow it:

- ``format``: the version of this layout (an int); ``zmodel``: the version that wrote it;
- ``design``: ``name``, ``fingerprint`` (a hash of the design's source) and ``source``, the
  spec the user gave (a registered name or ``path/to/file.py:Class``), so replay can
  resolve the same design again;
- ``scenario``: the full canonical scenario text;
- ``engine``: ``name`` and ``options``;
- ``violation``: ``property``, ``message`` and ``step``, the index into the trace of the
  violating step (``len(trace)`` for an end-state check);
- ``schedule``: every choice as ``[tid, outcome]``, thread picks and outcomes alike;
- ``trace``: per step ``thread``, ``name``, ``label`` and ``outcome``; on replay against the
  same design the labels must match, or the file is stale.

Parsing validates every key and type, so a malformed, truncated or hand-edited file
fails with one line of :class:`CounterexampleError` rather than deep inside a replay.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from zmodel import __version__

if TYPE_CHECKING:
    import jsonschema

FORMAT_VERSION = 1

#: The pseudo-property of a file that records a schedule on which the model raised
#: (CLI exit 3), rather than a property violation.
MODEL_ERROR = "model-error"

#: Engine options are kept to JSON scalars so that a file round-trips exactly.
Scalar = str | int | float | bool | None

Choice = tuple[int, int]


class CounterexampleError(ValueError):
    """A counterexample file that cannot be read, parsed or replayed as saved."""


@dataclass(frozen=True)
class TraceStep:
    thread: int
    name: str
    label: str
    outcome: int


@dataclass(frozen=True)
class Counterexample:
    design_name: str
    design_fingerprint: str
    design_source: str
    scenario: str
    engine: str
    engine_options: dict[str, Scalar]
    prop: str
    message: str
    step: int
    schedule: tuple[Choice, ...]
    trace: tuple[TraceStep, ...]
    zmodel_version: str = __version__
    format: int = FORMAT_VERSION
    #: Keys the file holds that this format does not know (ignored, with a warning).
    unknown_fields: tuple[str, ...] = field(default=(), compare=False)

    def to_json(self) -> dict[str, Any]:
        return {
            "format": self.format,
            "zmodel": self.zmodel_version,
            "design": {
                "name": self.design_name,
                "fingerprint": self.design_fingerprint,
                "source": self.design_source,
            },
            "scenario": self.scenario,
            "engine": {"name": self.engine, "options": dict(self.engine_options)},
            "violation": {"property": self.prop, "message": self.message, "step": self.step},
            "schedule": [[tid, outcome] for tid, outcome in self.schedule],
            "trace": [
                {"thread": s.thread, "name": s.name, "label": s.label, "outcome": s.outcome}
                for s in self.trace
            ],
        }

    def dumps(self) -> str:
        """The file text: deterministic, so equal counterexamples give equal bytes.

        Laid out by hand so that a diff or a reader sees one trace step per line and
        the schedule in short rows, rather than one number per line.
        """
        data = self.to_json()
        lines = ["{"]
        for key in ("format", "zmodel", "design", "scenario", "engine", "violation"):
            lines.append(f"  {json.dumps(key)}: {_dump(data[key])},")
        pairs = [_dump(pair) for pair in data["schedule"]]
        rows = [", ".join(pairs[i : i + 12]) for i in range(0, len(pairs), 12)]
        lines.append('  "schedule": [' + ("" if rows else "],"))
        if rows:
            lines.extend(f"    {row}," for row in rows[:-1])
            lines.append(f"    {rows[-1]}")
            lines.append("  ],")
        steps = [_dump(step) for step in data["trace"]]
        lines.append('  "trace": [' + ("" if steps else "]"))
        if steps:
            lines.extend(f"    {step}," for step in steps[:-1])
            lines.append(f"    {steps[-1]}")
            lines.append("  ]")
        lines.append("}")
        return "\n".join(lines) + "\n"


def _dump(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)


def loads(text: str, where: str = "counterexample") -> Counterexample:
    """Parse and validate file text; ``where`` names the file in error messages."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as err:
        raise CounterexampleError(
            f"{where}: not valid JSON (truncated or corrupt?): {err.msg} at line {err.lineno}"
            f" column {err.colno}"
        ) from None
    except RecursionError:
        raise CounterexampleError(
            f"{where}: JSON nested too deeply to be a counterexample"
        ) from None
    cx = from_json(data, where)
    _check_schema(data, where)
    return cx


#: The format's JSON Schema; docs/counterexample.schema.json is the same file.
SCHEMA_PATH = Path(__file__).with_name("schema.json")


@cache
def _validator() -> jsonschema.Draft202012Validator:
    # Imported here: jsonschema takes 0.1 s to import, which every command paid.
    import jsonschema

    schema = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    return jsonschema.Draft202012Validator(schema)


def _check_schema(data: Any, where: str) -> None:
    """The schema, after the hand-written checks (whose messages are more specific)."""
    import jsonschema

    error = jsonschema.exceptions.best_match(_validator().iter_errors(data))
    if error is not None:
        at = "/".join(str(part) for part in error.absolute_path) or "the file"
        message = error.message if len(error.message) <= 160 else error.message[:157] + "..."
        raise CounterexampleError(f"{where}: does not fit the format's schema at {at}: {message}")


def from_json(data: Any, where: str = "counterexample") -> Counterexample:
    v = _Validator(where)
    top = v.obj(data, "the file")
    version = v.number(top, "format")
    if version != FORMAT_VERSION:
        raise CounterexampleError(
            f"{where}: format version {version} is not supported (this zmodel reads"
            f" {FORMAT_VERSION})"
        )
    design = v.obj(v.key(top, "design"), "design")
    engine = v.obj(v.key(top, "engine"), "engine")
    options = v.obj(v.key(engine, "options"), "engine.options")
    for name, value in options.items():
        if not isinstance(value, str | int | float | bool | type(None)):
            raise CounterexampleError(f"{where}: engine option {name!r} is not a scalar")
    violation = v.obj(v.key(top, "violation"), "violation")
    schedule = tuple(v.choice(item, i) for i, item in enumerate(v.items(top, "schedule")))
    trace = tuple(v.step(item, i) for i, item in enumerate(v.items(top, "trace")))
    step = v.number(violation, "step", "violation.step")
    if len(trace) != len(schedule):
        raise CounterexampleError(
            f"{where}: the trace has {len(trace)} steps but the schedule {len(schedule)} choices"
        )
    for i, (choice, traced) in enumerate(zip(schedule, trace, strict=True)):
        if choice != (traced.thread, traced.outcome):
            raise CounterexampleError(
                f"{where}: schedule choice {i} {list(choice)} does not match trace step {i}"
                f" (thread {traced.thread}, outcome {traced.outcome})"
            )
    if not 0 <= step <= len(trace):
        raise CounterexampleError(
            f"{where}: violation.step {step} is outside the trace (0..{len(trace)})"
        )
    unknown = [
        f"{prefix}{key}"
        for prefix, obj, known in (
            ("", top, KNOWN_TOP),
            ("design.", design, KNOWN_DESIGN),
            ("engine.", engine, KNOWN_ENGINE),
            ("violation.", violation, KNOWN_VIOLATION),
        )
        for key in obj
        if key not in known
    ]
    return Counterexample(
        unknown_fields=tuple(unknown),
        design_name=v.text(design, "name", "design.name"),
        design_fingerprint=v.text(design, "fingerprint", "design.fingerprint"),
        design_source=v.text(design, "source", "design.source"),
        scenario=v.text(top, "scenario"),
        engine=v.text(engine, "name", "engine.name"),
        engine_options=dict(options),
        prop=v.text(violation, "property", "violation.property"),
        message=v.text(violation, "message", "violation.message"),
        step=step,
        schedule=schedule,
        trace=trace,
        zmodel_version=v.text(top, "zmodel"),
        format=version,
    )


KNOWN_TOP = frozenset(
    {"format", "zmodel", "design", "scenario", "engine", "violation", "schedule", "trace"}
)
KNOWN_DESIGN = frozenset({"name", "fingerprint", "source"})
KNOWN_ENGINE = frozenset({"name", "options"})
KNOWN_VIOLATION = frozenset({"property", "message", "step"})


class _Validator:
    """Typed accessors that fail with one line naming the file and the key."""

    def __init__(self, where: str) -> None:
        self.where = where

    def fail(self, what: str) -> CounterexampleError:
        return CounterexampleError(f"{self.where}: {what}")

    def obj(self, value: Any, name: str) -> dict[str, Any]:
        if not isinstance(value, dict):
            raise self.fail(f"{name} is not a JSON object")
        return value

    def key(self, obj: dict[str, Any], key: str, name: str | None = None) -> Any:
        if key not in obj:
            raise self.fail(f"missing key {name or key!r}")
        return obj[key]

    def text(self, obj: dict[str, Any], key: str, name: str | None = None) -> str:
        value = self.key(obj, key, name)
        if not isinstance(value, str) or not value:
            raise self.fail(f"{name or key} is not a non-empty string")
        return value

    def number(self, obj: dict[str, Any], key: str, name: str | None = None) -> int:
        value = self.key(obj, key, name)
        # bool is an int subclass, and true is no step index.
        if not isinstance(value, int) or isinstance(value, bool):
            raise self.fail(f"{name or key} is not an integer")
        return value

    def items(self, obj: dict[str, Any], key: str) -> list[Any]:
        value = self.key(obj, key)
        if not isinstance(value, list):
            raise self.fail(f"{key} is not a JSON list")
        return value

    def choice(self, item: Any, i: int) -> Choice:
        if (
            not isinstance(item, list)
            or len(item) != 2
            or not all(isinstance(x, int) and not isinstance(x, bool) and x >= 0 for x in item)
        ):
            raise self.fail(f"schedule choice {i} is not a [thread, outcome] pair of numbers")
        return (item[0], item[1])

    def step(self, item: Any, i: int) -> TraceStep:
        where = f"trace step {i}"
        obj = self.obj(item, where)
        thread = self.number(obj, "thread", f"{where}: thread")
        outcome = self.number(obj, "outcome", f"{where}: outcome")
        if thread < 0 or outcome < 0:
            raise self.fail(f"{where} has a negative thread or outcome")
        return TraceStep(
            thread=thread,
            name=self.text(obj, "name", f"{where}: name"),
            label=self.text(obj, "label", f"{where}: label"),
            outcome=outcome,
        )
