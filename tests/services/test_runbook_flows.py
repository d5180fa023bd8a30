"""The flows a failover works with: the reverse flow, where it runs, and the plan as it runs now."""

from __future__ import annotations

import re

import pytest

from kdrtui.domain.plan import Naming, Plan, parse_plan
from kdrtui.services.kafka.topics import flow_covers
from kdrtui.services.runbook.flows import FlowError, effective_plan, forward_flow, reverse_flow, with_reverse

PLAN = """\
[plan]
name = "orders-dr"
topology = "cold-standby"

[clusters.primary]
region = "eastus"
bootstrap_servers = ["10.0.0.11:9092"]

[clusters.dr]
region = "westus2"
bootstrap_servers = ["10.1.0.11:9092"]

[[edge_nodes]]
name = "dr-edge-1"
cluster = "dr"
host = "10.1.0.20"
user = "sshuser"
kafka_home = "/opt/kafka"

[[flows]]
source = "primary"
target = "dr"
topics = ["orders.*", "payments"]
topics_exclude = ["orders-tmp"]
naming = "identity"
"""


@pytest.fixture
def plan() -> Plan:
    return parse_plan(PLAN, "orders-dr.toml")


def test_reverse_flow_is_prefixed_and_never_sends_mirrored_topics_back(plan: Plan) -> None:
    back = reverse_flow(plan, forward_flow(plan, "primary", "dr"))
    assert (back.source, back.target, back.naming) == ("dr", "primary", Naming.PREFIXED)
    covered = [
        t
        for t in [
            "orders",
            "payments",
            "primary.orders",
            "orders-tmp",
            "heartbeats",
            "mm2-offsets.dr.internal",
            "__consumer_offsets",
        ]
        if flow_covers(t, back.topics, back.topics_exclude)
    ]
    assert covered == ["orders", "payments"]
    assert any(re.fullmatch(p, "primary.orders") for p in back.topics_exclude)


def test_reverse_runs_on_the_forward_flows_nodes_when_primary_has_none(plan: Plan) -> None:
    full = with_reverse(plan, plan.flows[0])
    assert [f.name for f in full.flows] == ["primary->dr", "dr->primary"]
    assert [(n.name, n.cluster) for n in full.edge_nodes] == [("dr-edge-1", "dr"), ("dr-edge-1", "primary")]
    assert with_reverse(full, full.flows[0]) is full, "a plan that has the reverse flow keeps it"


def test_effective_plan_after_a_failover_watches_the_reverse_flow(plan: Plan) -> None:
    assert effective_plan(plan, "primary") is plan
    now = effective_plan(plan, "dr")
    assert (now.primary_alias, now.secondary_alias) == ("dr", "primary")
    assert [f.name for f in now.flows] == ["dr->primary"]
    assert effective_plan(plan, "elsewhere") is plan


def test_no_flow_to_fail_over_is_a_clear_error(plan: Plan) -> None:
    with pytest.raises(FlowError, match=r"no flow dr->primary \(flows: primary->dr\)"):
        forward_flow(plan, "dr", "primary")


def test_a_copy_from_the_target_is_never_mirrored_back(plan: Plan) -> None:
    from kdrtui.services.kafka.topics import flow_mirrors

    back = reverse_flow(plan, plan.flows[0])  # dr -> primary, prefixed
    forward = plan.flows[0].model_copy(
        update={"naming": Naming.PREFIXED, "topics": [".*"], "topics_exclude": []}
    )
    assert flow_mirrors(forward, "orders") and not flow_mirrors(forward, "dr.orders")
    assert flow_mirrors(back, "orders") and not flow_mirrors(back, "primary.orders")
    identity = plan.flows[0]  # identity names: no cycle detection, the regexes decide
    assert flow_mirrors(identity, "orders.dr") and not flow_mirrors(identity, "orders-tmp")
