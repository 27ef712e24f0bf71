"""zmodel check --state-graph: the explored states and steps, read back with networkx."""

from __future__ import annotations

import json
from pathlib import Path

import networkx as nx
from click.testing import CliRunner

from tests.analysis.test_lock_order import LoadTakesDeviceLock
from zmodel.analysis.state_graph import StateGraph
from zmodel.check import ScenarioSpec, run_check
from zmodel.cli import cli
from zmodel.explore.engines import EngineOptions
from zmodel.zswap.scenario import parse_scenario

LEAK = "store 1 A :: writeback | free 1"


def test_the_leak_scenario_graph_reads_back(tmp_path: Path) -> None:
    out = tmp_path / "states.graphml"
    args = ["check", "--scenario", LEAK, "--engine", "dfs", "--all", "--json"]
    result = CliRunner().invoke(cli, [*args, "--out", str(tmp_path), "--state-graph", str(out)])
    assert result.exit_code == 1, result.output
    stats = json.loads(result.stdout)["scenarios"][0]["stats"]
    g = nx.read_graphml(out)
    assert g.graph["design"] == "zswap-3.11" and g.graph["scenario"] == LEAK
    assert not g.graph["truncated"]
    fingerprints = [d["fingerprint"] for _, d in g.nodes(data=True)]
    assert len(set(fingerprints)) == len(fingerprints)  # one node per distinct state
    # The cached DFS visits every distinct state; it counts those it caches (not
    # the quiescent ones), the graph has them all.
    quiescent = [n for n, d in g.nodes(data=True) if d["quiescent"]]
    assert g.number_of_nodes() == stats["distinct_states"] + len(quiescent)
    (initial,) = [n for n, d in g.nodes(data=True) if d["initial"]]
    assert g.in_degree(initial) == 0
    assert set(nx.descendants(g, initial)) == set(g.nodes) - {initial}
    leaking = [n for n, d in g.nodes(data=True) if d["violation"] == "leak"]
    assert leaking and set(leaking) <= set(quiescent)
    assert all(g.out_degree(n) == 0 for n in quiescent)
    threads = {d["thread"] for _, _, d in g.edges(data=True)}
    assert threads == {"setup", "T1", "T2"}
    assert all(d["label"] for _, _, d in g.edges(data=True))
    assert not any(d["deadlock"] for _, d in g.nodes(data=True))


def test_deadlocked_states_are_marked(tmp_path: Path) -> None:
    states = StateGraph()
    spec = ScenarioSpec(parse_scenario("serialize=off :: store 1 A :: load 1 | free 1"))
    options = EngineOptions(all_violations=True)
    run_check(
        LoadTakesDeviceLock,
        LoadTakesDeviceLock.name,
        [spec],
        engine="dfs",
        options=options,
        out=tmp_path,
        observe=[states],
    )
    g = states.graph
    stuck = [n for n, d in g.nodes(data=True) if d["deadlock"]]
    assert stuck
    assert all(g.nodes[n]["violation"] == "deadlock" and g.out_degree(n) == 0 for n in stuck)
    assert any(d["quiescent"] for _, d in g.nodes(data=True))  # other runs finish


def test_more_than_one_scenario_is_a_usage_error(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        cli, ["check", "--out", str(tmp_path), "--state-graph", str(tmp_path / "g.graphml")]
    )
    assert result.exit_code == 2
    assert "one --scenario" in result.output
    assert not (tmp_path / "g.graphml").exists()
