"""The manifest's import rule (docs/ARCHITECTURE.md, design.md "Layers"): each
layer imports only the layers above it, and the engines (``zmodel/explore/``)
see only the runtime: nothing of ``zmodel/zswap/``.

Every import of every module counts, the ones inside functions too (a lazy
import is still a dependency).
"""

from __future__ import annotations

import ast
from pathlib import Path

import zmodel

ROOT = Path(zmodel.__file__).parent

#: Layer of each package or top-level module, in ARCHITECTURE.md's order.  The
#: harness binds a design and a scenario into an explorable program, so it sits
#: between the engines and the counterexample files (which replay through it).
#: Everything else at the top (check, verify, cli, report, ...) is glue and
#: presentation, layer 7.
LAYERS = {
    "runtime": 1,
    "zswap": 2,
    "properties": 3,
    "explore": 4,
    "harness": 4,
    "counterexample": 5,
    "analysis": 6,
}
GLUE = 7
#: What the engines may import (besides themselves): the runtime's interface.
EXPLORE_MAY_IMPORT = {"explore", "runtime"}


def _unit(module: str) -> str:
    """``zmodel.a.b`` -> ``a`` (the package or top-level module it belongs to)."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else ""


def _layer(unit: str) -> int:
    return LAYERS.get(unit, GLUE) if unit else 0  # bare ``zmodel``: the version only


def _is_module(name: str) -> bool:
    return (ROOT / f"{name}.py").exists() or (ROOT / name).is_dir()


def _imports(path: Path, module: str) -> list[tuple[int, str]]:
    """(line, imported zmodel module) for every import in ``path``, the module ``module``."""
    tree = ast.parse(path.read_text(), str(path))
    package = module.split(".") if path.name == "__init__.py" else module.split(".")[:-1]
    found: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, a.name) for a in node.names if a.name.startswith("zmodel")]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = ".".join(package[: len(package) - node.level + 1])
                name = f"{base}.{node.module}" if node.module else base
            else:
                name = node.module or ""
            if not name.startswith("zmodel"):
                continue
            if name == "zmodel":
                # ``from zmodel import counterexample`` imports a submodule.
                found += [
                    (node.lineno, f"zmodel.{a.name}" if _is_module(a.name) else "zmodel")
                    for a in node.names
                ]
            else:
                found.append((node.lineno, name))
    return found


def _modules() -> list[tuple[Path, str]]:
    out = []
    for path in sorted(ROOT.rglob("*.py")):
        rel = path.relative_to(ROOT.parent).with_suffix("")
        parts = rel.parts[:-1] if rel.name == "__init__" else rel.parts
        out.append((path, ".".join(parts)))
    return out


def _violations(modules: list[tuple[Path, str]]) -> list[str]:
    bad: list[str] = []
    for path, module in modules:
        own = _unit(module)
        for line, target in _imports(path, module):
            unit = _unit(target)
            where = f"{module}:{line} imports {target}"
            if _layer(unit) > _layer(own):
                bad.append(f"{where} (layer {_layer(unit)} below its own {_layer(own)})")
            elif own == "explore" and unit and unit not in EXPLORE_MAY_IMPORT:
                bad.append(f"{where} (the engines see only the runtime)")
    return bad


def test_no_module_imports_a_layer_below_it() -> None:
    modules = _modules()
    assert len(modules) > 50
    assert _violations(modules) == []


def test_the_rule_catches_an_engine_importing_zswap(tmp_path: Path) -> None:
    """The check itself can fail: the import stateful.py had before it moved."""
    probe = tmp_path / "probe.py"
    probe.write_text("from ..zswap.scenario import Scenario\n")
    assert _violations([(probe, "zmodel.explore.probe")]) == [
        "zmodel.explore.probe:1 imports zmodel.zswap.scenario (the engines see only the runtime)"
    ]


def test_the_rule_catches_a_layer_importing_one_below(tmp_path: Path) -> None:
    probe = tmp_path / "probe.py"
    probe.write_text("def f() -> None:\n    from zmodel import check\n")
    assert _violations([(probe, "zmodel.runtime.probe")]) == [
        "zmodel.runtime.probe:2 imports zmodel.check (layer 7 below its own 1)"
    ]
