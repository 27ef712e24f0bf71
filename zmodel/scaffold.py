"""``zmodel new-design BASE NAME``: the starting file of a design change.

The file subclasses BASE, renames it, and lists, as comments, every step the
change can override: each public method BASE has beyond the ``Design``
interface's views, with its signature and the first line of its docstring
(which names the kernel function it models).  Uncommenting one and editing its
body is the change; docs/designing-a-change.md shows three, each under ten
lines.
"""

from __future__ import annotations

import inspect
import re
import textwrap

from zmodel.zswap.designs.base import Design

#: Not steps a change overrides: the checker's views and the helpers every design has.
NOT_STEPS = frozenset({"holds", "offsets", "roots", "set_refcount", "check_scenario", "attach"})


def steps_of(base: type[Design]) -> list[tuple[str, str, str]]:
    """(name, signature, first docstring paragraph) of each overridable step of ``base``.

    ``Design``'s own defaults (a ``shrink`` that the design's kernel does not
    have, say) are not steps of ``base``; what a design or its mixins define is.
    """
    return [(name, signature, doc) for name, signature, doc, _ in _steps(base)]


def _steps(base: type[Design]) -> list[tuple[str, str, str, str]]:
    """As ``steps_of``, with the name of the class that defines each step."""
    seen: dict[str, tuple[str, str, str, str]] = {}
    for klass in base.__mro__:
        if klass is object or klass is Design:
            break
        for name, member in vars(klass).items():
            if name.startswith("_") or name in NOT_STEPS or name in seen:
                continue
            if not inspect.isfunction(member):
                continue
            paragraph = (inspect.getdoc(member) or "").split("\n\n")[0]
            signature = str(inspect.signature(member)).replace("'", "")  # postponed annotations
            seen[name] = (name, signature, " ".join(paragraph.split()), klass.__name__)
    return sorted(seen.values())


def class_name(name: str) -> str:
    """``my-612-early-claim`` -> ``My612EarlyClaim``."""
    words = [w for w in re.split(r"[^0-9A-Za-z]+", name) if w]
    text = "".join(w[:1].upper() + w[1:] for w in words) or "MyChange"
    return text if text[0].isalpha() else f"D{text}"


def scaffold(base: type[Design], base_spec: str, name: str) -> str:
    """The text of the starting file for a change ``name`` of ``base``."""
    cls = class_name(name)
    lines = [
        f'"""{name}: a change of {base.name} (Linux {base.kernel})."""',
        "",
        "from zmodel.runtime import Acquire, Call, Choose, MemObject, Release  # noqa: F401",
        "from zmodel.zswap.designs.base import Steps  # noqa: F401",
        f"from {base.__module__} import {base.__name__}",
        "",
        "",
        f"class {cls}({base.__name__}):",
        f'    name = "{name}"',
        f'    description = "{base.name} with my change"',
        f"    # The violations still expected per suite scenario (zmodel list scenarios"
        f" --design {base_spec}).",
        f"    expected = dict({base.__name__}.expected)",
        "",
        f"    # Steps of {base.name} a change overrides (copy one, then edit its body):",
    ]
    for step, signature, doc, owner in _steps(base):
        where = "" if owner == base.__name__ else f"  (from {owner})"
        lines.append(f"    #   def {step}{signature}{where}")
        for line in textwrap.wrap(doc, 88):
            lines.append(f"    #       {line}")
    lines.append("")
    return "\n".join(lines)
