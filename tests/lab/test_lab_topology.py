"""`kdrtui lab up --topology active-active`: primary gets an SSH edge node of its own (`primary-edge-1`),
the plan is active-active with a flow each way (prefixed names, each excluding its target's copies), the
topology is remembered, and a lab switched back to cold standby stops the extra node. Real SSH servers;
the lab's Kafka clusters are never started here (tests/integration/test_active_active_lab.py runs them)."""

from __future__ import annotations

import contextlib
import json
import re
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import tomli_w
from click.testing import CliRunner

from kdrtui.commands.lab import lab_group
from kdrtui.domain.mirrormaker_deployment import render_deployment
from kdrtui.domain.plan import parse_plan, plan_problems
from kdrtui.lab import process
from kdrtui.lab.lab import Lab
from kdrtui.lab.lab_topology import topology_of
from kdrtui.lab.traffic_process import TrafficProcess
from kdrtui.services.kafka.topics import flow_mirrors
from kdrtui.services.mirrormaker.node_scripts import run_dir_scripts

ReservePort = Callable[[int], contextlib.AbstractContextManager[int]]


@pytest.fixture
def aa_home(tmp_path: Path, reserved_port: ReservePort) -> Iterator[tuple[Path, int]]:
    """A lab directory and a free edge port (the clusters are never started); everything stopped after."""
    with reserved_port(12262) as port:
        home = tmp_path / "lab"
        try:
            yield home, port
        finally:
            Lab(home, primary_port=21092, dr_port=22092, edge_port=port).down(purge=True)


def test_active_active_plan_has_both_flows_and_both_edge_nodes(aa_home: tuple[Path, int]) -> None:
    home, port = aa_home
    lab = Lab(home, primary_port=21092, dr_port=22092, edge_port=port, topology="active-active")
    assert lab.topology == "active-active"
    assert [(e.name, e.cluster, e.port) for e in lab.edges] == [
        ("dr-edge-1", "dr", port),
        ("primary-edge-1", "primary", port + 4),
    ]
    plan = parse_plan(tomli_w.dumps(lab.render_plan()))
    assert plan_problems(plan) == []
    assert plan.plan.topology == "active-active"
    forward, back = plan.flows
    assert (forward.source, forward.target, back.source, back.target) == ("primary", "dr", "dr", "primary")
    assert {forward.naming, back.naming} == {"prefixed"}
    # No loops: the copies each side holds of the other's topics never go back.
    assert flow_mirrors(forward, "orders") and not flow_mirrors(forward, "dr.orders")
    assert flow_mirrors(back, "orders") and not flow_mirrors(back, "primary.orders")
    assert any(re.fullmatch(p, "primary.orders") for p in back.topics_exclude)
    assert any(re.fullmatch(p, "dr.orders") for p in forward.topics_exclude)
    # Each flow runs on its target's edge node: dr -> primary on primary-edge-1.
    node = next(n for n in plan.edge_nodes if n.name == "primary-edge-1")
    (dep,) = render_deployment(plan, node, scripts=run_dir_scripts())
    props = dep.files["mm2.properties"]
    assert "dr->primary.enabled = true" in props and "primary->dr.enabled = false" in props
    assert "mirrormaker_rest_port" not in lab.render_plan()["edge_nodes"][0], "one node a cluster: no REST"


def test_cold_standby_stays_the_default_and_bad_topologies_are_refused(aa_home: tuple[Path, int]) -> None:
    home, port = aa_home
    lab = Lab(home, primary_port=21092, dr_port=22092, edge_port=port)
    assert lab.topology == "cold-standby"
    assert [e.name for e in lab.edges] == ["dr-edge-1"]
    assert [(f["source"], f["target"]) for f in lab.render_plan()["flows"]] == [("primary", "dr")]
    with pytest.raises(ValueError, match="--topology must be one of cold-standby, active-active"):
        topology_of("ring", None)
    refused = CliRunner().invoke(lab_group, ["up", "--topology", "ring"])
    assert refused.exit_code == 2 and "--topology" in refused.output


def test_switching_back_to_cold_standby_stops_the_primary_edge_node(aa_home: tuple[Path, int]) -> None:
    home, port = aa_home
    lab = Lab(home, primary_port=21092, dr_port=22092, edge_port=port, topology="active-active")
    pids = [edge.start() for edge in lab.edges]
    lab._save_state()  # what `up` records
    assert json.loads(lab.state_path.read_text())["topology"] == "active-active"
    again = Lab(home)
    assert again.topology == "active-active", "remembered in lab.json"
    assert set(again.status(topics=False).edge_nodes) == {"dr-edge-1", "primary-edge-1"}

    cold = Lab(home, topology="cold-standby")
    said: list[str] = []
    cold.down(report=said.append)
    assert not any(process.is_alive(pid) for pid in pids), said
    assert "primary-edge-1: not part of a cold-standby lab" in said


def test_each_cluster_has_its_own_traffic_files(tmp_path: Path) -> None:
    primary, dr = TrafficProcess(tmp_path), TrafficProcess(tmp_path, "dr")
    assert primary.pid_file.name == "traffic.pid" and primary.stats_file.name == "traffic-stats.json"
    assert dr.pid_file.name == "traffic-dr.pid" and dr.log_file.name == "traffic-dr.log"
    assert not set(primary.files) & set(dr.files)
    assert Lab(tmp_path).traffics["dr"].pid_file == dr.pid_file
