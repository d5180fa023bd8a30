"""The fence step's logic for the NSG fence without Azure or brokers: what the forced failover says about
fencing, when the step skips, and the DR state's record of an NSG fence."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest

from kdrtui.domain.plan import Plan, parse_plan
from kdrtui.services.runbook.failover import FAILOVER, make_context
from kdrtui.services.runbook.fence_nsg_step import fence_outlook
from kdrtui.services.runbook.fence_step import Fence
from kdrtui.services.runbook.store import DrState, RunbookStore, StateInvalid, parse_state

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
bootstrap_servers = ["127.0.0.1:1"]

[clusters.dr]
region = "westus2"
vnet_cidr = "10.1.0.0/16"
bootstrap_servers = ["127.0.0.1:2"]

[[flows]]
source = "primary"
target = "dr"
topics = ["orders"]

[failover]
"""


def context(tmp_path: Path, failover: str) -> Any:
    plan: Plan = parse_plan(PLAN + failover)
    return make_context(plan, RunbookStore("unit", tmp_path / "plan.toml", tmp_path / "state"), FAILOVER)


NSG = 'client_cidrs = ["10.0.1.0/24"]\n'


@pytest.mark.parametrize(
    ("failover", "source_up", "nsg_problem", "expected"),
    [
        ('fence = "none"', False, None, "fence: none in the plan: applications must stop writing to primary"),
        (
            'fence = "acl"',
            False,
            None,
            "NO FENCE IS POSSIBLE on primary: acl needs primary's brokers, which do not answer "
            '(fence = ["nsg", ...] fences through ARM alone)',
        ),
        (
            'fence = ["acl", "nsg"]\n' + NSG,
            False,
            [],
            "fence: nsg (an NSG rule on primary's subnet, through ARM: its brokers are not needed); "
            "NOT acl needs primary's brokers, which do not answer",
        ),
        (
            'fence = "nsg"\n' + NSG,
            False,
            ["cluster primary: subnet vnet-east/kafka: ServiceUnavailable: the region does not answer"],
            "NO FENCE IS POSSIBLE on primary: nsg: cluster primary: subnet vnet-east/kafka: "
            "ServiceUnavailable: the region does not answer",
        ),
        ('fence = ["reject-writes", "nsg"]\n' + NSG, True, [], "fence: reject-writes + nsg (an NSG rule"),
    ],
)
def test_the_forecast_says_which_fence_can_go_up(
    tmp_path: Path, failover: str, source_up: bool, nsg_problem: list[str] | None, expected: str
) -> None:
    assert fence_outlook(context(tmp_path, failover), source_up, nsg_problem).startswith(expected)


def test_a_broker_fence_alone_skips_when_the_source_is_down(tmp_path: Path) -> None:
    ctx = context(tmp_path, 'fence = "acl"')
    ctx.facts.by_step["preflight"] = {"source_reachable": False}
    outcome = asyncio.run(Fence().run(ctx))
    assert outcome.summary.startswith("primary is unreachable and fence = acl needs its brokers: NO FENCE")


def test_a_forced_run_skips_an_nsg_fence_arm_refused_and_says_so(tmp_path: Path) -> None:
    ctx = context(tmp_path, 'fence = "nsg"\n' + NSG)
    ctx.force = True
    ctx.facts.by_step["preflight"] = {"source_reachable": False, "nsg_problem": ["ARM does not answer"]}
    said: list[str] = []
    ctx.say = said.append
    outcome = asyncio.run(Fence().run(ctx))
    assert outcome.summary == "NO FENCE went up on primary"
    assert said == ["NO NSG FENCE on primary (accepted with --force): ARM does not answer"]


def test_the_dr_state_keeps_an_nsg_fence_and_names_a_bad_one() -> None:
    record = {
        "method": "acl",
        "topics": {"orders": None},
        "bindings": [],
        "nsg": {"nsg": "vnet-east-kafka-nsg", "created": True, "rules": ["kdrtui-fence-allow"]},
    }
    text = json.dumps(DrState(active="dr", fenced={"primary": record}).to_dict())
    assert parse_state(text, ["primary", "dr"]).fenced["primary"]["nsg"]["created"] is True
    only = '{"active": "dr", "fenced": {"primary": {"method": "nsg", "topics": {}, "nsg": {"rules": []}}}}'
    assert parse_state(only, ["primary", "dr"]).fenced["primary"]["method"] == "nsg"
    bad = '{"active": "dr", "fenced": {"primary": {"method": "nsg", "topics": {}, "nsg": {"rules": [1]}}}}'
    with pytest.raises(StateInvalid, match=r"fenced\.primary\.nsg\.rules: must be a list"):
        parse_state(bad, ["primary", "dr"])


def test_describe_says_the_nsg_fence_needs_arm_only(tmp_path: Path) -> None:
    ctx = context(tmp_path, 'fence = "nsg"\nclient_cidrs = ["10.0.1.0/24", "10.2.0.0/16"]')
    assert asyncio.run(Fence().describe(ctx)) == [
        "NSG rule on primary's subnet: deny the Kafka ports to 10.0.1.0/24, 10.2.0.0/16 (edge nodes and "
        "kdrtui allowed above it), through ARM: works with the brokers down"
    ]
