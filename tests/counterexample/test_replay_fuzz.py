"""The replay contract under 1,200 mutated files: exit 2, one line, no traceback, nothing
changed on disk (truncation, wrong types, unknown fields, huge or negative ints, invalid
UTF-8, deep nesting, edited schedules).  A file whose only change is an unknown field is
still a counterexample: it replays (exit 1) with a one-line warning."""

from __future__ import annotations

import copy
import json
import random
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from zmodel.cli import cli

ROOT = Path(__file__).resolve().parents[2]
SEED = ROOT / "counterexamples" / "zswap-6.12" / "use-after-free-e53a6d8162.json"
N = 1200
WRONG = [None, True, -1, 2**70, "x", "", [], {}, [[0]], 1.5]


def _paths(data: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [prefix] if prefix else []
    if isinstance(data, dict):
        for key, value in data.items():
            out += _paths(value, (*prefix, key))
    elif isinstance(data, list):
        for i, value in enumerate(data[:3]):
            out += _paths(value, (*prefix, i))
    return out


def _set(data: Any, path: tuple[Any, ...], value: Any) -> None:
    for part in path[:-1]:
        data = data[part]
    data[path[-1]] = value


def mutate(rng: random.Random, text: str) -> tuple[bytes, bool]:
    """A mutated file and whether it must still replay (only an unknown field added)."""
    data = json.loads(text)
    kind = rng.randrange(7)
    if kind == 0:  # truncation
        return text.encode()[: rng.randrange(len(text) - 1)], False
    if kind == 1:  # a wrong type somewhere
        path = rng.choice(_paths(data))
        old = _get(data, path)
        # Another JSON type (an engine option may be any scalar: only a container is wrong).
        wrong = [w for w in WRONG if type(w) is not type(old)]
        if path[:2] == ("engine", "options"):
            wrong = [[], {}, [[0]]]
        _set(data, path, rng.choice(wrong))
        return json.dumps(data).encode(), False
    if kind == 2:  # unknown fields, alone or with a wrong violation.step
        data[f"extra{rng.randrange(100)}"] = {"nested": [1, 2]}
        alone = rng.random() < 0.5
        if not alone:
            data["violation"]["step"] = -1 - rng.randrange(5)
        return json.dumps(data).encode(), alone
    if kind == 3:  # huge or negative ints
        i = rng.randrange(len(data["schedule"]))
        value = rng.choice([-(2 ** rng.randrange(1, 70)), 2 ** rng.randrange(21, 200)])
        data["schedule"][i][rng.randrange(2)] = value
        data["trace"][i]["thread" if rng.random() < 0.5 else "outcome"] = value
        return json.dumps(data).encode(), False
    if kind == 4:  # invalid UTF-8
        raw = bytearray(text.encode())
        raw[rng.randrange(len(raw))] = rng.choice([0xFF, 0xC3, 0x80, 0xFE])
        return bytes(raw), False
    if kind == 5:  # deep nesting
        depth = rng.choice([2000, 50_000, 200_000])
        return ("[" * depth + "]" * depth).encode() if rng.random() < 0.5 else (
            '{"a":' * depth + "1" + "}" * depth
        ).encode(), False
    # an edited schedule (trace edited to match, so only replay can tell)
    edited = copy.deepcopy(data)
    if rng.random() < 0.5:
        k = rng.randrange(1, len(edited["schedule"]))
        edited["schedule"] = edited["schedule"][:-k]
        edited["trace"] = edited["trace"][:-k]
        edited["violation"]["step"] = min(edited["violation"]["step"], len(edited["trace"]))
    else:
        i = rng.randrange(len(edited["schedule"]))
        tid = edited["schedule"][i][0]
        new = rng.choice([t for t in range(4) if t != tid])
        edited["schedule"][i][0] = new
        edited["trace"][i]["thread"] = new
    return json.dumps(edited).encode(), False


def _get(data: Any, path: tuple[Any, ...]) -> Any:
    for part in path:
        data = data[part]
    return data


def test_mutated_files_are_one_line_input_errors(tmp_path: Path) -> None:
    rng = random.Random(12)
    text = SEED.read_text()
    runner = CliRunner()
    codes: dict[int, int] = {}
    for n in range(N):
        raw, valid = mutate(rng, text)
        path = tmp_path / f"m{n}.json"
        path.write_bytes(raw)
        result = runner.invoke(cli, ["replay", str(path)])
        codes[result.exit_code] = codes.get(result.exit_code, 0) + 1
        err = result.stderr.strip().splitlines()
        assert "Traceback" not in result.output, raw[:200]
        assert path.read_bytes() == raw
        if valid:
            assert result.exit_code == 1 and len(err) == 1 and "warning" in err[0], err
            continue
        assert result.exit_code == 2, (raw[:300], result.output[-500:])
        assert len(err) == 1 and err[0].startswith("zmodel: error: "), err
    assert sum(codes.values()) == N and codes.get(2, 0) > N * 0.8


@pytest.mark.parametrize("depth", [10_000, 1_000_000])
def test_deep_nesting_is_exit_2(tmp_path: Path, depth: int) -> None:
    path = tmp_path / "deep.json"
    path.write_text("[" * depth + "]" * depth)
    result = CliRunner().invoke(cli, ["replay", str(path)])
    assert result.exit_code == 2 and "nested too deeply" in result.stderr


def test_the_schema_in_docs_is_the_one_the_loader_uses() -> None:
    from zmodel.counterexample.format import SCHEMA_PATH

    assert (ROOT / "docs" / "counterexample.schema.json").read_bytes() == SCHEMA_PATH.read_bytes()
