"""Faults the runtime raises while a step executes.

A :class:`Violation` is a property failing: the model did something the kernel must
never do (touch freed memory, fire a BUG_ON, hand back stale data).  A
:class:`ModelError` is a defect in the model itself (a design touched shared state
outside a primitive, yielded something that is not a request).  Engines stop a run
on either; the CLI maps the first to exit 1 and the second to exit 3.

The property names used by the runtime live here, because the runtime detects
lifetime faults itself; ``zmodel.properties`` documents every name.
"""

from __future__ import annotations

USE_AFTER_FREE = "use-after-free"
DOUBLE_FREE = "double-free"
UNINITIALISED_READ = "uninitialised-read"
LEAK = "leak"
DEADLOCK = "deadlock"
BUG_ON = "bug-on"


class Violation(Exception):  # noqa: N818 - a violation is not an error of the checker
    """A safety property failed at the current step."""

    def __init__(self, prop: str, message: str) -> None:
        super().__init__(f"{prop}: {message}")
        self.prop = prop
        self.message = message


class ModelError(Exception):
    """The model broke the runtime's rules (not a kernel bug: a bug in the model).

    ``located`` once the message names the model's file, line and method;
    ``model_traceback`` then holds the traceback through the model's frames
    (printed with ZMODEL_DEBUG=1)."""

    located: bool = False
    model_traceback: str = ""
