"""A design the user typed (``--design D``), resolved with a precise one-line error.

The registry (zmodel.zswap.designs) knows names and ``path/to/file.py:ClassName``;
anything else it calls an unknown design.  This module first says what is wrong
with a spec that is plainly a path: a ``.py`` file without ``:ClassName``, a
directory, a file that is not Python, and, once the registry has loaded the
file, a class that is not there or is not a Design.
"""

from __future__ import annotations

import inspect
import sys
from pathlib import Path
from types import ModuleType

from zmodel.design_contract import check_design
from zmodel.zswap.designs import REGISTRY, Design, DesignError, resolve_design


def resolve(spec: str) -> type[Design]:
    """``resolve_design`` with precise errors (DesignError, one line each)."""
    if spec in REGISTRY:
        return REGISTRY[spec]
    path_text, sep, class_name = spec.rpartition(":")
    if not sep:
        path_text, class_name = spec, ""
    path = Path(path_text)
    if path.is_dir():
        raise DesignError(
            f"design {spec!r}: {path_text!r} is a directory; name a file and a class in it,"
            " path/to/file.py:ClassName"
        )
    if not sep and (path.suffix == ".py" or path.is_file()):
        raise DesignError(f"design {spec!r} names a file but no class: write {path_text}:ClassName")
    if sep and path.suffix != ".py" and path.is_file():
        raise DesignError(f"design file {path_text!r} is not a Python (.py) file")
    if sep and path.suffix == ".py" and not class_name.isidentifier():
        raise DesignError(f"design {spec!r}: {class_name!r} is not a class name")
    try:
        cls = resolve_design(spec)
    except DesignError as err:
        if sep and path.suffix == ".py" and path.is_file():
            raise DesignError(_not_a_design(path, class_name) or str(err)) from None
        raise
    problems = check_design(cls)  # the design contract (design_contract.py)
    if problems:
        more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        raise DesignError(f"design {spec!r}: {problems[0]}{more}")
    return cls


def _loaded(path: Path) -> ModuleType | None:
    """The module the registry loaded from ``path``, if it did."""
    target = path.resolve()
    for module in list(sys.modules.values()):
        file = getattr(module, "__file__", None)
        if file and Path(file).resolve() == target:
            return module
    return None


def _designs_in(module: ModuleType) -> list[str]:
    return sorted(
        name
        for name, value in vars(module).items()
        if inspect.isclass(value)
        and issubclass(value, Design)
        and value.__module__ == module.__name__
    )


def _not_a_design(path: Path, class_name: str) -> str | None:
    """Why ``class_name`` in the loaded ``path`` is not a design (None if not loaded)."""
    module = _loaded(path)
    if module is None:
        return None
    value = getattr(module, class_name, None)
    found = _designs_in(module)
    others = f" (Design subclasses there: {', '.join(found)})" if found else ""
    if value is None:
        return f"design file {str(path)!r} has no {class_name!r}{others}"
    if not inspect.isclass(value):
        return f"{path}:{class_name} is {value!r}, not a class (a Design subclass){others}"
    return (
        f"{path}:{class_name} is a class but not a Design: subclass a design"
        f" (e.g. zmodel.zswap.designs.zswap_612.Zswap612){others}"
    )
