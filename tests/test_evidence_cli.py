"""zmodel minimize / explain / graph and replay --values on the 2013 leak, minimised."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import networkx as nx
import pytest
from click.testing import CliRunner, Result

from zmodel.cli import cli

ROOT = Path(__file__).resolve().parent.parent
LEAK = ROOT / "counterexamples" / "zswap-3.11" / "leak-b7bbdb09db.json"


def run(*args: str) -> Result:
    return CliRunner().invoke(cli, list(args), env={"COLUMNS": "100"})


@pytest.fixture(scope="module")
def minimised(tmp_path_factory: pytest.TempPathFactory) -> Path:
    where = tmp_path_factory.mktemp("leak")
    shutil.copy(LEAK, where / LEAK.name)
    result = run("minimize", str(where / LEAK.name), "--json")
    assert result.exit_code == 0, result.output
    return Path(json.loads(result.stdout)["file"])


def test_the_lanes_show_the_refcount_reaching_0_and_mark_the_racing_pair(
    minimised: Path,
) -> None:
    result = run("replay", str(minimised), "--values")
    assert result.exit_code == 1, result.output
    out = result.stdout
    assert "zswap_entry.refcount 1->0" in out
    assert "zswap_tree->lock: T2 takes" in out
    marked = [line for line in out.splitlines() if re.match(r"~~ \d+ ", line)]
    assert len(marked) == 2
    assert "zswap_frontswap_invalidate_page" in marked[0]
    assert "zswap_writeback_entry fail: zswap_entry_put" in marked[1]
    assert "racing pair: step" in out and "VIOLATION RECURS: leak" in out
    # Without --values the lanes are as before: labels only.
    quiet = run("replay", str(minimised)).stdout
    assert "refcount 1->0" not in quiet and "~~" not in quiet


def test_explain_names_both_functions_and_the_refcount_values(minimised: Path) -> None:
    result = run("explain", str(minimised))
    assert result.exit_code == 1, result.output
    out = result.stdout
    assert "leak in zswap_writeback_entry / zswap_frontswap_invalidate_page" in out
    assert "value: 2 -> 1" in out and "value: 1 -> 0" in out
    assert "at step" in out and "happens-before" in out
    data = json.loads(run("explain", str(minimised), "--json").stdout)
    first, second = data["racing_pair"]
    assert {first["function"], second["function"]} == {
        "zswap_frontswap_invalidate_page",
        "zswap_writeback_entry",
    }
    assert (second["field"], second["before"], second["after"]) == ("refcount", "1", "0")
    assert data["recurs"] is True and data["chain"]


def test_explain_of_a_bad_file_is_exit_2(tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text("[]")
    result = run("explain", str(bad))
    assert result.exit_code == 2 and "Traceback" not in result.output


def test_graphml_reads_back_as_a_dag_with_one_node_per_step(
    minimised: Path, tmp_path: Path
) -> None:
    out = tmp_path / "hb.graphml"
    result = run("graph", str(minimised), "--format", "graphml", "-o", str(out))
    assert result.exit_code == 0, result.output
    graph = nx.read_graphml(out)
    steps = len(json.loads(minimised.read_text())["trace"])
    assert graph.number_of_nodes() == steps and nx.is_directed_acyclic_graph(graph)
    kinds = {data["kind"] for _, _, data in graph.edges(data=True)}
    assert kinds == {"program", "setup", "race"}
    assert all("label" in data and "thread" in data for _, data in graph.nodes(data=True))
    dot = run("graph", str(minimised), "--format", "dot")
    assert dot.exit_code == 0 and dot.stdout.startswith("digraph happens_before {")
    assert dot.stdout.count(" -> ") == graph.number_of_edges()
    refused = run("graph", str(minimised), "-o", str(minimised))
    assert refused.exit_code == 2 and "Traceback" not in refused.output
