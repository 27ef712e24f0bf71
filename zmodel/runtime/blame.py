"""Where in the model's own code an exception came from, for a ModelError's message.

A model error should send its author to the line to fix: ``mine.py:14 in
PeekWriteback.writeback_entry (zswap_writeback_entry): TypeError: ...``.  The
runtime's own frames (this package) are never the culprit, so the blamed frame
is the innermost one outside it.  Two mistakes get a sharper answer:

* a path that ``return``\\ s instead of yielding (a method that is not a
  generator) fails in its *caller*, at ``yield from self.method(...)``, with
  "'int' object is not iterable"; the bytecode at the failing instruction names
  the method called there, and the blame goes to that method's definition;
* an abstract method raises a bare ``NotImplementedError``; the message then says
  which method and which class should implement it.
"""

from __future__ import annotations

import dis
import os
import traceback
from dataclasses import dataclass
from pathlib import Path
from types import CodeType, FrameType, TracebackType
from typing import Any

from zmodel.runtime.faults import ModelError

_RUNTIME = str(Path(__file__).resolve().parent) + os.sep
#: How a compiled runtime module (zmodel/engine_build.py) names its frames' files.
_COMPILED_RUNTIME = "zmodel/runtime/"


def _in_runtime(filename: str) -> bool:
    return filename.startswith(_RUNTIME) or filename.startswith(_COMPILED_RUNTIME)


@dataclass(frozen=True)
class Blame:
    """A place in the model's code and what went wrong there, in one line."""

    file: str
    line: int
    function: str  # the qualified name: Class.method
    problem: str  # "TypeError: ..." or a sharper account

    def where(self) -> str:
        return f"{_shown(self.file)}:{self.line} in {self.function}"


def blame(exc: BaseException) -> Blame | None:
    """The model frame to blame for ``exc`` (None if it never left the runtime)."""
    frames = [
        (tb.tb_frame, tb.tb_lineno, tb.tb_lasti)
        for tb in _walk(exc.__traceback__)
        if not _in_runtime(tb.tb_frame.f_code.co_filename)
    ]
    if not frames:
        return None
    frame, line, lasti = frames[-1]
    code = frame.f_code
    problem = f"{type(exc).__name__}: {exc}"
    if isinstance(exc, TypeError) and "not iterable" in str(exc):
        called = _yield_from_callee(frame, code, lasti)
        if called is not None:
            target = called.__code__
            qualname = target.co_qualname
            return Blame(
                target.co_filename,
                target.co_firstlineno,
                qualname,
                f"{qualname} returns instead of yielding (a path must be a generator:"
                f" `yield` its steps); {problem}",
            )
    if isinstance(exc, NotImplementedError) and not str(exc):
        owner = frame.f_locals.get("self")
        who = f"; {type(owner).__name__} must override it" if owner is not None else ""
        problem = f"NotImplementedError: {code.co_qualname} is abstract{who}"
    return Blame(code.co_filename, line, code.co_qualname, problem)


def model_traceback(exc: BaseException) -> str:
    """The traceback of ``exc`` through the model's code (the runtime's frames left out)."""
    summary = traceback.extract_tb(exc.__traceback__)
    kept = [entry for entry in summary if not _in_runtime(entry.filename)]
    text = "".join(traceback.format_list(kept))
    return "Traceback (the model's frames):\n" + text + f"{type(exc).__name__}: {exc}\n"


def _walk(tb: TracebackType | None) -> list[TracebackType]:
    out = []
    while tb is not None:
        out.append(tb)
        tb = tb.tb_next
    return out


def _yield_from_callee(frame: FrameType, code: CodeType, lasti: int) -> Any:
    """The function whose result ``yield from`` failed to iterate at ``lasti``, if it
    was ``self.name(...)`` or ``name(...)`` (a method or a plain function)."""
    instructions = list(dis.get_instructions(code))
    at = next((i for i, ins in enumerate(instructions) if ins.offset == lasti), None)
    if at is None or instructions[at].opname != "GET_YIELD_FROM_ITER":
        return None
    # Walk back past the arguments to the callee the outer call loaded: a method
    # (LOAD_METHOD; LOAD_ATTR with the method flag on 3.12+) or a global function
    # (LOAD_GLOBAL with the NULL flag).  Each inner call adds a callee to pass.
    calls = 0
    for ins in reversed(instructions[:at]):
        if ins.opname == "CALL":
            calls += 1
            continue
        method = ins.opname == "LOAD_METHOD" or (
            ins.opname == "LOAD_ATTR" and "NULL|self" in ins.argrepr
        )
        function = ins.opname == "LOAD_GLOBAL" and "NULL" in ins.argrepr
        if not (method or function):
            continue
        if calls > 1:
            calls -= 1
            continue
        if method:
            owner = frame.f_locals.get("self")
            return _function(getattr(type(owner), ins.argval, None)) if owner else None
        return _function(frame.f_globals.get(ins.argval))
    return None


def _function(fn: Any) -> Any:
    fn = getattr(fn, "__func__", fn)
    return fn if hasattr(fn, "__code__") else None


def _shown(path: str) -> str:
    """A path relative to the current directory when it is below it."""
    try:
        return str(Path(path).resolve().relative_to(Path.cwd()))
    except ValueError:
        return path


def located(exc: Exception, thread: str, label: str) -> ModelError:
    """A ModelError for ``exc`` naming the model's file, line and method (zmodel.runtime.blame)
    and the step (its kernel label) the thread was at."""
    if isinstance(exc, ModelError) and exc.located:
        return exc
    found = blame(exc)
    problem = str(exc) if isinstance(exc, ModelError) else f"{type(exc).__name__}: {exc}"
    if found is None:
        error = ModelError(f"{thread} ({label}): {problem}")
    else:
        if not isinstance(exc, ModelError):
            problem = found.problem
        error = ModelError(f"{thread}: {found.where()} ({label}): {problem}")
        error.located = True
        error.model_traceback = model_traceback(exc)
    return error
