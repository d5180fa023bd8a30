"""The failover and failback of an active-active plan (the pure parts): which flows they work with, what
the failback leaves alone, which groups it moves back, and the offsets of copies mapped back."""

from __future__ import annotations

from pathlib import Path

import pytest

from kdrtui.domain.plan import Plan, parse_plan
from kdrtui.services.kafka.internal_topics import OffsetSync
from kdrtui.services.runbook.active_active import (
    failback_keeps_flowing,
    is_active_active,
    merge_origin,
    moved_groups,
    not_on_target,
    origin_offsets,
    origin_positions,
)
from kdrtui.services.runbook.cutover import Fence
from kdrtui.services.runbook.failover import FAILBACK, FAILOVER, Replication, make_context
from kdrtui.services.runbook.flows import effective_plan
from kdrtui.services.runbook.store import DrState, RunbookStore

PLAN = """\
[plan]
name = "orders-aa"
topology = "active-active"

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

[[edge_nodes]]
name = "primary-edge-1"
cluster = "primary"
host = "10.0.0.20"
user = "sshuser"
kafka_home = "/opt/kafka"

[[flows]]
source = "primary"
target = "dr"
topics = ["orders.*"]
topics_exclude = ["dr[.].*"]
naming = "prefixed"

[[flows]]
source = "dr"
target = "primary"
topics = ["orders.*"]
topics_exclude = ["primary[.].*"]
naming = "prefixed"
"""


@pytest.fixture
def plan() -> Plan:
    return parse_plan(PLAN, "orders-aa.toml")


@pytest.fixture
def store(tmp_path: Path, plan: Plan) -> RunbookStore:
    return RunbookStore(plan.plan.name, None, tmp_path)


def test_failover_stops_one_flow_and_keeps_the_plans_own_other_flow(plan: Plan, store: RunbookStore) -> None:
    assert is_active_active(plan)
    ctx = make_context(plan, store, FAILOVER)
    assert (ctx.source, ctx.target) == ("primary", "dr")
    assert ctx.stop_flow.name == "primary->dr"
    # The plan's own dr -> primary is the "reverse": no second flow is derived beside it.
    assert ctx.resume_flow == plan.flows[1]
    assert ctx.plan.flows == plan.flows and ctx.plan.edge_nodes == plan.edge_nodes
    assert failback_keeps_flowing(ctx) is None, "a failover fences, drains and stops primary -> dr"
    after = effective_plan(plan, "dr")
    assert [f.name for f in after.flows] == ["dr->primary"]


def test_failback_leaves_the_dr_side_and_its_flow_alone(plan: Plan, store: RunbookStore) -> None:
    ctx = make_context(plan, store, FAILBACK)
    assert (ctx.source, ctx.target, ctx.stop_flow.name, ctx.resume_flow.name) == (
        "dr",
        "primary",
        "dr->primary",
        "primary->dr",
    )
    why = failback_keeps_flowing(ctx)
    assert why is not None and "dr keeps its own writers" in why and "dr->primary keeps running" in why


def test_a_cold_standby_failback_is_unchanged(plan: Plan, store: RunbookStore) -> None:
    cold = plan.model_copy(
        update={
            "plan": plan.plan.model_copy(update={"topology": "cold-standby"}),
            "flows": plan.flows[:1],
        }
    )
    assert not is_active_active(cold)
    assert failback_keeps_flowing(make_context(cold, store, FAILBACK)) is None


def test_failback_moves_back_only_the_groups_the_failover_moved(plan: Plan, store: RunbookStore) -> None:
    ctx = make_context(plan, store, FAILBACK)
    assert moved_groups(ctx) is None, "no failover yet: unknown"
    journal = store.new_journal(FAILOVER)
    journal.write("run-start", operation=FAILOVER, plan=plan.plan.name)
    journal.write(
        "step-end",
        step="translate-offsets",
        status="done",
        summary="2 group(s) moved",
        facts={"groups": {"billing": {"offsets": {}}, "audit": {"offsets": {}}}, "refused": ["dr-own"]},
    )
    other = store.new_journal(FAILOVER)  # another failover's journal: not the one that switched
    other.write("step-end", step="translate-offsets", status="done", facts={"groups": {"stale": {}}})
    store.save_state(DrState(active="dr", operation=FAILOVER, run=journal.run_id))
    assert moved_groups(ctx) == {"billing", "audit"}


def test_copies_of_the_other_sides_topics_map_back_to_the_originals() -> None:
    committed = {("orders", 0): 40, ("dr.orders", 0): 25, ("dr.orders", 1): 7, ("dr.", 0): 3}
    positions = origin_positions(committed, "dr")
    assert positions == {("dr.orders", 0): 25, ("dr.orders", 1): 7}

    syncs = {
        # dr -> primary's syncs, keyed by the ORIGINAL topic on dr: orders@100 was copied to dr.orders@20.
        ("orders", 0): [OffsetSync("orders", 0, 100, 20), OffsetSync("orders", 0, 130, 25)],
    }
    found = origin_offsets({"billing": positions}, "dr", syncs)
    # An exact sync: resume right there; partition 1 has no sync yet: left out (not guessed).
    assert found == {"billing": {"orders:0": 130}}
    between = origin_offsets({"g": {("dr.orders", 0): 23}}, "dr", syncs)
    assert between == {"g": {"orders:0": 101}}, "past the sync below: conservative, never past what was read"

    by_group = {"billing": {"offsets": {"primary.orders:0": 41}, "how": "committed offsets", "duplicates": 0}}
    merge_origin(by_group, found | {"reader": {"orders:1": 5}})
    assert by_group["billing"]["offsets"] == {"primary.orders:0": 41, "orders:0": 130}
    assert "mapped back" in by_group["billing"]["how"]
    assert by_group["reader"]["offsets"] == {"orders:1": 5}


def test_groups_the_target_already_has_keep_their_position_there() -> None:
    mapped = {"drt-0-g0": {"drt-0:0": 90, "drt-0:1": 12}, "agg": {"orders:0": 130}}
    # drt-0-g0 is dr's own group (MirrorMaker's offset sync copied it to primary under the same name).
    kept = not_on_target(mapped, {"drt-0-g0": {("drt-0", 0): 120}, "agg": {("primary.orders", 0): 41}})
    assert kept == {"agg": {"orders:0": 130}}, "dr's own group is left alone on every partition"


async def test_the_failover_says_the_other_flow_runs_on(plan: Plan, store: RunbookStore) -> None:
    lines = await Replication().describe(make_context(plan, store, FAILOVER))
    assert lines == [
        "MirrorMaker dr->primary (the plan's own flow: active-active) runs on as it is; "
        "started only if it is not running"
    ]
    fence_lines = await Fence().describe(make_context(plan, store, FAILBACK))
    assert fence_lines[0].startswith("nothing fenced on dr: active-active")
