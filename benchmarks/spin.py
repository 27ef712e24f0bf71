"""lastzero(n) under SPIN and under zmodel, in one process tree: ``python benchmarks/spin.py``.

Writes a Promela model of lastzero(n) (below, from the benchmark's definition in
:mod:`benchmarks.programs`: a reader scans ``a[n], a[n-1], ...`` for a zero while
writer ``j`` sets ``a[j] = a[j-1] + 1``, each access one step), generates and
compiles SPIN's verifier (``spin -a``, then ``cc -O2``; partial-order reduction is
SPIN's default, on), runs ``pan`` for a full state-space search, then zmodel's
default engine on the same n in a forked child.  Each is measured from its own
``wait4`` (:mod:`benchmarks.measure`): CPU seconds (user + system), wall seconds
and peak resident memory (``ru_maxrss``); the ratios are zmodel's over SPIN's.

SPIN is optional (Debian's ``spin`` package): without it the script says so and
exits 0, so nothing else depends on it.
"""

from __future__ import annotations

import argparse
import re
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a script: make ``benchmarks`` importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.families import FAMILIES
from benchmarks.measure import Measured, in_child, run_command
from zmodel.engine_build import describe
from zmodel.explore import explore

PROMELA = """\
/* lastzero({n}): written for zmodel's benchmarks/spin.py */
#define N {n}
byte a[N+1];

active proctype reader() {{
  byte i = N;
  do
  :: a[i] != 0 -> i--   /* one step reads a[i]; the decrement is local */
  :: else -> break
  od
}}

/* pids 1..N: writer j reads a[j-1] in one step and writes a[j] in the next */
active [N] proctype writer() {{
  byte v;
  v = a[_pid - 1];
  a[_pid] = v + 1
}}
"""


def promela(n: int) -> str:
    if not 1 <= n <= 200:
        raise ValueError("lastzero(n) needs 1 <= n <= 200 (values are bytes)")
    return PROMELA.format(n=n)


def run_spin(n: int, workdir: Path) -> tuple[Measured, dict[str, Any]]:
    """Generate, compile and run pan; its measurement and the figures it printed."""
    (workdir / "lastzero.pml").write_text(promela(n))
    for argv in (
        ["spin", "-a", "lastzero.pml"],
        # MEMLIM: pan's default cap (2 GB) stops n = 12, which needs about 2.5 GB.
        ["cc", "-O2", "-DMEMLIM=16384", "-o", "pan", "pan.c"],
    ):
        built, output = run_command(argv, cwd=str(workdir))
        if built.error:
            raise RuntimeError(f"{' '.join(argv)}: {built.error}\n{output}")
    measured, output = run_command(["./pan", "-m1000000"], cwd=str(workdir))
    figures: dict[str, Any] = {"errors": _figure(r"errors: (\d+)", output)}
    figures["states"] = _figure(r"(\d+) states, stored", output)
    # pan prints large counts in e-notation ("3.9e+08 transitions").
    figures["transitions"] = _figure(r"([\d.]+(?:e\+\d+)?) transitions", output, _count)
    figures["reported_mb"] = _figure(r"([\d.]+)\s+total actual memory usage", output, float)
    if measured.error or figures["errors"] != 0:
        raise RuntimeError(f"pan: {measured.error or 'errors reported'}\n{output}")
    return measured, figures


def _count(text: str) -> int:
    return int(float(text))


def _figure(pattern: str, text: str, kind: Any = int) -> Any:
    found = re.search(pattern, text)
    return kind(found.group(1)) if found else None


def run_zmodel(n: int, time_limit: float) -> Measured:
    family = FAMILIES["lastzero"]

    def search() -> dict[str, Any]:
        result = explore(family.build(n), time_limit=time_limit)
        return {
            "executions": result.stats.executions,
            "transitions": result.stats.transitions,
            "exhaustive": result.exhaustive,
            "engine": result.engine,
        }

    return in_child(search)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--n", default="10", help="comma-separated sizes (default 10)")
    parser.add_argument("--time-limit", type=float, default=600.0, help="zmodel's, seconds")
    args = parser.parse_args(argv)
    sizes = [int(part) for part in args.n.split(",")]
    missing = [tool for tool in ("spin", "cc") if shutil.which(tool) is None]
    if missing:
        print(f"spin.py: skipped, {' and '.join(missing)} not installed (apt-get install spin)")
        return 0
    print(f"zmodel: {describe()}")
    print(
        f"{'n':>3} {'traces':>7}  {'tool':<16} {'CPU s':>8} {'wall s':>8} {'peak MB':>8}  figures"
    )
    for n in sizes:
        traces = FAMILIES["lastzero"].count(n)
        with tempfile.TemporaryDirectory(prefix="zmodel-spin-") as tmp:
            spin, figures = run_spin(n, Path(tmp))
        ours = run_zmodel(n, args.time_limit)
        print(
            f"{n:>3} {traces:>7}  {'SPIN pan (POR)':<16} {spin.cpu:>8.2f} {spin.wall:>8.2f} "
            f"{spin.peak_mb:>8.1f}  {figures['states']} states, {figures['transitions']}"
            f" transitions, pan says {figures['reported_mb']} MB"
        )
        if ours.error or ours.value is None:
            print(f"{n:>3} {'':>7}  {'zmodel':<16} {ours.error}")
            continue
        value = ours.value
        cut = "" if value["exhaustive"] else ", cut by the time limit"
        print(
            f"{n:>3} {'':>7}  {'zmodel ' + value['engine']:<16} {ours.cpu:>8.2f} {ours.wall:>8.2f}"
            f" {ours.peak_mb:>8.1f}  {value['executions']} executions"
            f" ({value['executions'] / traces:.2f} per trace), {value['transitions']}"
            f" transitions{cut}"
        )
        print(
            f"{n:>3} {'':>7}  {'zmodel / SPIN':<16} {ours.cpu / spin.cpu:>8.2f}"
            f" {ours.wall / spin.wall:>8.2f} {ours.peak_mb / spin.peak_mb:>8.2f}"
        )
        sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
