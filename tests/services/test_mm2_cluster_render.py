"""One MirrorMaker 2 cluster over several edge nodes of the target (KIP-710), rendered from plans: pure."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import tomli_w

from kdrtui.domain.mirrormaker_deployment import render_deployment
from kdrtui.domain.mirrormaker_render import render_mm2_properties, rest_url
from kdrtui.domain.plan import Plan, PlanInvalid, parse_plan
from kdrtui.lab.lab import Lab
from kdrtui.services.mirrormaker.manager import mirror_release, preflight_problem
from kdrtui.services.mirrormaker.node_scripts import run_dir_scripts

CLUSTER_KEYS = {
    "dedicated.mode.enable.internal.rest",
    "listeners",
    "rest.advertised.host.name",
    "rest.advertised.port",
    "primary->dr.tasks.max",
}


def plan_with_nodes(count: int, *, flow: dict[str, Any] | None = None, **node: Any) -> Plan:
    """The lab's plan with ``count`` edge nodes of dr (dr-edge-1, dr-edge-2... on ports 8083, 8084...)."""
    data = Lab(Path("/nonexistent/kdrtui-lab")).render_plan()
    (first,) = data["edge_nodes"]
    data["edge_nodes"] = [
        {**first, "name": f"dr-edge-{n}", "port": first["port"] + n - 1}
        | ({"mirrormaker_rest_port": 8082 + n} if count > 1 else {})
        | node
        for n in range(1, count + 1)
    ]
    data["flows"][0].update(flow or {})
    return parse_plan(tomli_w.dumps(data))


def simple_properties(text: str) -> dict[str, str]:
    """``key = value`` lines (these files' values here need no unescaping)."""
    lines = (line.partition(" = ") for line in text.splitlines() if line and not line.startswith("#"))
    return {key: value for key, _sep, value in lines}


def properties(plan: Plan, node: int) -> dict[str, str]:
    (dep,) = render_deployment(plan, plan.edge_nodes[node], scripts=run_dir_scripts())
    return simple_properties(dep.files["mm2.properties"])


def test_one_node_renders_as_before() -> None:
    plan = plan_with_nodes(1)
    one = properties(plan, 0)
    assert not CLUSTER_KEYS & set(one)
    (dep,) = render_deployment(plan, plan.edge_nodes[0], scripts=run_dir_scripts())
    assert dep.files["mm2.properties"] == render_mm2_properties(plan, "dr")


def test_two_nodes_form_one_cluster_differing_only_in_their_listener() -> None:
    plan = plan_with_nodes(2)
    first, second = properties(plan, 0), properties(plan, 1)
    assert first["dedicated.mode.enable.internal.rest"] == "true"
    assert (first["listeners"], first["rest.advertised.port"]) == ("http://:8083", "8083")
    assert (second["listeners"], second["rest.advertised.port"]) == ("http://:8084", "8084")
    assert first["rest.advertised.host.name"] == plan.edge_nodes[0].host
    assert first["primary->dr.tasks.max"] == "2", "one task per node by default"
    differ = {key for key in first.keys() | second.keys() if first.get(key) != second.get(key)}
    assert differ == {"listeners", "rest.advertised.port"}
    # The workers share the usual group and internal topics: kdrtui sets none of them per node.
    assert not {key for key in first if "group.id" in key or "storage.topic" in key}
    assert rest_url(plan.edge_nodes[1]) == f"http://{plan.edge_nodes[1].host}:8084/"


def test_tasks_come_from_the_flow() -> None:
    assert properties(plan_with_nodes(2, flow={"tasks": 6}), 1)["primary->dr.tasks.max"] == "6"
    assert properties(plan_with_nodes(1, flow={"tasks": 3}), 0)["primary->dr.tasks.max"] == "3"


def test_a_node_outside_the_plan_renders_alone() -> None:
    plan = plan_with_nodes(2)
    stranger = plan.edge_nodes[0].model_copy(update={"name": "elsewhere"})
    (dep,) = render_deployment(plan, stranger, scripts=run_dir_scripts())
    assert "dedicated.mode.enable.internal.rest" not in simple_properties(dep.files["mm2.properties"])


def test_two_nodes_on_one_host_need_their_own_rest_ports() -> None:
    with pytest.raises(PlanInvalid, match="already the MirrorMaker REST port of edge_nodes"):
        plan_with_nodes(2, mirrormaker_rest_port=9000)


def test_several_nodes_need_kafka_3_5_on_each() -> None:
    node = plan_with_nodes(2).edge_nodes[1]
    out = 'java=openjdk version "17.0.15"\nlibs=1\nmm2=1\ncore=1\nmm2jar={}\n'
    old = out.format("connect-mirror-3.2.0.jar")
    problem = preflight_problem(old, node, clustered=True)
    assert problem is not None and "MirrorMaker 3.2 on dr-edge-2" in problem and "3.5+" in problem
    assert preflight_problem(old, node) is None, "one node runs an older MirrorMaker as before"
    assert preflight_problem(out.format("connect-mirror-3.9.1.jar"), node, clustered=True) is None
    assert mirror_release("connect-mirror-4.1.0.jar") == (4, 1) and mirror_release("") is None


def test_a_plan_refuses_several_nodes_on_an_old_shipped_release() -> None:
    with pytest.raises(PlanInvalid, match=r"edge_nodes\[0\]\.mirrormaker_kafka.*needs Kafka 3\.5\+"):
        plan_with_nodes(2, mirrormaker_kafka="3.2.0")
    assert plan_with_nodes(1, mirrormaker_kafka="3.2.0").edge_nodes[0].mirrormaker_kafka == "3.2.0"
    assert len(plan_with_nodes(2, mirrormaker_kafka="3.9.1").edge_nodes) == 2
