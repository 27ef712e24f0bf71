"""Whether the engine's hot modules run compiled (mypyc) or as plain Python.

The executor, the heap and the DPOR engines are the hot loop; mypyc compiles
them to C extension modules when the project is installed with
``HATCH_BUILD_HOOK_ENABLE_MYPYC=true`` (README, "A compiled engine").  Every
other module, and every design, stays Python.  The compiled modules are the
same source: the pure build is the reference, and CI runs the differential
suites on both.  Tests that monkeypatch one of these modules' internals are
marked ``pure_python`` and skip on a compiled build, where calls inside a
compiled module do not look the patched name up.
"""

from __future__ import annotations

import importlib
from importlib.machinery import EXTENSION_SUFFIXES

#: The modules the build hook compiles (pyproject.toml's mypyc ``include``, in
#: that order; a test keeps the two lists equal).
COMPILED_MODULES = (
    "zmodel.runtime.executor",
    "zmodel.runtime.memory",
    "zmodel.runtime.fingerprint",
    "zmodel.runtime.steps",
    "zmodel.explore.races",
    "zmodel.explore.footprints",
    "zmodel.explore.drive",
    "zmodel.explore.optimal_dpor",
    "zmodel.explore.wakeup_tree",
    "zmodel.explore.dpor",
    "zmodel.explore.dpor_cache",
    "zmodel.explore.value_dependence",
    "zmodel.explore.dfs",
)


def compiled_modules() -> list[str]:
    """The modules of :data:`COMPILED_MODULES` this installation runs compiled."""
    found = []
    for name in COMPILED_MODULES:
        path = getattr(importlib.import_module(name), "__file__", None) or ""
        if path.endswith(tuple(EXTENSION_SUFFIXES)):
            found.append(name)
    return found


def describe() -> str:
    """One line for ``--version`` and the benchmarks: which build is running."""
    done = compiled_modules()
    if not done:
        return "pure Python engine"
    if len(done) == len(COMPILED_MODULES):
        return f"compiled engine (mypyc, {len(done)} modules)"
    return f"partly compiled engine ({len(done)} of {len(COMPILED_MODULES)} modules: mixed build)"
