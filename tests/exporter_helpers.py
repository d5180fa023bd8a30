"""Built status views, MirrorMaker reads and failovers for the exporter's tests (no lab), and reading
the exposition back with ``prometheus_client``'s parser."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from prometheus_client import generate_latest
from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.registry import CollectorRegistry

from kdrtui.domain.health import ClusterObservation
from kdrtui.domain.lag import FlowLag, GroupLag, Health, LagSecondsSource, LagSnapshot, PartitionLag, TopicLag
from kdrtui.domain.mirrormaker import MirrorMakerStatus, MmState
from kdrtui.domain.mm2_tasks import ConnectorTasks, FlowTasks, TaskState
from kdrtui.domain.plan import Plan
from kdrtui.services.observe.last_failover import LastFailover
from kdrtui.services.observe.mirrormaker_read import MirrorMakerRead, NodeRead
from kdrtui.services.observe.status_view import StatusView
from kdrtui.services.plan_files import load_plan
from tests.samples import GOOD

NOW = 1_790_000_000.0


def plan_nobody_answers(tmp_path: Path) -> Path:
    """The sample plan with both clusters and the edge node at a port nothing listens on."""
    text = GOOD.read_text(encoding="utf-8")
    text = text.replace('["10.0.0.11:9092", "10.0.0.12:9092", "10.0.0.13:9092"]', '["127.0.0.1:1"]')
    text = text.replace('"10.1.0.11:9092,10.1.0.12:9092,10.1.0.13:9092"', '"127.0.0.1:1"')
    text = text.replace('host = "10.1.0.20"', 'host = "127.0.0.1"\nport = 1')
    text = text.replace('jump_host = "sshuser@kdr-west-kafka-ssh.azurehdinsight.net:22"\n', "")
    assert text.count("127.0.0.1") == 3 and "jump_host" not in text
    path = tmp_path / "plan.toml"
    path.write_text(text, encoding="utf-8")
    return path


def plan() -> Plan:
    """The sample plan: clusters primary and dr, edge node dr-edge-1."""
    return load_plan(GOOD)


def partition(n: int, lag: int, seconds: float) -> PartitionLag:
    return PartitionLag(
        n, source_end=100 + lag, target_end=100, replicated=100, lag_records=lag, lag_seconds=seconds
    )


def snapshot(*, unreachable: bool = False) -> LagSnapshot:
    """primary->dr with two topics (one WARN, read from history) and a group; with ``unreachable`` also
    a flow dr->primary that was never read because dr did not answer."""
    orders = TopicLag(
        "orders",
        "orders",
        (partition(0, 40, 12.5), partition(1, 2, 0.5)),
        lag_records=42,
        lag_seconds=12.5,
        worst_partition=0,
        rate_in=120.44,
        rate_out=118.06,
        health=Health.WARN,
        lag_seconds_source=LagSecondsSource.HISTORY,
        lost_records=3,
    )
    payments = TopicLag("payments", "payments", (partition(0, 0, 0.0),), 0, 0.0, None, 1.0, 1.0, Health.OK)
    groups = (
        GroupLag(
            "billing", "orders", committed=90, checkpointed=80, checkpoint_age_s=4.21, redeliver=10, skip=0
        ),
        GroupLag(
            "audit", "orders", committed=None, checkpointed=None, checkpoint_age_s=None, redeliver=0, skip=0
        ),
    )
    flows = [
        FlowLag(
            "primary", "dr", "mm2", 1.26, Health.WARN, (orders, payments), groups, failed_tasks=("x FAILED",)
        )
    ]
    if unreachable:
        flows.append(
            FlowLag("dr", "primary", "mm2", None, Health.STOPPED, (), error="dr: Broker transport failure")
        )
    return LagSnapshot(
        NOW,
        tuple(flows),
        active="primary",
        unreachable={"dr": NOW - 30} if unreachable else {},
        errors={"dr": "dr: Broker transport failure"} if unreachable else {},
    )


def clusters(*, unreachable: bool = False) -> dict[str, ClusterObservation]:
    up = ClusterObservation(
        NOW,
        True,
        brokers=3,
        brokers_expected=3,
        expected_source="plan",
        under_replicated=2,
        under_min_isr=1,
        unwritable_count=1,
    )
    down = ClusterObservation(NOW, False, error="Broker transport failure")
    return {"primary": up, "dr": down if unreachable else up}


def view(*, unreachable: bool = False, refresh: int = 1, dr_state_error: str | None = None) -> StatusView:
    return StatusView(
        snapshot(unreachable=unreachable),
        clusters(unreachable=unreachable),
        dr_state_error,
        refresh=refresh,
        duration_s=0.25,
    )


def mirrormaker_read() -> MirrorMakerRead:
    """dr-edge-1 running MM2 with one FAILED task; edge-2 not answering over SSH."""
    tasks = (
        TaskState("MirrorSourceConnector", 0, "RUNNING"),
        TaskState("MirrorSourceConnector", 1, "FAILED"),
    )
    flow = FlowTasks(
        "primary", connectors=(ConnectorTasks("MirrorSourceConnector", "RUNNING", tasks=tasks),), target="dr"
    )
    running = MirrorMakerStatus("dr-edge-1", "mm2-dr", MmState.RUNNING, pid=42, uptime_s=600.0, flows=(flow,))
    return MirrorMakerRead(
        NOW,
        (
            NodeRead("dr-edge-1", True, (running,), duration_s=0.4),
            NodeRead("edge-2", False, error="edge-2: connection refused", duration_s=0.1),
        ),
        duration_s=0.5,
    )


def failover() -> LastFailover:
    return LastFailover("failover", "20261203T120000Z-failover-ab12", "completed", NOW - 100, NOW - 40, 35.5)


@dataclass
class FakeReader:
    """A :class:`StatusReader` stand-in that returns the given views in turn (the last one again)."""

    plan: Plan
    views: list[StatusView]
    calls: int = 0
    fail: Exception | None = None
    closed: bool = False
    warm_ups: list[float | None] = field(default_factory=list)

    @property
    def watched(self) -> Plan:
        return self.plan

    def refresh(self, *, warm_up_s: float | None = None, warm_up_always: bool = False) -> StatusView:
        self.calls += 1
        self.warm_ups.append(warm_up_s)
        if self.fail is not None:
            raise self.fail
        return self.views[min(self.calls, len(self.views)) - 1]

    def close(self) -> None:
        self.closed = True


def scrape(registry: CollectorRegistry) -> dict[str, Any]:
    """name -> family parsed back from the text exposition."""
    text = generate_latest(registry).decode()
    return {family.name: family for family in text_string_to_metric_families(text)}


def samples(registry: CollectorRegistry) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    """(sample name, labels) -> value, of one scrape."""
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in scrape(registry).values()
        for sample in family.samples
    }


def value(
    found: dict[tuple[str, frozenset[tuple[str, str]]], float], name: str, **labels: str
) -> float | None:
    return found.get((name, frozenset(labels.items())))


def names(found: dict[tuple[str, frozenset[tuple[str, str]]], float]) -> set[str]:
    return {name for name, _ in found}
