"""``zmodel list``: designs, their suites' scenarios, properties, operations and options."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from zmodel.properties import Property
from zmodel.zswap.designs import DEFAULT_DESIGN, REGISTRY, Design
from zmodel.zswap.scenario import OP_HELP, OPTIONAL_OPS, OPTIONS, UNIVERSAL_OPTIONS


def _table(rows: Sequence[Sequence[str]], indent: str = "  ") -> list[str]:
    """Left-aligned columns; the last column is left as long as it is."""
    if not rows:
        return []
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]) - 1)]
    return [
        indent
        + "  ".join([*(cell.ljust(w) for cell, w in zip(row, widths, strict=False)), row[-1]])
        for row in rows
    ]


def render_designs(designs: Sequence[type[Design]]) -> str:
    rows = [
        (
            cls.name + (" (default)" if cls.name == DEFAULT_DESIGN else ""),
            f"Linux {cls.kernel}" if cls.kernel else "-",
            cls.description,
        )
        for cls in designs
    ]
    return "\n".join(["designs", *_table(rows)]) + "\n"


def render_suites(designs: Sequence[type[Design]]) -> str:
    lines: list[str] = []
    for cls in designs:
        if lines:
            lines.append("")
        lines.append(f"scenarios of {cls.name}")
        rows: list[tuple[str, str, str]] = []
        for name, scenario in cls.suite:
            expected = ", ".join(sorted(cls.expected.get(name, frozenset()))) or "pass"
            rows.append((name, f"[{expected}]", scenario))
        lines.extend(_table(rows) if rows else ["  (no default suite)"])
    return "\n".join(lines) + "\n"


def render_properties(properties: Iterable[Property]) -> str:
    rows = [(p.name, p.family, f"({p.when})", p.description) for p in properties]
    return "\n".join(["properties", *_table(rows)]) + "\n"


#: What the model leaves out of the swap layer, said once where options are listed.
SIMPLIFICATIONS = (
    "one swap device; one pte per slot (the scenario's user); I/O completes synchronously;"
    " the slot cache (slot_cache=on) is one CPU's, with room for one entry; a swap-in goes"
    " through the swap cache unless swapcache_bypass=on finds a slot with one user"
)


def render_options() -> str:
    designs = sorted(REGISTRY.values(), key=lambda cls: cls.name)

    ops = []
    for kind, (usage, text) in OP_HELP.items():
        if kind in OPTIONAL_OPS:
            text += "; designs: " + ", ".join(cls.name for cls in designs if kind in cls.ops)
        ops.append((usage, text))
    options = []
    for o in OPTIONS.values():
        text = o.help
        if o.name not in UNIVERSAL_OPTIONS:
            text += "; designs: " + ", ".join(cls.name for cls in designs if o.name in cls.knobs)
        options.append((o.name, o.values, f"(default {_default(o.default)})", text))
    return (
        "\n".join(
            [
                "operations",
                *_table(ops),
                "",
                "options (OPTIONS :: SETUP :: THREADS, comma-separated key=value)",
                *_table(options),
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
