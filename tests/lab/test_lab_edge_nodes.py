"""`kdrtui lab up --edge-nodes 2`: dr gets a second SSH edge node (its own port and home), the plan lists
both with their own MirrorMaker REST ports, and status, kill and down handle every node. Real SSH servers;
the lab's Kafka clusters are never started here (the MirrorMaker test runs two nodes over real brokers)."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import tomli_w
from click.testing import CliRunner

from kdrtui.commands.lab import lab_group
from kdrtui.domain.mirrormaker_deployment import render_deployment
from kdrtui.domain.plan import parse_plan
from kdrtui.lab import process
from kdrtui.lab.lab import Lab
from kdrtui.services.mirrormaker.node_scripts import run_dir_scripts

ReservePort = Callable[[int], contextlib.AbstractContextManager[int]]


@pytest.fixture
def two_edge_lab(tmp_path: Path, reserved_port: ReservePort) -> Iterator[Lab]:
    """A lab with two edge nodes whose Kafka clusters are never started."""
    with reserved_port(12322) as port:
        lab = Lab(tmp_path / "lab", primary_port=21092, dr_port=22092, edge_port=port, edge_nodes=2)
        try:
            yield lab
        finally:
            lab.down(purge=True)


def test_the_plan_lists_both_nodes_with_their_own_rest_ports(two_edge_lab: Lab) -> None:
    lab = two_edge_lab
    assert [e.name for e in lab.edges] == ["dr-edge-1", "dr-edge-2"]
    assert lab.edge is lab.edges[0], "Lab.edge stays the first node"
    assert lab.edges[1].port == lab.edge.port + 1
    assert lab.edges[1].home == lab.home / "edge-2"
    plan = parse_plan(tomli_w.dumps(lab.render_plan()))
    ports = [n.mirrormaker_rest_port for n in plan.edge_nodes]
    assert [n.name for n in plan.edge_nodes] == ["dr-edge-1", "dr-edge-2"]
    assert ports[0] is not None and ports[1] == ports[0] + 1
    (dep,) = render_deployment(plan, plan.edge_nodes[1], scripts=run_dir_scripts())
    assert f"listeners = http://:{ports[1]}" in dep.files["mm2.properties"]
    alone = Lab(lab.home / "other", primary_port=21092, dr_port=22092, edge_port=lab.edge.port)
    assert "mirrormaker_rest_port" not in alone.render_plan()["edge_nodes"][0], "one node: as before"


def test_status_kill_and_down_handle_every_node(two_edge_lab: Lab) -> None:
    lab = two_edge_lab
    pids = [edge.start() for edge in lab.edges]
    assert set(lab.status(topics=False).edge_nodes) == {"dr-edge-1", "dr-edge-2"}

    assert lab.kill("dr-edge-2") == pids[1]
    assert "dr-edge-2" in lab.missing() and "dr-edge-1" not in lab.missing()
    assert lab.status(topics=False).edge_nodes["dr-edge-2"].state == "stale"

    again = lab.edges[1].start()
    lab.down()
    assert not any(process.is_alive(pid) for pid in (pids[0], again))


def test_edge_nodes_is_checked() -> None:
    refused = CliRunner().invoke(lab_group, ["up", "--edge-nodes", "9"])
    assert refused.exit_code == 2 and "--edge-nodes" in refused.output


def test_fewer_nodes_are_refused_while_the_others_run(two_edge_lab: Lab) -> None:
    lab = two_edge_lab
    lab.edges[1].start()
    with pytest.raises(ValueError, match="dr-edge-2 is running: `kdrtui lab down` first"):
        Lab(lab.home, primary_port=21092, dr_port=22092, edge_port=lab.edge.port, edge_nodes=1)
    lab.down()
    alone = Lab(lab.home, primary_port=21092, dr_port=22092, edge_port=lab.edge.port, edge_nodes=1)
    assert [e.name for e in alone.edges] == ["dr-edge-1"]
