"""A scripted cluster probe for UI tests that must be deterministic (snapshots, key handling).

Integration tests of the Overview use the real probe against the real lab (test_overview_lab.py);
this one stands in only where the test is about the UI, not about Kafka.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any, Generic, Self, TypeVar

from kdrtui.domain.divergence import DivergenceSnapshot
from kdrtui.domain.health import ClusterObservation
from kdrtui.domain.lag import LagSnapshot
from kdrtui.domain.plan import Plan, parse_plan
from kdrtui.domain.runbook import RunState, StepStatus
from kdrtui.services.runbook.runner import RunEvent, RunResult
from kdrtui.services.runbook.store import Journal
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
    """A mirror-lag source (``make_app(lag_source_factory=...)``)."""


class ScriptedDivergenceSource(ScriptedSource[DivergenceSnapshot]):
    """A hot standby's divergence source (``make_app(divergence_source_factory=...)``)."""


AZURE_PLAN_TEXT = (
    PLAN_TEXT
    + """
[azure]
subscription_id = "00000000-0000-0000-0000-000000000000"
"""
)
"""The sample plan with an ``[azure]`` table: the Provisioning pane offers it."""


def azure_plan() -> Plan:
    """:func:`sample_plan` with an ``[azure]`` table."""
    return parse_plan(AZURE_PLAN_TEXT, "orders-dr.toml")


PROVISION_STEPS: tuple[tuple[str, str], ...] = (
    ("preflight", "Pre-flight: subscription, credential, passwords, names, address spaces"),
    ("resource-groups", "Resource groups"),
    ("storage", "Storage accounts and keys"),
    ("vnets", "Virtual networks and subnets"),
    ("peering", "VNet peering, both ways"),
    ("clusters", "HDInsight Kafka clusters (in parallel)"),
    ("edge-nodes", "Edge nodes (HDInsight applications)"),
    ("kafka-settings", "Kafka: advertise IP addresses, listen on all interfaces (Ambari)"),
    ("bootstrap", "Write bootstrap servers and edge node endpoints into the plan"),
    ("mirrormaker", "Deploy and start MirrorMaker"),
)
"""(key, title) of the provisioner's steps, as ``services.azure.provision`` lists them."""

PROVISION_RESOURCES: dict[str, list[tuple[str, list[tuple[str, str, float]]]]] = {
    "preflight": [("credential", [("done", "token for subscription 0000…", 1.0)])],
    "resource-groups": [
        ("resource group kdr-eastus", [("running", "creating in eastus", 0.0), ("done", "created", 1.0)]),
        ("resource group kdr-westus2", [("skipped", "exists", 1.0)]),
    ],
    "storage": [("storage account kdrprimary", [("done", "created, key read", 1.0)])],
    "vnets": [("VNet vnet-primary", [("done", "created", 1.0)])],
    "peering": [
        ("peering primary-to-dr", [("running", "Initiated", 0.5), ("done", "Connected", 1.0)]),
        ("peering dr-to-primary", [("done", "Connected", 1.0)]),
    ],
    "clusters": [
        (
            "cluster kdrlab-primary",
            [
                ("running", "clusterState Accepted", 0.1),
                ("running", "clusterState HdInsightConfiguration", 0.5),
                ("running", "clusterState HdInsightConfiguration", 0.6),
                ("done", "clusterState Running", 1.0),
            ],
        ),
        (
            "cluster kdrlab-dr",
            [
                ("running", "clusterState Accepted", 0.1),
                ("running", "clusterState HdInsightConfiguration", 0.5),
                ("done", "clusterState Running", 1.0),
            ],
        ),
    ],
    "edge-nodes": [("edge node edge-1", [("done", "applicationState Installed", 1.0)])],
    "kafka-settings": [("kafka kdrlab-dr", [("done", "listeners PLAINTEXT://0.0.0.0:9092", 1.0)])],
    "bootstrap": [("plan orders-dr.toml", [("done", "bootstrap_servers written", 1.0)])],
    "mirrormaker": [("edge-1/mm2", [("done", "running", 1.0)])],
}
"""Per step, the resources it works on and the (status, Azure state, fraction) each goes through."""

PROVISION_ERROR = (
    "cluster kdrlab-dr: ClusterCreationFailed: The cluster [kdrlab-dr] failed to deploy: "
    "InternalServerError (the [emulator] was told to fail it)"
)
"""A failed cluster LRO's ARM error, brackets and all (it must not be read as markup)."""


class FakeStep:
    """A step as the pane sees it."""

    def __init__(self, key: str, title: str) -> None:
        self.key = key
        self.title = title


