"""The ``zmodel`` commands a document shows, and running them to check what it says.

A document marks a command as a ```` ```console ```` block:

    $ zmodel check --design q2-lockless-walk --scenario walk-vs-erase-rotation
      verdict: VIOLATION (as expected: data-loss)
    ...
    (exit 1)

After each ``$ zmodel ...`` line come the output lines the document vouches for,
``...`` where output is left out, and ``(exit N)``: the exit status.  The vouched
lines must appear in the output in that order, each inside one output line, with
runs of spaces counted as one (so tables may be realigned).  A block may hold
several commands.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass, field
from pathlib import Path

from click.testing import CliRunner

from zmodel.cli import cli

ROOT = Path(__file__).resolve().parent.parent
_BLOCK = re.compile(r"^```console\n(.*?)^```", re.S | re.M)
_EXIT = re.compile(r"^\(exit (\d+)\)$")
#: Swimlanes and tables size themselves to the terminal: fix it.
ENV = {"COLUMNS": "100"}


@dataclass(frozen=True)
class DocCommand:
    line: int  # 1-based line of the ``$`` in the document, for failure messages
    argv: tuple[str, ...]  # the arguments after ``zmodel``
    expected: tuple[str, ...]
    exit_code: int

    @property
    def text(self) -> str:
        return "zmodel " + shlex.join(self.argv)


@dataclass
class _Pending:
    line: int
    argv: tuple[str, ...]
    expected: list[str] = field(default_factory=list)


def commands(markdown: str) -> list[DocCommand]:
    """Every ``$ zmodel ...`` command of every console block, with what it must print."""
    found: list[DocCommand] = []
    for block in _BLOCK.finditer(markdown):
        first = markdown.count("\n", 0, block.start(1)) + 1
        pending: _Pending | None = None
        for i, raw in enumerate(block.group(1).splitlines()):
            line = raw.strip()
            if line.startswith("$ "):
                if pending is not None:
                    raise ValueError(f"line {pending.line}: command without (exit N)")
                words = shlex.split(line[2:])
                if not words or words[0] != "zmodel":
                    raise ValueError(f"line {first + i}: not a zmodel command: {line}")
                pending = _Pending(first + i, tuple(words[1:]))
            elif pending is None:
                if line:
                    raise ValueError(f"line {first + i}: output before any command: {line}")
            elif end := _EXIT.match(line):
                code = int(end.group(1))
                found.append(DocCommand(pending.line, pending.argv, tuple(pending.expected), code))
                pending = None
            elif line and line != "...":
                pending.expected.append(line)
        if pending is not None:
            raise ValueError(f"line {pending.line}: command without (exit N)")
    return found


def _squash(text: str) -> str:
    return " ".join(text.split())


def run(command: DocCommand, replace: dict[str, str] | None = None) -> str:
    """Run the command in the current directory; return its output, or raise
    AssertionError saying what the document got wrong.  ``replace`` rewrites text in
    the arguments and the expected lines alike (a path the document uses)."""
    argv, expected = list(command.argv), list(command.expected)
    for old, new in (replace or {}).items():
        argv = [arg.replace(old, new) for arg in argv]
        expected = [line.replace(old, new) for line in expected]
    result = CliRunner().invoke(cli, argv, env=ENV)
    output = result.output
    where = f"line {command.line}: {command.text}"
    assert result.exit_code == command.exit_code, (
        f"{where}: exit {result.exit_code}, the document says {command.exit_code}\n{output}"
    )
    lines = [_squash(line) for line in output.splitlines()]
    at = 0
    for line in expected:
        wanted = _squash(line)
        for i in range(at, len(lines)):
            if wanted in lines[i]:
                at = i + 1
                break
        else:
            raise AssertionError(f"{where}: no line {line!r} (in order) in:\n{output}")
    return output
