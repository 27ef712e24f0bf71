"""``zmodel list``: designs, their suites' scenarios, properties, operations and options."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from zmodel.properties import Property
from zmodel.report.tables import PLAIN, Cell, Look
from zmodel.zswap.designs import DEFAULT_DESIGN, REGISTRY, Design
from zmodel.zswap.scenario import OP_HELP, OPTIONAL_OPS, OPTIONS, UNIVERSAL_OPTIONS


def render_designs(designs: Sequence[type[Design]], look: Look = PLAIN) -> str:
    rows: list[tuple[Cell, ...]] = [
        (
            ("header", cls.name + (" (default)" if cls.name == DEFAULT_DESIGN else "")),
            f"Linux {cls.kernel}" if cls.kernel else "-",
            cls.description,
        )
        for cls in designs
    ]
    return "\n".join(["designs", *look.table(rows)]) + "\n"


def render_suites(designs: Sequence[type[Design]], look: Look = PLAIN) -> str:
    lines: list[str] = []
    for cls in designs:
        if lines:
            lines.append("")
        lines.append(f"scenarios of {cls.name}")
        rows: list[tuple[Cell, ...]] = []
        for name, scenario in cls.suite:
            expected = ", ".join(sorted(cls.expected.get(name, frozenset())))
            verdict = ("violation", f"[{expected}]") if expected else ("pass", "[pass]")
            rows.append((("header", name), verdict, scenario))
        lines.extend(look.table(rows) if rows else ["  (no default suite)"])
    return "\n".join(lines) + "\n"


def render_properties(properties: Iterable[Property], look: Look = PLAIN) -> str:
    rows = [(("header", p.name), p.family, f"({p.when})", p.description) for p in properties]
    return "\n".join(["properties", *look.table(rows)]) + "\n"


#: What the model leaves out of the swap layer, said once where options are listed.
SIMPLIFICATIONS = (
    "one swap device; one pte per slot (the scenario's user); I/O completes synchronously;"
    " the slot cache (slot_cache=on) is one CPU's, with room for one entry; a swap-in goes"
    " through the swap cache unless swapcache_bypass=on finds a slot with one user"
)


def render_options(look: Look = PLAIN) -> str:
    designs = sorted(REGISTRY.values(), key=lambda cls: cls.name)

    ops: list[tuple[Cell, ...]] = []
    for kind, (usage, text) in OP_HELP.items():
        if kind in OPTIONAL_OPS:
            text += "; designs: " + ", ".join(cls.name for cls in designs if kind in cls.ops)
        ops.append((("header", usage), text))
    options: list[tuple[Cell, ...]] = []
    for o in OPTIONS.values():
        text = o.help
        if o.name not in UNIVERSAL_OPTIONS:
            text += "; designs: " + ", ".join(cls.name for cls in designs if o.name in cls.knobs)
        options.append((("header", o.name), o.values, f"(default {_default(o.default)})", text))
    return (
        "\n".join(
            [
                "operations",
                *look.table(ops),
                "",
                "options (OPTIONS :: SETUP :: THREADS, comma-separated key=value)",
                *look.table(options),
                "",
                f"the model: {SIMPLIFICATIONS}",
            ]
        )
        + "\n"
    )


def _default(value: object) -> str:
    if isinstance(value, bool):
        return "on" if value else "off"
    return "none" if value is None else str(value)
