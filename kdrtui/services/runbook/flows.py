"""The flows a failover works with: the forward flow it stops and the reverse flow it may start.

After ``primary -> dr`` fails over, clients write to ``dr``. Mirroring back uses prefixed names
(``orders`` on dr becomes ``dr.orders`` on primary) so nothing loops: MirrorMaker 2's default policy never
sends ``primary.orders`` back to primary, and the reverse flow excludes those topics explicitly so the lag
engine does not count them either. The reverse flow runs on the plan's edge nodes of the old primary's
cluster, or, when it has none, on the forward flow's nodes (a second deployment next to the first).
"""

from __future__ import annotations

import re

from kdrtui.domain.plan import EdgeNode, MirrorFlow, MirrorMakerKind, Naming, Plan

INTERNAL_TOPICS = [r"__.*", r"mm2-.*", r".*\.internal", r"heartbeats", r".*\.heartbeats", r"_.*"]
"""Topics that are never an application's (MirrorMaker's own, Kafka's own)."""


class FlowError(ValueError):
    """The plan has no flow to fail over, or its flows do not allow the operation."""


def forward_flow(plan: Plan, source: str, target: str) -> MirrorFlow:
    """The plan's flow ``source -> target``."""
    for flow in plan.flows:
        if (flow.source, flow.target) == (source, target):
            return flow
    known = ", ".join(f.name for f in plan.flows) or "none"
    raise FlowError(f"the plan has no flow {source}->{target} (flows: {known})")


def reverse_flow(plan: Plan, flow: MirrorFlow) -> MirrorFlow:
    """The flow back from ``flow.target`` to ``flow.source``: the plan's own if it has one, else derived."""
    for other in plan.flows:
        if (other.source, other.target) == (flow.target, flow.source):
            return other
    exclude = [*flow.topics_exclude, f"{re.escape(flow.source)}\\..*", *INTERNAL_TOPICS]
    return MirrorFlow(
        source=flow.target,
        target=flow.source,
        topics=list(flow.topics),
        topics_exclude=list(dict.fromkeys(exclude)),
        groups=list(flow.groups),
        groups_exclude=list(flow.groups_exclude),
        naming=Naming.PREFIXED,
        mirrormaker=MirrorMakerKind.MM2,
        sync_group_offsets=flow.sync_group_offsets,
        emit_checkpoints_seconds=flow.emit_checkpoints_seconds,
        refresh_seconds=flow.refresh_seconds,
        flush_seconds=flow.flush_seconds,
    )


def with_reverse(plan: Plan, flow: MirrorFlow) -> Plan:
    """``plan`` with the reverse of ``flow`` added (and edge nodes to run it) when it lacks one."""
    back = reverse_flow(plan, flow)
    if back in plan.flows:
        return plan
    nodes: list[EdgeNode] = list(plan.edge_nodes)
    if not plan.edge_nodes_for(back.target):
        nodes += [n.model_copy(update={"cluster": back.target}) for n in plan.edge_nodes_for(flow.target)]
    return plan.model_copy(update={"flows": [*plan.flows, back], "edge_nodes": nodes})


def only_flow(plan: Plan, flow: MirrorFlow) -> Plan:
    """``plan`` narrowed to one flow (what a lag engine for that flow watches)."""
    return plan.model_copy(update={"flows": [flow]})


def target_name(flow: MirrorFlow, topic: str) -> str:
    """``topic``'s name on the flow's target."""
    return f"{flow.source}.{topic}" if flow.naming == Naming.PREFIXED else topic


def effective_plan(plan: Plan, active: str) -> Plan:
    """The plan as it runs while ``active`` is the active cluster.

    Unchanged while the primary is active. After a failover to ``active``: the roles swapped (``active`` is
    the primary now) and the flows out of ``active`` (the reverse of the forward flow), which is what the
    lag pane and ``kdrtui status`` watch; the forward flow is stopped on purpose and would only read STOPPED.
    """
    if active == plan.primary_alias or active not in plan.clusters:
        return plan
    try:
        forward = forward_flow(plan, plan.primary_alias, active)
    except FlowError:
        return plan
    full = with_reverse(plan, forward)
    back = reverse_flow(full, forward)
    flows = [back, *(f for f in plan.flows if f.source == active and f != back)]
    info = plan.plan.model_copy(update={"primary": active, "secondary": plan.primary_alias})
    return full.model_copy(update={"plan": info, "flows": flows})


def both_directions(plan: Plan) -> Plan:
    """``plan`` with the reverse of its primary -> secondary flow added: what might be running when it is
    not known which cluster is active (an unreadable DR state)."""
    try:
        return with_reverse(plan, forward_flow(plan, plan.primary_alias, plan.secondary_alias))
    except FlowError:
        return plan
