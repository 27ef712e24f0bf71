"""The one thing engines need from a model: a way to start a fresh run."""

from __future__ import annotations

from collections.abc import Callable

from zmodel.runtime import Executor

#: Builds a fresh executor: the world in its initial state, threads at their start.
Program = Callable[[], Executor]
