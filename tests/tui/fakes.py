"""What the console's UI tests drive it with: plans, scripted cluster probes, scripted lag and divergence
sources and the snapshots they return, and the app built on them (deterministic: snapshots, key handling).

Integration tests use the real probe and sources against the real lab (``*_lab.py``); these stand in only
where the test is about the UI, not about Kafka. The scripted journaled runs (a failover, a provisioning)
are in :mod:`tests.tui.fake_runs`.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from types import SimpleNamespace
from typing import Any, Generic, Self, TypeVar

from kdrtui.domain.divergence import DivergenceSnapshot, PartitionFacts, SideFacts, side_facts
from kdrtui.domain.health import ClusterObservation
from kdrtui.domain.lag import FlowLag, GroupLag, Health, LagSnapshot, PartitionLag, TopicLag, worst
from kdrtui.domain.plan import Plan, parse_plan
from kdrtui.tui.app import KdrApp, make_app

T = TypeVar("T")

FIXED_NOW = 1_764_093_600.0  # 2025-11-25 18:00:00 UTC

PLAN_TEXT = """\
[plan]
name = "orders-dr"
topology = "cold-standby"

[clusters.primary]
region = "eastus"
bootstrap_servers = ["10.0.0.11:9092", "10.0.0.12:9092"]

[clusters.dr]
region = "westus2"
bootstrap_servers = ["10.1.0.11:9092"]

[[flows]]
source = "primary"
target = "dr"
topics = ["orders.*", "payments"]
"""


def sample_plan() -> Plan:
    """A small two-cluster plan with one flow."""
    return parse_plan(PLAN_TEXT, "orders-dr.toml")


HOT_STANDBY_PLAN = """\
[plan]
name = "{name}"
topology = "hot-standby"

[clusters.primary]
region = "eastus"
bootstrap_servers = ["10.0.0.11:9092"]

[clusters.dr]
region = "westus2"
bootstrap_servers = ["10.1.0.11:9092"]
"""
"""A hot standby with dual ingest: two clusters and no flows."""


def hot_standby_plan(name: str = "hot") -> Plan:
    """:data:`HOT_STANDBY_PLAN` named ``name``, as read from ``<name>.toml``."""
    return parse_plan(HOT_STANDBY_PLAN.format(name=name), f"{name}.toml")


def fixed_app(
    plan: Plan | None,
    *,
    now: float = FIXED_NOW,
    probes: ScriptedProbes | None = None,
    clock: Callable[[], float] | None = None,
    **kw: Any,
) -> KdrApp:
    """An app on ``plan`` (None: no plan) with scripted probes that refresh once, its clock stopped at
    ``now`` (or ``clock``, moved by the test); ``kw`` goes to ``make_app`` (sources, factories, options)."""
    return make_app(
        plan,
        None,
        probe_factory=probes or ScriptedProbes(),
        clock=clock or (lambda: now),
        refresh_interval=3600,
        **kw,
    )


class ScriptedProbes:
    """Probe factory whose clusters are up or down as the test says; counts observations."""

    def __init__(self, clock: Callable[[], float] = lambda: FIXED_NOW) -> None:
        self.clock = clock
        self.down: set[str] = set()
        self.error = "Local: Broker transport failure"
        """What a probe of a cluster that is down says."""
        self.health: dict[str, dict[str, Any]] = {}
        """Per alias, fields of its observations that replace the healthy defaults (``brokers``,
        ``under_replicated``, ``offline``, ``under_min_isr``...)."""
        self.calls: dict[str, int] = {}
        self.lock = threading.Lock()

    def __call__(self, alias: str, bootstrap: str) -> ScriptedProbe:
        return ScriptedProbe(self, alias, bootstrap)


class ScriptedProbe:
    """One cluster's scripted probe."""

    def __init__(self, owner: ScriptedProbes, alias: str, bootstrap: str) -> None:
        self.owner = owner
        self.alias = alias
        self.bootstrap = bootstrap

    def observe(self) -> ClusterObservation:
        with self.owner.lock:
            self.owner.calls[self.alias] = self.owner.calls.get(self.alias, 0) + 1
            down = self.alias in self.owner.down
            health = dict(self.owner.health.get(self.alias, {}))
        now = self.owner.clock()
        if down:
            return ClusterObservation(observed_at=now, ok=False, error=self.owner.error)
        brokers = len(self.bootstrap.split(","))
        fields: dict[str, Any] = {
            "brokers": brokers,
            "brokers_expected": brokers,
            "topics": 7 if self.alias == "primary" else 9,
            "controller_id": 1,
            "cluster_id": f"{self.alias}-cluster-id",
        }
        return ClusterObservation(observed_at=now, ok=True, **(fields | health))

    def close(self) -> None:
        pass


EDGE_PLAN_TEXT = (
    PLAN_TEXT
    + """
[[edge_nodes]]
name = "edge-1"
cluster = "dr"
host = "10.1.0.20"
user = "sshuser"
kafka_home = "/opt/kafka"
"""
)
"""The sample plan with an edge node next to ``dr``: the Edge pane offers MirrorMaker."""


