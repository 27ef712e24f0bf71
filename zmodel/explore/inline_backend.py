"""The in-process back-end: each unit run at once, in the caller's thread (the tests).

Its units run to the end before anything could ask them, so :class:`AfterRuns`
stands in for a coordinator that asks: after every few runs (work stealing's
tests) and with every run's new cache entries shipped as a part (sharing's).
The runs are deterministic, which is what the differential tests of the
parallel search need.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from typing import Any

from zmodel.explore.backends import Gift, Signal, forget_slot_states
from zmodel.explore.sharing import Shared
from zmodel.explore.subtree import Subtree

__all__ = ["AfterRuns", "InlineBackend"]


class _Done:
    """A finished call's result, as a future."""

    def __init__(self, value: Any = None, error: BaseException | None = None) -> None:
        self.value, self.error = value, error

    def result(self) -> Any:
        if self.error is not None:
            raise self.error
        return self.value


class AfterRuns:
    """Asked at every ``runs``-th look (never if None): the in-process back-end's
    stand-in for a coordinator that asks (its units run to the end before it
    could); every run's new cache entries shipped as a part into ``shares``."""

    def __init__(self, runs: int | None, shares: list[Gift] | None, slot: int) -> None:
        self.runs, self.looks = runs, 0
        self.shares, self.slot = shares, slot
        self.share_every = math.inf if shares is None else 0.0

    def asked(self) -> bool:
        self.looks += 1
        return self.runs is not None and self.looks % self.runs == 0

    def give(self, search: str, index: int, given: list[Subtree]) -> None:
        pass

    def share(self, search: str, index: int, part: Shared) -> None:
        if self.shares is not None:
            self.shares.append((self.slot, search, index, part))


class InlineBackend:
    """Each call run at once, in this process; ``workers`` slots with their own state.
    ``give_after``: every subtree is asked for work after every that many runs (the
    tests of work stealing; None: never); ``share``: every run's new cache entries
    go to the coordinator as a part (sharing.py), taken after the unit's outcome."""

    def __init__(
        self, workers: int = 2, give_after: int | None = None, share: bool = False
    ) -> None:
        self.workers = workers
        self.inline = True
        self.give_after = give_after
        self.sharing = share
        self._shares: list[Gift] = []

    def signal(self, slot: int) -> Signal | None:
        if self.give_after is None and not self.sharing:
            return None
        return AfterRuns(self.give_after, self._shares if self.sharing else None, slot)

    def ask(self, slot: int) -> None:
        pass

    def gifts(self) -> list[Gift]:
        got, self._shares[:] = list(self._shares), []
        return got  # the shares only: each gift comes back with its unit's outcome

    def submit(self, slot: int, fn: Callable[[Any], Any], arg: Any, size: int = 0) -> Any:
        try:
            return _Done(fn(arg))
        except Exception as err:  # handed back as a future's error would be
            return _Done(error=err)

    def wait_any(self, pending: Iterable[Any], timeout: float) -> set[Any]:
        return set(pending)

    def outcome(self, future: Any) -> Any:
        return future.result()

    def close(self) -> None:
        forget_slot_states()
