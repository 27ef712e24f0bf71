"""The engine table and the public entry point, :func:`explore`.

Every caller that runs a search (the CLI, ``check``, ``verify``, the benchmarks,
the tests) goes through :func:`explore` or :func:`run_engine`, so no script reaches
into an engine's module and an engine's options are validated in one place: each
engine takes the common :class:`EngineOptions` and refuses ``-X`` options it does
not know, with the range of those it does.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, fields
from typing import Any

from zmodel.explore.choose import PROBE_RUNS, explore_default
from zmodel.explore.collector import searching
from zmodel.explore.dfs import explore_dfs
from zmodel.explore.donate import Handoff
from zmodel.explore.dpor import explore_dpor
from zmodel.explore.drive import EndHook
from zmodel.explore.icb import explore_icb
from zmodel.explore.optimal_dpor import explore_optimal_dpor
from zmodel.explore.program import Program
from zmodel.explore.result import Result
from zmodel.explore.subtree import WHOLE, Subtree


@dataclass
class EngineOptions:
    max_steps: int = 400
    max_preemptions: int | None = None
    seed: int | None = None
    all_violations: bool = False
    time_limit: float | None = None
    #: Called with the executor at every quiescent state an exhaustive engine
    #: reaches, before the end-state checks (the differential suites collect them).
    on_end: EndHook | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    #: Explore only this part of the tree (a parallel search's unit of work):
    #: ``dfs``, ``plain``, ``odpor`` and ``dpor`` with ``-X cache=on|off``, unbounded.
    subtree: Subtree = WHOLE
    #: ``dpor`` and ``odpor`` on a subtree: give branches when asked and go on
    #: (:mod:`zmodel.explore.donate`; the parallel search's work stealing).
    handoff: Handoff | None = None


EngineFn = Callable[[Program, EngineOptions], Result]


def _dfs(cache: bool) -> EngineFn:
    def run(program: Program, opts: EngineOptions) -> Result:
        _no_extra("dfs" if cache else "plain", dict(opts.extra))
        return explore_dfs(
            program,
            cache=cache,
            max_steps=opts.max_steps,
            max_preemptions=opts.max_preemptions,
            stop_on_first=not opts.all_violations,
            time_limit=opts.time_limit,
            on_end=opts.on_end,
            subtree=opts.subtree,
        )

    return run


def _dpor(program: Program, opts: EngineOptions) -> Result:
    """Source-DPOR.  ``-X cache=auto`` (the default) starts with the state cache and
    turns to optimal DPOR where the cache does not pay (:mod:`zmodel.explore.choose`);
    ``on`` keeps the cache, ``off`` is stateless source-DPOR.  ``-X cache_mb=N``
    bounds the cache.  With ``--max-preemptions`` it is preemption-bounded DPOR
    (no cache)."""
    extra = dict(opts.extra)
    cache = str(extra.pop("cache", None) or "auto")
    if cache not in ("auto", "on", "off"):
        raise EngineError(f"-X cache takes auto, on or off, not {cache!r}")
    if cache == "off" and extra.get("cache_mb") is not None:
        raise EngineError("-X cache_mb bounds the state cache: not with -X cache=off")
    cache_mb = _int_extra(extra, "cache_mb", DEFAULT_CACHE_MB, MAX_CACHE_MB)
    probe = _int_extra(extra, "probe", PROBE_RUNS, MAX_RUNS) if cache == "auto" else None
    _no_extra("dpor", extra)
    common: dict[str, Any] = {
        "max_steps": opts.max_steps,
        "stop_on_first": not opts.all_violations,
        "time_limit": opts.time_limit,
        "on_end": opts.on_end,
    }
    if probe is not None and opts.max_preemptions is None:
        if opts.subtree.base:
            raise EngineError("a subtree is explored with -X cache=on or off, not auto")
        return explore_default(program, cache_mb=cache_mb, probe_runs=probe, **common)
    return explore_dpor(
        program,
        max_preemptions=opts.max_preemptions,
        cache=cache != "off",
        cache_mb=cache_mb,
        subtree=opts.subtree,
        handoff=opts.handoff if opts.max_preemptions is None else None,
        **common,
    )


#: The state cache's memory (-X cache_mb): default and largest, in MiB.
DEFAULT_CACHE_MB = 1024
MAX_CACHE_MB = 1_000_000


def _odpor(program: Program, opts: EngineOptions) -> Result:
    _no_extra("odpor", dict(opts.extra))
    if opts.max_preemptions is not None:
        raise EngineError("--engine odpor is unbounded: it does not take --max-preemptions")
    return explore_optimal_dpor(
        program,
        max_steps=opts.max_steps,
        stop_on_first=not opts.all_violations,
        time_limit=opts.time_limit,
        on_end=opts.on_end,
        subtree=opts.subtree,
        handoff=opts.handoff,
    )


def _icb(program: Program, opts: EngineOptions) -> Result:
    """Iterative context bounding: preemption bounds 0, 1, ... up to --max-preemptions
    (default 3), stopping at a violation or at a bound that prunes nothing."""
    _no_extra("icb", dict(opts.extra))
    return explore_icb(
        program,
        max_bound=3 if opts.max_preemptions is None else opts.max_preemptions,
        max_steps=opts.max_steps,
        stop_on_first=not opts.all_violations,
        time_limit=opts.time_limit,
        on_end=opts.on_end,
    )


def _randomised(kind: str) -> EngineFn:
    """``random``, ``pct`` and ``hypothesis``; options beyond EngineOptions come in ``extra``:
    ``runs`` (random, pct), ``depth`` (pct), ``profile`` (hypothesis: ci or thorough)."""

    def run(program: Program, opts: EngineOptions) -> Result:
        if opts.max_preemptions is not None:
            raise EngineError(f"--max-preemptions does not apply to --engine {kind}")
        if opts.on_end is not None:
            raise EngineError(f"--engine {kind} does not take on_end: it is not exhaustive")
        extra = dict(opts.extra)
        common: dict[str, Any] = {
            "seed": opts.seed,
            "max_steps": opts.max_steps,
            "all_violations": opts.all_violations,
            "time_limit": opts.time_limit,
        }
        # Imported here: Hypothesis is slow to import and only these engines need it.
        from zmodel.explore import hypothesis_engine, randomwalk

        if kind == "hypothesis":
            profile = str(extra.pop("profile", hypothesis_engine.DEFAULT_PROFILE))
            if profile not in hypothesis_engine.PROFILES:
                raise EngineError(f"unknown Hypothesis profile {profile!r} (ci, thorough)")
            _no_extra(kind, extra)
            return hypothesis_engine.explore_hypothesis(program, profile=profile, **common)
        runs = _int_extra(extra, "runs", randomwalk.DEFAULT_RUNS, MAX_RUNS)
        if kind == "pct":
            depth = _int_extra(extra, "depth", randomwalk.DEFAULT_DEPTH, MAX_DEPTH)
            _no_extra(kind, extra)
            return randomwalk.explore_pct(program, depth=depth, runs=runs, **common)
        _no_extra(kind, extra)
        return randomwalk.explore_random(program, runs=runs, **common)

    return run


#: The ranges of the randomised engines' -X options (1..max, inclusive).
MAX_RUNS = 10_000_000
MAX_DEPTH = 100


def _int_extra(extra: dict[str, Any], key: str, default: int, top: int) -> int:
    """Pop ``-X key=N`` (``default`` when absent); N must be an integer in 1..top."""
    if key not in extra or extra[key] is None:
        extra.pop(key, None)
        return default
    value = extra.pop(key)
    if not isinstance(value, int) or isinstance(value, bool) or not 1 <= value <= top:
        raise EngineError(f"-X {key} takes an integer 1..{top:,}, not {value!r}")
    return value


def _no_extra(kind: str, extra: dict[str, Any]) -> None:
    unused = sorted(k for k, v in extra.items() if v is not None)
    if unused:
        raise EngineError(f"--engine {kind} does not take: {', '.join(unused)}")


ENGINES: dict[str, EngineFn] = {
    "dfs": _dfs(True),
    "plain": _dfs(False),
    "dpor": _dpor,
    "odpor": _odpor,
    "icb": _icb,
    "random": _randomised("random"),
    "pct": _randomised("pct"),
    "hypothesis": _randomised("hypothesis"),
}
DEFAULT_ENGINE = "dpor"


class EngineError(ValueError):
    """An unknown engine, or options the engine does not take."""


def register_engine(name: str, fn: EngineFn) -> None:
    ENGINES[name] = fn


def run_engine(program: Program, engine: str | None, opts: EngineOptions) -> Result:
    """Run ``engine`` (None: the default) on ``program`` with ``opts``."""
    name = DEFAULT_ENGINE if engine is None else engine
    check_engine(name)
    if opts.subtree.base:
        if name not in SPLITTABLE:
            raise EngineError(f"--engine {name} explores no subtree ({', '.join(SPLITTABLE)} do)")
        if opts.max_preemptions is not None:
            raise EngineError("a subtree is explored unbounded, without --max-preemptions")
    with searching():
        return ENGINES[name](program, opts)


#: The engines that explore a subtree (:mod:`zmodel.explore.subtree`).
SPLITTABLE = ("dfs", "plain", "dpor", "odpor")


def check_engine(engine: str) -> None:
    """Fail on an unknown engine, naming the known ones."""
    if engine not in ENGINES:
        known = ", ".join(sorted(ENGINES))
        raise EngineError(f"unknown engine {engine!r} (known: {known})")


_COMMON = frozenset(f.name for f in fields(EngineOptions)) - {"extra"}


def explore(program: Program, engine: str | None = None, **options: Any) -> Result:
    """Explore ``program`` with ``engine`` (None: the default, ``dpor``).

    ``options`` are :class:`EngineOptions`' fields (``max_steps``,
    ``max_preemptions``, ``seed``, ``all_violations``, ``time_limit``, ``on_end``); any other
    keyword is the engine's own ``-X`` option (``cache="off"``, ``runs=100``, ...),
    refused with an :class:`EngineError` by an engine that does not take it.
    """
    common = {k: v for k, v in options.items() if k in _COMMON}
    extra = {k: v for k, v in options.items() if k not in _COMMON}
    return run_engine(program, engine, EngineOptions(**common, extra=extra))
