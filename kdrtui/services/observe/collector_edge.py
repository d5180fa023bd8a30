"""The exporter's families beside the status body's: MirrorMaker on the edge nodes (process and MM2 task
states, and whether the SSH read worked), the last failover, and the exporter's own refresh figures."""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    InfoMetricFamily,
    Metric,
)

from kdrtui.domain.mirrormaker import MmState
from kdrtui.domain.mm2_tasks import STATES
from kdrtui.services.observe.last_failover import OUTCOMES
from kdrtui.services.observe.observed import Observed, gauge, stateset

MM_STATES = [str(s) for s in MmState]
"""Every state of ``kdrtui_mirrormaker_state``."""
TASK_STATES = sorted(STATES)
"""Every state of the MM2 connector and task state sets (Connect's)."""


def exporter_families(seen: Observed, now: float) -> Iterator[Metric]:
    """The exporter's own: refreshes, their duration and the age of the figures served."""
    yield CounterMetricFamily(
        "kdrtui_refreshes",
        "Refreshes of the lag and cluster figures done (a scrape never adds one).",
        value=seen.refreshes,
    )
    yield CounterMetricFamily(
        "kdrtui_refresh_errors",
        "Refreshes that failed (the previous figures are kept and age).",
        value=seen.refresh_errors,
    )
    yield GaugeMetricFamily(
        "kdrtui_refresh_interval_seconds", "The exporter's refresh cadence.", value=seen.interval_s
    )
    duration = GaugeMetricFamily("kdrtui_refresh_duration_seconds", "How long the latest refresh took.")
    stamp = GaugeMetricFamily(
        "kdrtui_snapshot_timestamp_seconds", "When the figures served were taken (epoch s)."
    )
    age = GaugeMetricFamily(
        "kdrtui_snapshot_age_seconds", "Age of the figures served at this scrape (no series: none taken yet)."
    )
    if seen.refresh_duration_s is not None:
        duration.add_metric([], seen.refresh_duration_s)
    if seen.refreshed_at is not None:
        stamp.add_metric([], seen.refreshed_at)
        age.add_metric([], max(0.0, now - seen.refreshed_at))
    yield from (duration, stamp, age)
    if seen.last_error is not None:
        yield InfoMetricFamily(
            "kdrtui_refresh_error", "Why the latest refresh failed.", value={"error": seen.last_error}
        )


def edge_families(seen: Observed) -> Iterator[Metric]:
    """MirrorMaker's families (when the plan has edge nodes) and the last failover's."""
    if seen.mirrormaker_interval_s is not None:
        yield CounterMetricFamily(
            "kdrtui_mirrormaker_reads", "MirrorMaker reads over SSH done.", value=seen.mirrormaker_reads
        )
    if seen.mirrormaker is not None:
        yield from _mirrormaker(seen)
    yield from _failover(seen)


def _mirrormaker(seen: Observed) -> Iterator[Metric]:
    read = seen.mirrormaker
    assert read is not None
    node_labels = ["node"]
    up = gauge(
        "kdrtui_mirrormaker_read_up",
        "1 when the node's MirrorMaker states were read over SSH at the latest read; 0: they are unknown.",
        node_labels,
    )
    took = gauge("kdrtui_mirrormaker_read_duration_seconds", "How long the node's read took.", node_labels)
    error = InfoMetricFamily(
        "kdrtui_mirrormaker_read_error", "Why the node could not be read.", labels=node_labels
    )
    stamp = GaugeMetricFamily(
        "kdrtui_mirrormaker_read_timestamp_seconds",
        "When the latest MirrorMaker read finished (epoch s).",
        value=read.at,
    )
    labels = ["node", "deployment"]
    state = stateset(
        "kdrtui_mirrormaker_state",
        "The deployment's process state (running, scheduled, stopped, crashed...).",
        labels,
    )
    uptime = gauge("kdrtui_mirrormaker_uptime_seconds", "Seconds since the MirrorMaker JVM started.", labels)
    failed = gauge("kdrtui_mirrormaker_failed_tasks", "MM2 connectors or tasks FAILED (running MM2).", labels)
    flow_labels = [*labels, "flow"]
    readable = gauge(
        "kdrtui_mm2_tasks_readable",
        "1 when the flow's connector and task states were read from its target; 0: unknown.",
        flow_labels,
    )
    connector = stateset(
        "kdrtui_mm2_connector_state",
        "An MM2 connector's state (mm2-status on the target).",
        [*flow_labels, "connector"],
    )
    task = stateset(
        "kdrtui_mm2_task_state", "An MM2 task's state (mm2-status on the target).", [*flow_labels, "task"]
    )
    for node in read.nodes:
        up.add_metric([node.node], 1 if node.ok else 0)
        took.add_metric([node.node], node.duration_s)
        if node.error is not None:
            error.add_metric([node.node], {"error": node.error})
        for status in node.statuses:
            where = [status.node, status.deployment]
            if status.state is not MmState.UNKNOWN:  # unknown: the read failed, said by _read_up
                state.add_metric(where, {s: s == str(status.state) for s in MM_STATES})
            if status.uptime_s is not None:
                uptime.add_metric(where, status.uptime_s)
            if status.state is MmState.RUNNING and any(f.readable for f in status.flows):
                failed.add_metric(where, len(status.task_problems))
            for flow in status.flows:
                flow_where = [*where, flow.flow]
                readable.add_metric(flow_where, 1 if flow.readable else 0)
                if not flow.readable:
                    continue
                for conn in flow.connectors:
                    if conn.state is not None:
                        connector.add_metric(
                            [*flow_where, conn.name], {s: s == conn.state for s in TASK_STATES}
                        )
                    for one in conn.tasks:
                        task.add_metric([*flow_where, one.name], {s: s == one.state for s in TASK_STATES})
    yield from (up, took, error, stamp, state, uptime, failed, readable, connector, task)


def _failover(seen: Observed) -> Iterator[Metric]:
    last = seen.failover
    if last is None:
        return
    labels = ["operation", "run"]
    where = [last.operation, last.run]
    outcome = stateset(
        "kdrtui_last_failover_outcome",
        "How the newest failover or failback ended (running: in progress or cut, to resume).",
        labels,
    )
    outcome.add_metric(where, {s: s == last.outcome for s in OUTCOMES})
    yield outcome
    if last.started_at is not None:
        started = gauge(
            "kdrtui_last_failover_start_timestamp_seconds", "When it was confirmed (epoch s).", labels
        )
        started.add_metric(where, last.started_at)
        yield started
    if last.duration_s is not None:
        duration = gauge(
            "kdrtui_last_failover_duration_seconds", "Confirmation to the end of its last run.", labels
        )
        duration.add_metric(where, last.duration_s)
        yield duration
    if last.rto_s is not None:
        rto = gauge(
            "kdrtui_last_failover_rto_seconds",
            "The RTO its report measured (confirmation to clients switched).",
            labels,
        )
        rto.add_metric(where, last.rto_s)
        yield rto
