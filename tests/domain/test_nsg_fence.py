"""The NSG fence in the plan (``[failover] fence`` as one method or a list, ``client_cidrs``,
``fence_allow_cidrs``) and its rules as data: what it adds, and how Azure decides a flow with them."""

from __future__ import annotations

import pytest

from kdrtui.domain import nsg_rules
from kdrtui.domain.plan import FenceMethod, Plan, PlanInvalid, parse_plan, summarize

PLAN = """\
[plan]
name = "orders-dr"
topology = "cold-standby"

[clusters.primary]
region = "eastus"
resource_group = "rg-east"
vnet_name = "vnet-east"
vnet_cidr = "10.0.0.0/16"
subnet_cidr = "10.0.0.0/24"
bootstrap_servers = ["10.0.0.4:9092", "10.0.0.5:9092"]

[clusters.dr]
region = "westus2"
resource_group = "rg-west"
vnet_name = "vnet-west"
vnet_cidr = "10.1.0.0/16"
subnet_cidr = "10.1.0.0/24"
bootstrap_servers = ["10.1.0.4:9095"]

[[edge_nodes]]
name = "dr-edge-1"
cluster = "dr"
host = "dr-edge-1.kdr-dr-ssh.azurehdinsight.net"
user = "sshuser"
kafka_home = "/usr/hdp/current/kafka-broker"

[[edge_nodes]]
name = "jump"
cluster = "primary"
host = "10.5.0.9"
user = "sshuser"
kafka_home = "/usr/hdp/current/kafka-broker"

[[flows]]
source = "primary"
target = "dr"
topics = ["orders"]

[failover]
"""


def plan(failover: str) -> Plan:
    return parse_plan(PLAN + failover)


def problems(failover: str) -> str:
    with pytest.raises(PlanInvalid) as caught:
        plan(failover)
    return str(caught.value)


def test_one_method_a_list_and_the_old_names_load() -> None:
    assert plan('fence = "acl"').failover.fences == [FenceMethod.ACL]
    assert plan('fence = "acls"').failover.fences == [FenceMethod.ACL]
    assert plan('fence = "none"').failover.fences == []
    both = plan('fence = ["acl", "nsg"]\nclient_cidrs = ["10.0.1.0/24"]').failover
    assert both.fences == [FenceMethod.ACL, FenceMethod.NSG]
    assert both.kafka_fence is FenceMethod.ACL and both.fence_text == "acl + nsg"
    assert plan('fence = ["nsg", "acls"]\nclient_cidrs = ["10.0.1.0/24"]').failover.fences == [
        FenceMethod.NSG,
        FenceMethod.ACL,
    ]


def test_nsg_without_client_cidrs_is_refused_naming_the_field() -> None:
    text = problems('fence = "nsg"')
    assert 'client_cidrs: required with fence "nsg"' in text


@pytest.mark.parametrize(
    ("failover", "expected"),
    [
        (
            'fence = "nsg"\nclient_cidrs = ["10.0.1.1/24"]',
            "'10.0.1.1/24' has host bits set; did you mean 10.0.1.0/24?",
        ),
        ('fence = "nsg"\nclient_cidrs = ["10.0.1.0"]', "needs a prefix length"),
        ('fence = "nsg"\nclient_cidrs = ["nope"]', "is not a CIDR block"),
        ('fence = ["acl", "reject-writes"]', "reject-writes and acl both fence through the brokers"),
        ('fence = ["none", "acl"]', '"none" cannot be combined'),
        ('fence = ["acl", "acl"]', "names a method twice"),
        ("fence = []", "an empty list"),
        ('fence = ["min-isr"]', "'min-isr' does not fence"),
    ],
)
def test_bad_fences_are_refused_saying_why(failover: str, expected: str) -> None:
    assert expected in problems(failover)


def test_bad_allow_cidr_names_its_key() -> None:
    assert "fence_allow_cidrs" in problems(
        'fence = "nsg"\nclient_cidrs = ["10.0.1.0/24"]\nfence_allow_cidrs = ["x"]'
    )


FENCED = 'fence = "nsg"\nclient_cidrs = ["10.0.0.0/8"]\nfence_allow_cidrs = ["203.0.113.7/32"]'


