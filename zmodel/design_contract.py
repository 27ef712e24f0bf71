"""The design contract, checked: what a ``Design`` subclass must provide to be explored.

``check_design(cls)`` returns the problems it finds, one line each (empty: the
class keeps the contract).  ``zmodel check`` runs it on a design loaded from a
file; a test runs it on every registered design.  It sits with the harness,
above the zswap layer and the properties it names.  It checks:

- the class has a name and the paths and views a run calls are its own, not
  ``Design``'s ``NotImplementedError`` stubs (``store``, ``load``,
  ``invalidate_page``, ``invalidate_area``, ``writeback``; ``holds``,
  ``offsets``, ``roots``), and so is every optional op's path it claims in
  ``ops`` (``swapon``, ``cpu_dead`` and ``cpu_prepare`` for the hotplug ops,
  ``pool_switch``, ``set_enabled``);
- ``ops`` holds only optional operations and ``knobs`` only scenario options;
- every suite scenario parses and is one the design accepts
  (``check_scenario``); ``expected`` and ``reach`` name suite scenarios, and
  ``expected`` names known properties;
- the views only read: each suite scenario's first run is played to its end
  and ``holds``, ``offsets`` and ``roots`` are called on the final state with
  the heap outside any step, where a ``heap.get`` or ``heap.set`` raises (the
  views must use ``heap.peek``).
"""

from __future__ import annotations

from zmodel.harness import build_program
from zmodel.properties import PROPERTIES
from zmodel.runtime import ModelError, Violation
from zmodel.zswap.designs.base import Design
from zmodel.zswap.scenario import OPTIONAL_OPS, OPTIONS, OpKind, ScenarioError, parse_scenario

#: The methods every design must define itself.
REQUIRED = (
    "store",
    "load",
    "invalidate_page",
    "invalidate_area",
    "writeback",
    "holds",
    "offsets",
    "roots",
)
#: The methods an optional operation needs.
OP_METHODS: dict[OpKind, tuple[str, ...]] = {
    OpKind.SWAPON: ("swapon",),
    OpKind.CPU_OFFLINE: ("cpu_dead",),
    OpKind.CPU_ONLINE: ("cpu_prepare",),
    OpKind.POOL_SWITCH: ("pool_switch",),
    OpKind.ZSWAP_OFF: ("set_enabled",),
    OpKind.ZSWAP_ON: ("set_enabled",),
    OpKind.SHRINK: (),  # Design.shrink: writeback passes, a real default
}


def _missing(cls: type[Design], method: str) -> bool:
    return getattr(cls, method) is getattr(Design, method)


def check_design(cls: type[Design]) -> list[str]:
    """The contract problems of ``cls``, one line each."""
    who = cls.__name__
    problems: list[str] = []
    if not cls.name:
        problems.append(f"{who}: no name (set the class attribute name = '...')")
    problems += [
        f"{who}.{m} is not defined (Design's stub raises NotImplementedError)"
        for m in REQUIRED
        if _missing(cls, m)
    ]
    for kind in sorted(cls.ops):
        if kind not in OPTIONAL_OPS:
            problems.append(f"{who}.ops: {kind.value!r} is not an optional operation")
            continue
        problems += [
            f"{who}.ops has {kind.value!r} but {who}.{m} is not defined"
            for m in OP_METHODS[kind]
            if _missing(cls, m)
        ]
    problems += [f"{who}.knobs: no scenario option {k!r}" for k in sorted(cls.knobs - set(OPTIONS))]
    names = {name for name, _ in cls.suite}
    for name, text in cls.suite:
        try:
            cls.check_scenario(parse_scenario(text))
        except ScenarioError as err:
            problems.append(f"{who}.suite {name!r}: {err}")
    for table in ("expected", "reach"):
        # The class's own tables: a variant with a smaller suite may inherit
        # entries for scenarios it does not run, which are simply unused.
        problems += [
            f"{who}.{table} names {name!r}, which is not a suite scenario"
            for name in sorted(cls.__dict__.get(table, {}))
            if name not in names
        ]
    for name, props in sorted(cls.expected.items()):
        problems += [
            f"{who}.expected[{name!r}]: no property {p!r}" for p in sorted(props - set(PROPERTIES))
        ]
    if not problems:
        problems += _views_only_read(cls)
    return problems


def _views_only_read(cls: type[Design]) -> list[str]:
    """Call the views on the end state of each suite scenario's first run."""
    problems: list[str] = []
    for name, text in cls.suite:
        ex = build_program(cls, parse_scenario(text))()
        try:
            while not ex.finished() and ex.enabled():
                ex.step(ex.enabled()[0])
        except Violation:
            pass  # a design may well be buggy: its views still read this state
        except ModelError:
            continue  # the model raised: check and replay report that, with its schedule
        design = _design_of(ex)
        if design is None:
            continue
        for view in ("holds", "offsets", "roots"):
            try:
                if view == "holds":
                    for off in parse_scenario(text).slots:
                        design.holds(off)
                else:
                    getattr(design, view)()
            except Exception as exc:  # the contract is what is being checked
                problems.append(
                    f"{cls.__name__}.{view} on {name!r}: {type(exc).__name__}: {exc}"
                    " (views must read with heap.peek)"
                )
        if problems:
            break
    return problems


def _design_of(ex: object) -> Design | None:
    """The design object of a run: harness.build_program's end-state check closes
    over it (the contract check reads it there rather than widen the harness)."""
    check = getattr(ex, "_end_check", None)
    for cell in getattr(check, "__closure__", None) or ():
        if isinstance(cell.cell_contents, Design):
            return cell.cell_contents
    return None
