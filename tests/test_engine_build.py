"""The compiled engine's module list, and how a build says which one it is."""

from __future__ import annotations

import tomllib
from pathlib import Path

from click.testing import CliRunner

from zmodel import engine_build
from zmodel.cli import cli

ROOT = Path(__file__).resolve().parent.parent


def test_the_build_hook_compiles_the_modules_engine_build_lists() -> None:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    hook = config["tool"]["hatch"]["build"]["targets"]["wheel"]["hooks"]["mypyc"]
    assert hook["enable-by-default"] is False  # opt-in: the default install stays Python
    listed = [path.removesuffix(".py").replace("/", ".") for path in hook["include"]]
    assert listed == list(engine_build.COMPILED_MODULES)
    for name in listed:
        assert (ROOT / (name.replace(".", "/") + ".py")).is_file(), name


def test_no_module_outside_the_list_subclasses_a_compiled_class() -> None:
    # mypyc: an interpreted class cannot inherit from a compiled one, so a subclass
    # of an engine class must be compiled with it.
    compiled = {name: __import__(name, fromlist=["_"]) for name in engine_build.COMPILED_MODULES}
    classes = {
        obj
        for module in compiled.values()
        for obj in vars(module).values()
        if isinstance(obj, type) and obj.__module__ == module.__name__
    }
    for path in (ROOT / "zmodel").rglob("*.py"):
        name = ".".join(path.relative_to(ROOT).with_suffix("").parts)
        if name in compiled or name.endswith(("__init__", "__main__")):
            continue
        module = __import__(name, fromlist=["_"])
        for obj in vars(module).values():
            if isinstance(obj, type) and obj.__module__ == name:
                bases = set(obj.__mro__[1:]) & classes
                assert not bases, f"{name}.{obj.__name__} subclasses compiled {bases}"


def test_version_says_which_build_runs() -> None:
    result = CliRunner().invoke(cli, ["--version"])
    assert result.exit_code == 0
    assert engine_build.describe() in result.output
    expected = "compiled engine" if engine_build.compiled_modules() else "pure Python engine"
    assert expected in result.output