def test_the_rules_allow_the_subnet_edge_nodes_and_kdrtui_above_the_deny() -> None:
    p = plan(FENCED)
    assert nsg_rules.kafka_ports(p.cluster("primary")) == [9092, 9093]
    assert nsg_rules.kafka_ports(p.cluster("dr")) == [9092, 9093, 9095]
    # own subnet; the dr edge node by its cluster's subnet (a name); the jump host by its IP; kdrtui
    assert nsg_rules.allowed_sources(p, "primary") == [
        "10.0.0.0/24",
        "10.1.0.0/24",
        "10.5.0.9/32",
        "203.0.113.7/32",
    ]
    allow, deny = nsg_rules.fence_rules(p, "primary", (100, 101))
    assert (allow["name"], allow["properties"]["access"], allow["properties"]["priority"]) == (
        nsg_rules.ALLOW_RULE,
        "Allow",
        100,
    )
    assert deny["properties"]["sourceAddressPrefixes"] == ["10.0.0.0/8"]
    assert deny["properties"]["destinationPortRanges"] == ["9092", "9093"]
    rules = [allow, deny]
    vnet = ["10.0.0.0/16", "10.1.0.0/16"]
    client = nsg_rules.decide(rules, "10.0.1.10", "10.0.0.4", 9092, vnet=vnet)
    assert (client.access, client.rule) == ("Deny", nsg_rules.DENY_RULE)
    assert nsg_rules.decide(rules, "10.1.0.7", "10.0.0.4", 9092, vnet=vnet).rule == nsg_rules.ALLOW_RULE
    assert nsg_rules.decide(rules, "203.0.113.7", "10.0.0.4", 9093, vnet=vnet).allowed
    # HDInsight's management traffic and SSH are not the fence's business: the defaults decide them
    assert nsg_rules.decide(rules, "10.0.1.10", "10.0.0.4", 443, vnet=vnet).rule == "AllowVnetInBound"
    assert nsg_rules.decide(rules, "198.51.100.1", "10.0.0.4", 443, vnet=vnet).rule == "DenyAllInBound"
    assert nsg_rules.decide(
        [*rules, nsg_rules.open_rule()], "198.51.100.1", "10.0.0.4", 443, vnet=vnet
    ).allowed


def test_priorities_go_below_every_rule_already_there() -> None:
    def rule(priority: int, direction: str = "Inbound") -> dict[str, object]:
        return {"name": f"r{priority}", "properties": {"priority": priority, "direction": direction}}

    assert nsg_rules.free_priorities([]) == (100, 101)
    assert nsg_rules.free_priorities([rule(300), rule(100, "Outbound")]) == (100, 101)
    assert nsg_rules.free_priorities([rule(100), rule(102), rule(200)]) == (103, 104)
    # the fence's own rules (a resumed run) do not count as taken
    ours = {"name": nsg_rules.DENY_RULE, "properties": {"priority": 100, "direction": "Inbound"}}
    assert nsg_rules.free_priorities([ours]) == (100, 101)


def test_an_earlier_allow_rule_is_seen_to_defeat_the_deny() -> None:
    p = plan(FENCED)
    earlier = {
        "name": "allow-vnet-kafka",
        "properties": {
            "protocol": "*",
            "sourceAddressPrefix": "VirtualNetwork",
            "destinationAddressPrefix": "*",
            "destinationPortRange": "9000-9999",
            "access": "Allow",
            "priority": 100,
            "direction": "Inbound",
        },
    }
    rules = [earlier, *nsg_rules.fence_rules(p, "primary", nsg_rules.free_priorities([earlier]))]
    decision = nsg_rules.decide(rules, "10.0.1.10", "10.0.0.4", 9092, vnet=["10.0.0.0/16"])
    assert (decision.access, decision.rule) == ("Allow", "allow-vnet-kafka")


def test_sample_addresses_avoid_the_allowed_networks() -> None:
    assert nsg_rules.sample_address("10.0.1.0/24") == "10.0.1.0"
    assert nsg_rules.sample_address("10.0.0.0/8", ["10.0.0.0/24"]) == "10.255.255.255"
    assert nsg_rules.sample_address("10.0.0.0/24", ["10.0.0.0/16"]) is None
    assert nsg_rules.sample_address("255.255.255.0/24", ["255.255.255.0/25"]) == "255.255.255.255"


def test_a_list_fence_round_trips_as_the_wizard_writes_it() -> None:
    settings = plan(
        'fence = ["acl", "nsg"]\nclient_cidrs = ["10.0.1.0/24"]\nfence_allow_cidrs = ["1.2.3.4/32"]'
    )
    dumped = settings.failover.model_dump(mode="json", exclude_none=True)
    assert dumped["fence"] == ["acl", "nsg"] and dumped["fence_allow_cidrs"] == ["1.2.3.4/32"]
    assert type(settings.failover).model_validate(dumped) == settings.failover


def test_the_plan_summary_names_the_fences() -> None:
    assert summarize(plan('fence = "acl"'))[-1] == "Fence: acl"
    both = plan('fence = ["reject-writes", "nsg"]\nclient_cidrs = ["10.0.1.0/24", "10.2.0.0/16"]')
    assert summarize(both)[-1] == (
        "Fence: reject-writes + nsg (NSG rule denies the Kafka ports to 10.0.1.0/24, 10.2.0.0/16)"
    )
