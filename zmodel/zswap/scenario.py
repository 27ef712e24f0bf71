"""Scenarios: a bounded workload, parsed from ``[OPTIONS ::] [SETUP ::] THREAD | THREAD``.

SETUP and each THREAD are ``OP; OP; ...``.  Operations are kernel entry points
through the modelled swap layer:

- ``store OFF VAL``: swap-out of a page holding VAL at slot OFF;
- ``load OFF``: a swap-in fault on slot OFF;
- ``free OFF``: the last user drops slot OFF (zswap invalidate);
- ``writeback``: one shrink/reclaim attempt;
- ``shrink N``: one shrinker call over up to N LRU items (6.x);
- ``swapoff`` and ``swapon``.

OPTIONS are comma-separated ``key=value`` pairs.  A two-part text is
``OPTIONS :: THREADS`` when its first part is all ``key=value`` pairs, else
``SETUP :: THREADS``.  Errors raise :class:`ScenarioError` with a one-line message.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any


class OpKind(StrEnum):
    """The scenario operations; the swap layer's dispatch over them is exhaustive
    (``typing.assert_never``), so mypy reports a kind an operation table forgets."""

    STORE = "store"
    LOAD = "load"
    FREE = "free"
    WRITEBACK = "writeback"
    SWAPOFF = "swapoff"
    SHRINK = "shrink"
    SWAPON = "swapon"
    CPU_OFFLINE = "cpu_offline"
    CPU_ONLINE = "cpu_online"
    POOL_SWITCH = "pool_switch"
    ZSWAP_OFF = "zswap_off"
    ZSWAP_ON = "zswap_on"


#: Per operation: its syntax and what it models, for ``zmodel list options``.
OP_HELP: dict[OpKind, tuple[str, str]] = {
    OpKind.STORE: (
        "store OFF VAL",
        "swap-out of a page holding VAL to slot OFF (shrink_page_list"
        " -> add_to_swap -> swap_writepage -> zswap store)",
    ),
    OpKind.LOAD: (
        "load OFF",
        "swap-in fault on slot OFF (do_swap_page -> swapin through the swap cache -> zswap load)",
    ),
    OpKind.FREE: (
        "free OFF",
        "the last user drops slot OFF (free_swap_and_cache -> zswap"
        " invalidate); a no-op once swapoff took the slot over",
    ),
    OpKind.WRITEBACK: (
        "writeback",
        "one reclaim attempt: zbud_reclaim_page (3.x) or one LRU item"
        " of the shrinker (6.x) -> zswap_writeback_entry",
    ),
    OpKind.SWAPOFF: (
        "swapoff",
        "swapoff of the one device: try_to_unuse, wait for its users, zswap's per-type teardown",
    ),
    OpKind.SWAPON: (
        "swapon",
        "swapon of the device after a swapoff (sys_swapon under swapon_mutex: zswap's per-type"
        " init again); -EBUSY while the device is on or a swapoff runs",
    ),
    OpKind.SHRINK: (
        "shrink N",
        "one shrinker call walking up to N LRU items, 1..16 (6.x: list_lru_walk_one, lru lock"
        " dropped per item -> shrink_memcg_cb)",
    ),
    OpKind.CPU_OFFLINE: (
        "cpu_offline C",
        "CPU C goes offline (_cpu_down: tasks migrate off it, then zswap_cpu_comp_dead(C) for"
        " every pool); needs cpus=N; the last online CPU stays (-EBUSY)",
    ),
    OpKind.CPU_ONLINE: (
        "cpu_online C",
        "CPU C comes back (_cpu_up: zswap_cpu_comp_prepare(C) for every pool); needs cpus=N",
    ),
    OpKind.POOL_SWITCH: (
        "pool_switch",
        "write zswap.compressor at run time (__zswap_param_set: a new current pool, the old"
        " one's initial reference dropped; released when its last entry goes)",
    ),
    OpKind.ZSWAP_OFF: (
        "zswap_off",
        "write zswap.enabled=N at run time (stores are rejected; loads and old entries stay)",
    ),
    OpKind.ZSWAP_ON: ("zswap_on", "write zswap.enabled=Y at run time"),
}
#: Operations only some designs have (``Design.ops``); the others refuse them.
OPTIONAL_OPS = frozenset(
    {
        OpKind.SHRINK,
        OpKind.SWAPON,
        OpKind.CPU_OFFLINE,
        OpKind.CPU_ONLINE,
        OpKind.POOL_SWITCH,
        OpKind.ZSWAP_OFF,
        OpKind.ZSWAP_ON,
    }
)
#: The operations that need ``cpus=N``.
CPU_OPS = frozenset({OpKind.CPU_OFFLINE, OpKind.CPU_ONLINE})
MAX_SHRINK = 16
MAX_CPUS = 4

OPS_WITH_SLOT = {OpKind.STORE: 2, OpKind.LOAD: 1, OpKind.FREE: 1}
OPS_BARE = {
    OpKind.WRITEBACK,
    OpKind.SWAPOFF,
    OpKind.SWAPON,
    OpKind.POOL_SWITCH,
    OpKind.ZSWAP_OFF,
    OpKind.ZSWAP_ON,
}
MAX_SLOT = 63


class ScenarioError(ValueError):
    """A scenario text that does not parse, or an option that does not exist."""


@dataclass(frozen=True)
class Option:
    name: str
    default: Any
    parse: Any  # Callable[[str], Any]; kept loose so option tables stay one line each
    help: str
    values: str = "on|off"  # the accepted values, for zmodel list options


def _on_off(text: str) -> bool:
    if text in ("on", "true", "yes", "1"):
        return True
    if text in ("off", "false", "no", "0"):
        return False
    raise ValueError("expected on or off")


def _cpus(text: str) -> int:
    value = int(text)
    if not 1 <= value <= MAX_CPUS:
        raise ValueError(f"expected 1..{MAX_CPUS}")
    return value


def _upto(top: int) -> Callable[[str], int]:
    """A parser of an integer in 0..top (a model bound: past it a scenario means nothing)."""

    def parse(text: str) -> int:
        value = int(text)
        if not 0 <= value <= top:
            raise ValueError(f"expected 0..{top}")
        return value

    return parse


OPTIONS: dict[str, Option] = {
    o.name: o
    for o in (
        Option(
            "pool_pages",
            None,
            _upto(4096),
            "zswap pool limit in page frames (zswap_is_full)",
            "0..4096",
        ),
        Option("alloc_failures", False, _on_off, "every allocation the kernel may fail can fail"),
        Option(
            "reclaim_retries",
            8,
            _upto(64),
            "retries of one zbud_reclaim_page call (3.11: 8)",
            "0..64",
        ),
        Option("serialize", True, _on_off, "the swap layer serialises store/load/free per slot"),
        Option(
            "exclusive_loads",
            None,
            _on_off,
            "zswap.exclusive_loads, where a design has the knob (6.8; default: the kernel's, off)",
        ),
        Option(
            "swapcache_bypass",
            False,
            _on_off,
            "the device is SWP_SYNCHRONOUS_IO (zram): a fault on a slot with one user reads it"
            " into a private page, bypassing the swap cache (4.15+)",
        ),
        Option(
            "cpus",
            None,
            _cpus,
            "N CPUs with per-CPU compression contexts, threads placed round-robin and migrating"
            " at each context take (unset: each thread its own CPU, contexts not modelled)",
            "1..4",
        ),
        Option(
            "slot_cache",
            False,
            _on_off,
            "the per-CPU swap-slot cache (4.11-6.14): free_swap_slot defers a slot's free"
            " (one CPU's cache, one entry)",
        ),
    )
}
#: Options every design takes; the others only designs with the mechanism
#: (``Design.knobs``), the rest reject them.
UNIVERSAL_OPTIONS = frozenset({"pool_pages", "alloc_failures", "reclaim_retries", "serialize"})


@dataclass(frozen=True)
class Op:
    kind: OpKind
    slot: int | None = None
    value: str | None = None
    count: int | None = None  # shrink N: the items to walk
    cpu: int | None = None  # cpu_offline C, cpu_online C

    def __post_init__(self) -> None:
        # Accept the kind's text too (``Op("store", 1, "A")``): one type inside.
        object.__setattr__(self, "kind", OpKind(self.kind))

    def __str__(self) -> str:
        parts = (self.kind.value, self.slot, self.value, self.count, self.cpu)
        return " ".join(str(p) for p in parts if p is not None)

    #: Its fingerprint never changes (the dataclass is frozen), so a suspended frame
    #: holding it may keep its fingerprint (zmodel.runtime.executor).
    __fingerprint_frozen__ = True

    def __fingerprint__(self) -> str:
        # Kept after the first rendering: thread fingerprints ask for it often.
        text: str | None = self.__dict__.get("_text")
        if text is None:
            text = str(self)
            object.__setattr__(self, "_text", text)
        return text


@dataclass(frozen=True)
class Scenario:
    setup: tuple[Op, ...]
    threads: tuple[tuple[Op, ...], ...]
    options: tuple[tuple[str, Any], ...] = ()

    def option(self, name: str) -> Any:
        for key, value in self.options:
            if key == name:
                return value
        return OPTIONS[name].default

    @property
    def slots(self) -> tuple[int, ...]:
        used = {op.slot for ops in (self.setup, *self.threads) for op in ops if op.slot is not None}
        return tuple(sorted(used))

    @property
    def text(self) -> str:
        """The canonical text: parses back to an equal scenario."""
        parts = []
        if self.options:
            parts.append(", ".join(f"{k}={_show(v)}" for k, v in self.options))
        if self.setup:
            parts.append("; ".join(str(op) for op in self.setup))
        parts.append(" | ".join("; ".join(str(op) for op in ops) for ops in self.threads))
        return " :: ".join(parts)

    def __str__(self) -> str:
        return self.text


def _show(value: Any) -> str:
    if isinstance(value, bool):
        return "on" if value else "off"
    return str(value)


_OPTION_RE = re.compile(r"^\s*[A-Za-z_]\w*\s*=\s*\S+\s*$")


def _is_options(part: str) -> bool:
    items = [p for p in part.split(",") if p.strip()]
    return bool(items) and all(_OPTION_RE.match(p) for p in items)


def parse_options(text: str) -> tuple[tuple[str, Any], ...]:
    result: dict[str, Any] = {}
    for item in text.split(","):
        if not item.strip():
            continue
        if "=" not in item:
            raise ScenarioError(f"option {item.strip()!r} is not key=value")
        key, raw = (s.strip() for s in item.split("=", 1))
        if key not in OPTIONS:
            known = ", ".join(sorted(OPTIONS))
            raise ScenarioError(f"unknown option {key!r} (known: {known})")
        try:
            result[key] = OPTIONS[key].parse(raw)
        except ValueError as err:
            raise ScenarioError(f"option {key}={raw}: {err}") from None
    return tuple(sorted(result.items()))


def parse_op(text: str) -> Op:
    words = text.split()
    if not words:
        raise ScenarioError("empty operation")
    try:
        kind = OpKind(words[0].lower())
    except ValueError:
        known = ", ".join(sorted(OpKind))
        raise ScenarioError(f"unknown operation {words[0]!r} (known: {known})") from None
    if kind in OPS_BARE:
        if len(words) != 1:
            raise ScenarioError(f"{kind.value!r} takes no arguments: {text.strip()!r}")
        return Op(kind)
    if kind is OpKind.SHRINK:
        if len(words) != 2 or not words[1].isdigit():
            raise ScenarioError(f"{text.strip()!r}: expected 'shrink N'")
        count = int(words[1])
        if not 1 <= count <= MAX_SHRINK:
            raise ScenarioError(f"{text.strip()!r}: N must be 1..{MAX_SHRINK}")
        return Op(kind, count=count)
    if kind in CPU_OPS:
        if len(words) != 2 or not words[1].isdigit() or int(words[1]) >= MAX_CPUS:
            raise ScenarioError(
                f"{text.strip()!r}: expected '{kind.value} C', C in 0..{MAX_CPUS - 1}"
            )
        return Op(kind, cpu=int(words[1]))
    arity = OPS_WITH_SLOT[kind]
    if len(words) != arity + 1:
        usage = "store OFF VAL" if kind is OpKind.STORE else f"{kind} OFF"
        raise ScenarioError(f"{text.strip()!r}: expected {usage!r}")
    try:
        slot = int(words[1])
    except ValueError:
        raise ScenarioError(f"{text.strip()!r}: slot {words[1]!r} is not a number") from None
    if not 0 <= slot <= MAX_SLOT:
        raise ScenarioError(f"{text.strip()!r}: slot must be 0..{MAX_SLOT}")
    value = words[2] if arity == 2 else None
    return Op(kind, slot, value)


def _ops(text: str) -> tuple[Op, ...]:
    parts = text.split(";")
    if parts and not parts[-1].strip():
        parts.pop()  # one trailing ';' is allowed
    if any(not part.strip() for part in parts):
        raise ScenarioError(f"empty operation in {text.strip()!r} (two ';' with nothing between)")
    return tuple(parse_op(part) for part in parts)


def parse_scenario(text: str) -> Scenario:
    if not text or not text.strip():
        raise ScenarioError("empty scenario")
    parts = [p.strip() for p in text.split("::")]
    if len(parts) > 3:
        raise ScenarioError("at most three '::'-separated parts: OPTIONS :: SETUP :: THREADS")
    options: tuple[tuple[str, Any], ...] = ()
    setup: tuple[Op, ...] = ()
    if len(parts) == 3:
        options, setup = parse_options(parts[0]), _ops(parts[1])
    elif len(parts) == 2:
        if _is_options(parts[0]):
            options = parse_options(parts[0])
        else:
            setup = _ops(parts[0])
    threads = tuple(_ops(t) for t in parts[-1].split("|"))
    if any(not ops for ops in threads):
        raise ScenarioError("a thread has no operations")
    if len(threads) > 8:
        raise ScenarioError("at most 8 threads")
    return Scenario(setup, threads, options)
