"""The Prometheus collector of ``kdrtui exporter``: metric families built, at each scrape, from the latest
observation (:class:`Observed`) — never a refresh of its own.

The lag and cluster figures are read from the very body ``kdrtui status --json`` prints for that refresh
(:meth:`StatusView.to_dict`), so they are equal to it by construction. A figure that is not known has no
series (an unreachable cluster's broker count, a flow's heartbeat age on MirrorMaker 1, a group without a
checkpoint), never a 0: its reason is in an ``*_error_info`` series. The MirrorMaker families and the
exporter's own are in :mod:`kdrtui.services.observe.collector_edge`.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from prometheus_client.core import GaugeMetricFamily, InfoMetricFamily, Metric, StateSetMetricFamily

from kdrtui.domain.automation import PolicyState
from kdrtui.domain.health import Reachability
from kdrtui.domain.lag_health import Health
from kdrtui.services.observe.observed import gauge, stateset

HEALTHS = [str(h) for h in Health]
"""Every state of the health state sets."""
CLUSTER_STATES = [str(r) for r in Reachability if r is not Reachability.CONNECTING]
"""Every state of ``kdrtui_cluster_state``."""


def status_families(
    body: dict[str, Any], clusters: tuple[str, ...], *, per_partition: bool = False
) -> Iterator[Metric]:
    """The families of one ``kdrtui status --json`` body."""
    yield from _overall(body, clusters)
    yield from _flows(body)
    yield from _topics(body, per_partition=per_partition)
    yield from _groups(body)
    yield from _clusters(body)
    yield from automation_families(body)


AUTOMATION_STATES = (*(str(state) for state in PolicyState), "not-running")
"""``kdrtui_automation_state``'s states: the policy's, and ``not-running`` (enabled, no live watcher)."""


def automation_families(body: dict[str, Any]) -> Iterator[Metric]:
    """The automated failover policy (``kdrtui watch``): on or off, and its state as published."""
    block = body.get("automation") or {}
    enabled = bool(block.get("enabled"))
    yield GaugeMetricFamily(
        "kdrtui_automation_enabled", "1 when the plan's [automation] policy is enabled.", value=int(enabled)
    )
    if not enabled:
        return
    state = block.get("state") if block.get("running") else "not-running"
    family = StateSetMetricFamily(
        "kdrtui_automation_state",
        "The failover policy's state as kdrtui watch published it (not-running: no live watcher).",
    )
    family.add_metric([], {name: name == state for name in AUTOMATION_STATES})
    yield family
    last = block.get("last_failover")
    yield GaugeMetricFamily(
        "kdrtui_automation_unacknowledged",
        "1 while the policy's last automatic failover waits for `kdrtui watch --ack`.",
        value=int(last is not None and not last.get("acknowledged")),
    )


def _overall(body: dict[str, Any], clusters: tuple[str, ...]) -> Iterator[Metric]:
    health = StateSetMetricFamily("kdrtui_health", "Worst health of every flow (kdrtui status's).")
    health.add_metric([], {state: state == body["health"] for state in HEALTHS})
    yield health
    readable = GaugeMetricFamily(
        "kdrtui_dr_state_readable",
        "1 when the DR state (which cluster is active) was read; 0: unreadable, kdrtui_active_cluster has "
        "no series and both directions are watched.",
        value=1 if body.get("dr_state_error") is None else 0,
    )
    yield readable
    active = gauge(
        "kdrtui_active_cluster",
        "1 for the cluster clients use now, 0 for the others (none: unknown).",
        ["cluster"],
    )
    if body.get("active") is not None:
        for alias in sorted(set(clusters) | {body["active"]}):
            active.add_metric([alias], 1 if alias == body["active"] else 0)
    yield active


def _flow_name(flow: dict[str, Any]) -> str:
    return f"{flow['source']}->{flow['target']}"


def _flows(body: dict[str, Any]) -> Iterator[Metric]:
    labels = ["flow"]
    records = gauge("kdrtui_flow_lag_records", "Records not yet mirrored, all topics of the flow.", labels)
    seconds = gauge(
        "kdrtui_flow_lag_seconds",
        "Worst topic's lag in seconds; seconds_source: record (exact, from the source's records), history "
        "(estimated from end offsets seen), unknown (a lower bound).",
        [*labels, "seconds_source"],
    )
    lost = gauge(
        "kdrtui_flow_lost_records", "Records deleted on the source before they were mirrored.", labels
    )
    heartbeat = gauge(
        "kdrtui_flow_heartbeat_age_seconds",
        "Age of the newest MirrorMaker heartbeat at the refresh (no series: none seen, or MirrorMaker 1).",
        labels,
    )
    stale = gauge(
        "kdrtui_flow_stale_seconds",
        "Age of the figures shown while a cluster of the flow is unreachable (no series: fresh).",
        labels,
    )
    failed = gauge(
        "kdrtui_flow_failed_tasks", "MirrorMaker 2 connectors or tasks FAILED for the flow.", labels
    )
    health = stateset("kdrtui_flow_health", "The flow's health (worst of its topics).", labels)
    error = InfoMetricFamily(
        "kdrtui_flow_error", "Why the flow's figures are stale or missing (no series: none).", labels=labels
    )
    for flow in body["flows"]:
        name = [_flow_name(flow)]
        health.add_metric(name, {state: state == flow["health"] for state in HEALTHS})
        failed.add_metric(name, len(flow["failed_tasks"]))
        if flow["error"] is not None:
            error.add_metric(name, {"error": flow["error"]})
        if flow["heartbeat_age_s"] is not None:
            heartbeat.add_metric(name, flow["heartbeat_age_s"])
        if flow["stale_s"] is not None:
            stale.add_metric(name, flow["stale_s"])
        if flow["error"] is not None and not flow["topics"]:
            continue  # never read: 0 would be a guess
        records.add_metric(name, flow["lag_records"])
        seconds.add_metric([*name, flow["lag_seconds_source"]], flow["lag_seconds"])
        lost.add_metric(name, flow["lost_records"])
    yield from (records, seconds, lost, heartbeat, stale, failed, health, error)


def _topics(body: dict[str, Any], *, per_partition: bool) -> Iterator[Metric]:
    labels = ["flow", "topic"]
    records = gauge("kdrtui_topic_lag_records", "Records of the topic not yet mirrored.", labels)
    seconds = gauge(
        "kdrtui_topic_lag_seconds",
        "Age of the oldest unmirrored record; seconds_source as for kdrtui_flow_lag_seconds.",
        [*labels, "seconds_source"],
    )
    lost = gauge(
        "kdrtui_topic_lost_records", "Records deleted on the source before they were mirrored.", labels
    )
    rate_out = gauge(
        "kdrtui_topic_replicated_records_per_second",
        "Records mirrored per second (between refreshes).",
        labels,
    )
    rate_in = gauge(
        "kdrtui_topic_produced_records_per_second",
        "Records produced to the source topic per second (between refreshes).",
        labels,
    )
    open_tx = gauge(
        "kdrtui_topic_open_transactions", "Partitions behind with an open transaction on the source.", labels
    )
    health = stateset("kdrtui_topic_health", "The topic's health.", labels)
    p_labels = [*labels, "partition"]
    p_records = gauge("kdrtui_partition_lag_records", "Records of the partition not yet mirrored.", p_labels)
    p_seconds = gauge(
        "kdrtui_partition_lag_seconds", "The partition's lag in seconds.", [*p_labels, "seconds_source"]
    )
    p_lost = gauge("kdrtui_partition_lost_records", "Records deleted before they were mirrored.", p_labels)
    for flow in body["flows"]:
        for topic in flow["topics"]:
            name = [_flow_name(flow), topic["topic"]]
            records.add_metric(name, topic["lag_records"])
            seconds.add_metric([*name, topic["lag_seconds_source"]], topic["lag_seconds"])
            lost.add_metric(name, topic["lost_records"])
            rate_out.add_metric(name, topic["rate_out"])
            rate_in.add_metric(name, topic["rate_in"])
            open_tx.add_metric(name, topic["open_transactions"])
            health.add_metric(name, {state: state == topic["health"] for state in HEALTHS})
            if not per_partition:
                continue
            for part in topic["partitions"]:
                where = [*name, str(part["partition"])]
                p_records.add_metric(where, part["lag_records"])
                p_seconds.add_metric([*where, part["lag_seconds_source"]], part["lag_seconds"])
                p_lost.add_metric(where, part["lost_records"])
    yield from (records, seconds, lost, rate_out, rate_in, open_tx, health)
    if per_partition:
        yield from (p_records, p_seconds, p_lost)


def _groups(body: dict[str, Any]) -> Iterator[Metric]:
    labels = ["flow", "group", "topic"]
    age = gauge(
        "kdrtui_group_checkpoint_age_seconds",
        "Age of the newest MirrorMaker 2 checkpoint of the group and topic (no series: none yet).",
        labels,
    )
    redeliver = gauge(
        "kdrtui_group_redeliver_records",
        "Records the group would read again after a failover now (no series: no checkpoint yet).",
        labels,
    )
    skip = gauge(
        "kdrtui_group_skip_records",
        "Records the group would skip after a failover now (no series: no checkpoint yet).",
        labels,
    )
    for flow in body["flows"]:
        for group in flow["groups"]:
            name = [_flow_name(flow), group["group"], group["topic"]]
            if group["checkpoint_age_s"] is not None:
                age.add_metric(name, group["checkpoint_age_s"])
            if group["checkpointed"] is not None:
                redeliver.add_metric(name, group["redeliver"])
                skip.add_metric(name, group["skip"])
    yield from (age, redeliver, skip)


def _clusters(body: dict[str, Any]) -> Iterator[Metric]:
    labels = ["cluster"]
    state = stateset("kdrtui_cluster_state", "up, degraded (answers, but...) or unreachable.", labels)
    up = gauge("kdrtui_cluster_up", "1 when the cluster answered the refresh's probe, else 0.", labels)
    brokers = gauge(
        "kdrtui_cluster_brokers_up", "Brokers in the cluster's metadata (no series: unreachable).", labels
    )
    expected = gauge(
        "kdrtui_cluster_brokers_expected",
        "Brokers the cluster should have; expected_source: plan, hdinsight, or derived (a lower bound).",
        [*labels, "expected_source"],
    )
    urp = gauge(
        "kdrtui_cluster_under_replicated_partitions", "Partitions with fewer ISR than replicas.", labels
    )
    offline = gauge("kdrtui_cluster_offline_partitions", "Partitions without a leader.", labels)
    min_isr = gauge(
        "kdrtui_cluster_under_min_isr_partitions",
        "Partitions with fewer ISR than min.insync.replicas (refuse acks=all writes; no series: unknown).",
        labels,
    )
    since = gauge(
        "kdrtui_cluster_unreachable_since_timestamp_seconds",
        "Since when the lag engine has not reached the cluster (epoch s; no series: reached).",
        labels,
    )
    error = InfoMetricFamily("kdrtui_cluster_error", "Why the cluster's probe failed.", labels=labels)
    for alias, block in sorted(body["clusters"].items()):
        name = [alias]
        state.add_metric(name, {s: s == block["state"] for s in CLUSTER_STATES})
        up.add_metric(name, 0 if block["state"] == "unreachable" else 1)
        if block["error"]:
            error.add_metric(name, {"error": block["error"]})
        if block["brokers_expected"] is not None:
            expected.add_metric([alias, block["expected_source"]], block["brokers_expected"])
        for family, key in ((brokers, "brokers_up"), (urp, "under_replicated"), (offline, "offline")):
            if block[key] is not None:
                family.add_metric(name, block[key])
        if block["under_min_isr"] is not None:
            min_isr.add_metric(name, block["under_min_isr"])
    for alias, when in sorted(body["unreachable"].items()):
        since.add_metric([alias], when)
    yield from (state, up, brokers, expected, urp, offline, min_isr, since, error)
