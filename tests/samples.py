"""Plan samples shared by the tests: the plan files in ``tests/domain/plans/`` and plans made from them."""

from __future__ import annotations

from pathlib import Path

from kdrtui.domain.plan import Plan, Schedule, Topology
from kdrtui.services.plan_files import load_plan

PLANS = Path(__file__).parent / "domain" / "plans"
"""The sample plan files."""
GOOD = PLANS / "good.toml"
"""A valid cold-standby plan with HDInsight clusters, an edge node and one flow (primary -> dr)."""
HOT = PLANS / "hot-standby.toml"
"""A valid hot-standby plan."""


def scheduled_plan(schedule: Schedule) -> Plan:
    """:data:`GOOD` as cold standby with its flow mirrored in batches on ``schedule``."""
    plan = load_plan(GOOD)
    flows = [plan.flows[0].model_copy(update={"schedule": schedule})]
    info = plan.plan.model_copy(update={"topology": Topology.COLD_STANDBY})
    return plan.model_copy(update={"plan": info, "flows": flows})
