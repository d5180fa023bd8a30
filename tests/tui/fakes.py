"""A scripted cluster probe for UI tests that must be deterministic (snapshots, key handling).

Integration tests of the Overview use the real probe against the real lab (test_overview_lab.py);
this one stands in only where the test is about the UI, not about Kafka.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any, Generic, Self, TypeVar

from kdrtui.domain.divergence import DivergenceSnapshot
from kdrtui.domain.health import ClusterObservation
from kdrtui.domain.lag import LagSnapshot
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
    plan: Plan | None, *, now: float = FIXED_NOW, probes: ScriptedProbes | None = None, **kw: Any
) -> KdrApp:
    """An app on ``plan`` (None: no plan) with scripted probes that refresh once, its clock stopped at
    ``now``; ``kw`` goes to ``make_app`` (sources, factories, options)."""
    return make_app(
        plan,
        None,
        probe_factory=probes or ScriptedProbes(),
        clock=lambda: now,
        refresh_interval=3600,
        **kw,
    )


class ScriptedProbes:
    """Probe factory whose clusters are up or down as the test says; counts observations."""

    def __init__(self, clock: Callable[[], float] = lambda: FIXED_NOW) -> None:
        self.clock = clock
        self.down: set[str] = set()
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
        now = self.owner.clock()
        if down:
            return ClusterObservation(observed_at=now, ok=False, error="Local: Broker transport failure")
        brokers = len(self.bootstrap.split(","))
        return ClusterObservation(
            observed_at=now,
            ok=True,
            brokers=brokers,
            topics=7 if self.alias == "primary" else 9,
            controller_id=1,
            cluster_id=f"{self.alias}-cluster-id",
        )

    def close(self) -> None:
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
    """A mirror-lag source (``app.lag_source_factory``)."""


class ScriptedDivergenceSource(ScriptedSource[DivergenceSnapshot]):
    """A hot standby's divergence source (``app.divergence_source_factory``)."""
