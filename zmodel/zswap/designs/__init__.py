"""The registered designs, and how a design name or ``file.py:Class`` is resolved."""

from __future__ import annotations

import hashlib
import importlib.util
import inspect
import sys
from pathlib import Path

from zmodel.zswap.designs.base import Design
from zmodel.zswap.designs.zswap_68 import Zswap68
from zmodel.zswap.designs.zswap_68_nopin import Zswap68NoPin
from zmodel.zswap.designs.zswap_311 import Zswap311, Zswap311LeakFix
from zmodel.zswap.designs.zswap_313 import Zswap313
from zmodel.zswap.designs.zswap_612 import Zswap612
from zmodel.zswap.designs.zswap_613 import Zswap613
from zmodel.zswap.designs.zswap_2013 import Zswap2013
from zmodel.zswap.designs.zswap_2013_norefcount import Zswap2013NoRefcount
from zmodel.zswap.designs.zswap_zsmalloc import ZswapZsmalloc, ZswapZsmallocUnpinned

DEFAULT_DESIGN = "zswap-3.11"

REGISTRY: dict[str, type[Design]] = {
    cls.name: cls
    for cls in (Zswap311, Zswap311LeakFix, Zswap313, Zswap68, Zswap68NoPin, Zswap612, Zswap613)
}
REGISTRY.update(
    {
        cls.name: cls
        for cls in (Zswap2013, Zswap2013NoRefcount, ZswapZsmalloc, ZswapZsmallocUnpinned)
    }
)


class DesignError(ValueError):
    """An unknown design name, or a design file that cannot be loaded."""


def register(cls: type[Design]) -> type[Design]:
    """Class decorator for designs shipped with zmodel."""
    REGISTRY[cls.name] = cls
    return cls


def resolve_design(spec: str) -> type[Design]:
    """A registered name (``zswap-3.11``) or ``path/to/file.py:ClassName``."""
    if spec in REGISTRY:
        return REGISTRY[spec]
    if ":" in spec and spec.rsplit(":", 1)[0].endswith(".py"):
        return _load_file(*spec.rsplit(":", 1))
    known = ", ".join(sorted(REGISTRY))
    raise DesignError(f"unknown design {spec!r} (known: {known}; or path/to/file.py:ClassName)")


def source_spec(spec: str) -> str:
    """The spec to record in a counterexample so that a replay finds the design again:
    a design file's path made absolute (a replay may run from another directory)."""
    if spec not in REGISTRY and ":" in spec and spec.rsplit(":", 1)[0].endswith(".py"):
        path, class_name = spec.rsplit(":", 1)
        return f"{Path(path).resolve()}:{class_name}"
    return spec


def _load_file(path_text: str, class_name: str) -> type[Design]:
    path = Path(path_text)
    if not path.is_file():
        raise DesignError(f"design file {path_text!r} does not exist")
    module_name = (
        "zmodel_user_design_" + hashlib.sha1(str(path.resolve()).encode()).hexdigest()[:12]
    )
    spec = importlib.util.spec_from_file_location(module_name, path)
    if spec is None or spec.loader is None:
        raise DesignError(f"design file {path_text!r} cannot be imported")
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module
    try:
        spec.loader.exec_module(module)
    except Exception as exc:
        raise DesignError(
            f"design file {path_text!r} failed to import: {type(exc).__name__}: {exc}"
        ) from None
    cls = getattr(module, class_name, None)
    if not (inspect.isclass(cls) and issubclass(cls, Design)):
        raise DesignError(f"{path_text!r} has no Design subclass named {class_name!r}")
    if not cls.name or (cls.name in REGISTRY and REGISTRY[cls.name] is not cls):
        # A variant that forgot to rename itself still needs a distinct name on disk.
        cls.name = f"{path.stem}:{class_name}"
    return cls


def design_fingerprint(cls: type[Design]) -> str:
    """A hash of the source of the design class and every base up to Design."""
    digest = hashlib.sha256()
    for klass in cls.__mro__:
        if klass is object:
            break
        try:
            digest.update(inspect.getsource(klass).encode())
        except (OSError, TypeError):
            digest.update(klass.__qualname__.encode())
    return digest.hexdigest()[:16]


__all__ = [
    "DEFAULT_DESIGN",
    "REGISTRY",
    "Design",
    "DesignError",
    "design_fingerprint",
    "register",
    "resolve_design",
    "source_spec",
]

# The seed thread's questions, posed as variants of zswap-3.11 (docs/seed-questions.md).
# Imported last: they subclass the designs above and register like them.
from zmodel.zswap.designs.seed import SEED_DESIGNS  # noqa: E402

for _cls in SEED_DESIGNS:
    register(_cls)
