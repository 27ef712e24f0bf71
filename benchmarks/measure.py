"""Run one measurement in a forked child: its CPU seconds, wall seconds and peak memory.

Peak memory is the child's ``ru_maxrss`` from ``os.wait4`` (getrusage of that one
process, kilobytes on Linux): the resident set at its largest, which includes
what the child inherited from this process at the fork (the interpreter and the
imported modules: :func:`baseline_mb` says how much).  A child per run, because
``ru_maxrss`` only ever grows: measured in one process, every run after the
largest would report the largest.  tracemalloc is not used: it slows Python
allocation several times over, so it would distort the CPU figures printed next
to it.

CPU seconds are the child's user + system time (``time.process_time`` measured
inside the child agrees; a subprocess such as SPIN's ``pan`` is measured by
:func:`run_command` the same way, from its own ``wait4``).
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Measured:
    value: Any  # what the measured function returned (JSON-able), None if it failed
    cpu: float  # seconds, user + system
    wall: float
    peak_mb: float  # ru_maxrss of the process
    error: str | None = None


def baseline_mb() -> float:
    """This process's resident set now (what a forked child starts with)."""
    with open("/proc/self/statm") as statm:
        pages = int(statm.read().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE") / 2**20


def in_child(fn: Callable[[], Any]) -> Measured:
    """Run ``fn`` in a forked child and measure it; its result comes back as JSON."""
    read_end, write_end = os.pipe()
    start = time.perf_counter()
    pid = os.fork()
    if pid == 0:  # the child: run, report, leave without running the parent's atexit
        os.close(read_end)
        try:
            payload = {"value": fn()}
        except BaseException as exc:  # reported to the parent, which prints it
            payload = {"error": f"{type(exc).__name__}: {exc}"}
        with os.fdopen(write_end, "w") as out:
            json.dump(payload, out)
        os._exit(0)
    os.close(write_end)
    with os.fdopen(read_end) as source:
        text = source.read()
    _, status, usage = os.wait4(pid, 0)
    wall = time.perf_counter() - start
    cpu = usage.ru_utime + usage.ru_stime
    if not text:
        return Measured(None, cpu, wall, usage.ru_maxrss / 1024, f"child died ({status})")
    payload = json.loads(text)
    return Measured(payload.get("value"), cpu, wall, usage.ru_maxrss / 1024, payload.get("error"))


def run_command(argv: Sequence[str], cwd: str | None = None) -> tuple[Measured, str]:
    """Run a command and measure it as :func:`in_child` does; also its output."""
    start = time.perf_counter()
    proc = subprocess.Popen(
        list(argv), cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    assert proc.stdout is not None
    output = proc.stdout.read()
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    wall = time.perf_counter() - start
    error = None if proc.returncode == 0 else f"exit {proc.returncode}"
    measured = Measured(None, usage.ru_utime + usage.ru_stime, wall, usage.ru_maxrss / 1024, error)
    return measured, output


def self_cpu() -> float:
    """This process's CPU seconds so far (for measurements made in-process)."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


if __name__ == "__main__":  # a smoke check: python benchmarks/measure.py
    print(in_child(lambda: sum(range(10**6))), file=sys.stderr)