class FakeProvisioner:
    """The Provisioning pane's factory: a scripted provisioner over a real journal file.

    The test sets what happens (``fail_at``: the step that fails once, ``hold_at``: the step that waits
    for ``release`` with its resources half-way) and reads what the pane asked for (``built``,
    ``runs``, ``aborts``, ``dry_runs``).
    """

    def __init__(self, journal_dir: Path) -> None:
        self.journal_path = journal_dir / "journal-provision.jsonl"
        self.fail_at: str | None = None
        self.hold_at: str | None = None
        self.release = asyncio.Event()
        self.dry_runs = 0
        self.runs: list[bool] = []
        """``resume`` of every run, in order."""
        self.aborts = 0
        self.built = 0
        self.refuse: Exception | None = None
        """Raised by the factory (an unavailable provisioner)."""

    def __call__(
        self, plan: Plan, plan_path: Path | None, on_event: Callable[[RunEvent], None], ask: Any
    ) -> FakeProvisioning:
        if self.refuse is not None:
            raise self.refuse
        self.built += 1
        return FakeProvisioning(self, plan, on_event)

    def interrupt_after(self, done: int, plan_name: str = "orders-dr") -> None:
        """Leave a journal as a provisioning killed while step ``done`` (0-based) ran."""
        journal = Journal(self.journal_path)
        journal.write("run-start", operation="provision", plan=plan_name, options={})
        for key, title in PROVISION_STEPS[:done]:
            journal.write("step-start", step=key, title=title)
            journal.write("step-end", step=key, status=StepStatus.DONE, summary="created", seconds=2.0)
        key, title = PROVISION_STEPS[done]
        journal.write("step-start", step=key, title=title)


class FakeProvisioning:
    """One scripted provisioner (``Provisioning``'s shape): dry run, run, resume, abort."""

    def __init__(self, owner: FakeProvisioner, plan: Plan, on_event: Callable[[RunEvent], None]) -> None:
        self.owner = owner
        self.plan = plan
        self.emit = on_event
        self.steps = [FakeStep(key, title) for key, title in PROVISION_STEPS]
        self.aborted = False

    def interrupted(self) -> Journal | None:
        journal = Journal(self.owner.journal_path)
        if not self.owner.journal_path.exists() or journal.state().complete:
            return None
        return journal

    def last_completed(self) -> Journal | None:
        journal = Journal(self.owner.journal_path)
        if not self.owner.journal_path.exists() or not journal.state().complete:
            return None
        return journal

    async def dry_run(self) -> list[tuple[FakeStep, list[str]]]:
        self.owner.dry_runs += 1
        await asyncio.sleep(0)
        plan: list[tuple[FakeStep, list[str]]] = []
        for step in self.steps:
            lines = []
            for name, states in PROVISION_RESOURCES[step.key]:
                lines.append(f"{name}: exists" if states[0][0] == "skipped" else f"create {name}")
            plan.append((step, lines))
        return plan

    def request_abort(self) -> None:
        self.owner.aborts += 1
        self.aborted = True

    async def run(self, *, resume: bool = False) -> RunResult:
        self.owner.runs.append(resume)
        journal = Journal(self.owner.journal_path)
        if not resume:
            self.owner.journal_path.unlink(missing_ok=True)
        previous = journal.state() if resume else RunState()
        journal.write("run-start", operation="provision", plan=self.plan.plan.name, options={})
        self.emit(RunEvent("run-start", text="resuming" if resume else "starting"))
        for index, step in enumerate(self.steps):
            await asyncio.sleep(0)
            if self.aborted:
                return self._end(journal, "aborted", step.key, "aborted by the operator before this step")
            record = previous.steps.get(step.key)
            if record is not None and record.status.finished:
                summary = f"verified (done in an earlier run): {record.summary}"
                journal.write("step-end", step=step.key, status=StepStatus.VERIFIED, summary=summary)
                self.emit(RunEvent("step-end", step.key, step.title, StepStatus.VERIFIED, summary))
                continue
            journal.write("step-start", step=step.key, title=step.title)
            self.emit(RunEvent("step-start", step.key, step.title, StepStatus.RUNNING))
            failing = step.key == self.owner.fail_at
            for name, states in PROVISION_RESOURCES[step.key]:
                for status, state, fraction in states:
                    if failing and name == "cluster kdrlab-dr" and status == "done":
                        status, state, fraction = "failed", "clusterState Error", 0.5
                    self._progress(step, name, status, state, fraction)
                    await asyncio.sleep(0)
                    if step.key == self.owner.hold_at and fraction == 0.5:
                        await self.owner.release.wait()
            seconds = 1.5 * (index + 1) + 60 * (step.key == "clusters")
            if failing:
                self.owner.fail_at = None  # it fails once; the retry goes through
                journal.write("step-end", step=step.key, status=StepStatus.FAILED, summary=PROVISION_ERROR)
                self.emit(
                    RunEvent(
                        "step-end", step.key, step.title, StepStatus.FAILED, PROVISION_ERROR, {}, seconds
                    )
                )
                return self._end(journal, "failed", step.key, PROVISION_ERROR)
            created = sum(1 for _, states in PROVISION_RESOURCES[step.key] if states[-1][0] == "done")
            summary = f"{created} created"
            journal.write("step-end", step=step.key, status=StepStatus.DONE, summary=summary, seconds=seconds)
            self.emit(RunEvent("step-end", step.key, step.title, StepStatus.DONE, summary, {}, seconds))
        return self._end(journal, "completed", None, "")

    def _progress(self, step: FakeStep, name: str, status: str, state: str, fraction: float) -> None:
        facts = {"resource": name, "status": status, "state": state, "fraction": fraction}
        text = f"{name}: {status}{f' ({state})' if state else ''}"
        self.emit(RunEvent("progress", step.key, step.title, StepStatus.RUNNING, text, facts))

    def _end(self, journal: Journal, outcome: str, step: str | None, error: str) -> RunResult:
        journal.write("run-end", outcome=outcome, step=step, error=error)
        self.emit(RunEvent("run-end", step or "", text=outcome if not error else f"{outcome}: {error}"))
        return RunResult(outcome, journal.state(), step if outcome != "completed" else None, error)