def edge_plan() -> Plan:
    """:func:`sample_plan` with an edge node."""
    return parse_plan(EDGE_PLAN_TEXT, "orders-dr.toml")


class UnreachableEdges:
    """The Edge pane's MirrorMaker manager (``make_app(manager_factory=...)``) over nodes whose every
    command fails with ``error`` (an SSH error, say); it is its own factory."""

    def __init__(self, error: Exception) -> None:
        self.error = error
        self.plan: Plan | None = None
        self.polls = 0

    def __call__(self, console: object, plan: Plan) -> Self:
        self.plan = plan
        return self

    def session(self, node: object) -> SimpleNamespace:
        return SimpleNamespace(state="disconnected")

    async def deployments(self, node: object) -> list[object]:
        self.polls += 1
        raise self.error

    async def forget_session(self, node_name: str) -> None:
        pass

    async def close(self) -> None:
        pass


class ScriptedSource(Generic[T]):
    """Returns whatever snapshot the test set last, or raises ``fail``; counts refreshes and records the
    plans it was built for. It is its own factory: pass it where the app takes one."""

    def __init__(self, first: T) -> None:
        self.current = first
        self.fail: Exception | None = None
        self.calls = 0
        self.closed = False
        self.plans: list[Plan] = []
        self.lock = threading.Lock()

    def __call__(self, plan: Plan) -> Self:
        self.plans.append(plan)
        return self

    def refresh(self) -> T:
        with self.lock:
            self.calls += 1
            if self.fail is not None:
                raise self.fail
            return self.current

    def close(self) -> None:
        self.closed = True


class ScriptedLagSource(ScriptedSource[LagSnapshot]):
    """A mirror-lag source (``make_app(lag_source_factory=...)``)."""


class ScriptedDivergenceSource(ScriptedSource[DivergenceSnapshot]):
    """A hot standby's divergence source (``make_app(divergence_source_factory=...)``)."""


# -- mirror lag and divergence snapshots --------------------------------------------------------------


def topic(
    name: str,
    health: Health = Health.OK,
    lag: int = 0,
    lag_s: float = 0.0,
    parts: int = 3,
    rate: float = 5.0,
    trend: tuple[int, ...] = (),
) -> TopicLag:
    """A topic whose ``lag`` records are spread over its partitions."""
    partitions = []
    for i in range(parts):
        behind = lag // parts + (1 if i < lag % parts else 0)
        end = 10_000 * (i + 1)
        partitions.append(PartitionLag(i, end, end - behind, end - behind, behind, lag_s if behind else 0.0))
    return TopicLag(
        topic=name,
        target_topic=f"primary.{name}",
        partitions=tuple(partitions),
        lag_records=lag,
        lag_seconds=lag_s,
        worst_partition=0 if lag else None,
        rate_in=rate,
        rate_out=rate,
        health=health,
        trend=trend,
    )


def snapshot(
    *topics: TopicLag,
    stale_s: float | None = None,
    heartbeat: float | None = 1.0,
    groups: tuple[GroupLag, ...] = (),
) -> LagSnapshot:
    """One flow primary -> dr with ``topics``; ``stale_s`` marks dr unreachable."""
    flow = FlowLag(
        source="primary",
        target="dr",
        mirrormaker="mm2",
        heartbeat_age_s=heartbeat,
        health=worst([t.health for t in topics]),
        topics=tuple(topics),
        groups=groups,
        stale_s=stale_s,
        error="dr: Broker transport failure" if stale_s is not None else None,
    )
    unreachable = {"dr": FIXED_NOW - stale_s} if stale_s is not None else {}
    return LagSnapshot(taken_at=FIXED_NOW, flows=(flow,), active="primary", unreachable=unreachable)


def three_topics() -> LagSnapshot:
    """orders (OK), payments (CRIT) and orders.eu (WARN) on one flow."""
    return snapshot(
        topic("orders", Health.OK, lag=3, lag_s=0.5, trend=(1, 2, 3)),
        topic("payments", Health.CRIT, lag=900, lag_s=150.0, trend=(100, 500, 900)),
        topic("orders.eu", Health.WARN, lag=60, lag_s=40.0),
    )


def build_lag_app(
    source: ScriptedLagSource, plan: Plan | None = None, interval: float = 0.05, **kw: Any
) -> KdrApp:
    """An app on ``plan`` (the sample plan by default) whose Mirror lag pane reads ``source`` every
    ``interval`` seconds."""
    return fixed_app(plan or sample_plan(), lag_source_factory=source, lag_interval=interval, **kw)


def facts(records: int, newest_age: float | None, parts: int = 1) -> SideFacts:
    """A topic on one cluster: ``records`` in partition 0, its newest record ``newest_age`` s old."""
    return side_facts(
        PartitionFacts(
            p,
            0,
            records if p == 0 else 0,
            None if newest_age is None or p else int((FIXED_NOW - newest_age) * 1000),
        )
        for p in range(parts)
    )
