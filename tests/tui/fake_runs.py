"""Scripted journaled runs for the console's UI tests: a failover or failback operation (the Failover
pane's ``operation_factory``) and a provisioner (the Provisioning pane's ``provisioning_factory``).

Each keeps a real journal (in the test's state directory, or a given folder), so "interrupted", "resume"
and "retry" are what the services read; they emit scripted runner events and return scripted results.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path
from typing import Any

from kdrtui.domain.plan import Plan, parse_plan
from kdrtui.domain.runbook import RunState, StepStatus
from kdrtui.services.runbook.failover import FAILOVER, report_lines
from kdrtui.services.runbook.operate import OperationRefused, OperationResult, resumable
from kdrtui.services.runbook.runner import RunEvent, RunResult
from kdrtui.services.runbook.store import DrState, Journal, RunbookStore
from kdrtui.tui.screens.failover import ROLLBACK_STEPS, STEPS
from tests.tui.fakes import PLAN_TEXT

# -- failover and failback ----------------------------------------------------------------------------

REPORT: dict[str, Any] = {
    "operation": "failover",
    "from": "primary",
    "to": "dr",
    "rpo_records": 42,
    "rpo_seconds": 1.5,
    "rpo_measured": True,
    "rpo_topics": {"orders": 42},
    "rto_seconds": 12.345,
    "groups": {"billing": {"partitions": 6, "duplicates": 50, "how": "translated"}},
    "refused_groups": [],
}
"""Shaped like ``services.runbook.failover.build_report``."""

SUMMARIES = {
    "preflight": "GO",
    "fence": "min.insync.replicas 4 on 2 topic(s) of primary [orders, payments]",
    "drain": "lag 0 after 2.0 s",
    "stop-mirrormaker": "stopped on edge-1; 42 records left unmirrored",
    "translate-offsets": "billing: 6 partition(s) committed on dr",
    "switch-clients": "DR state: dr is active",
    "replication": "reverse replication is off in the plan ([failover] reverse_replication)",
    "report": "RPO 42 records, RTO 12.3 s",
}


class FakeOperations:
    """The operation factory: scripted forecasts and runs; counts what the pane asked for."""

    def __init__(self) -> None:
        self.go = True
        self.reasons = ""
        self.calls: list[tuple[str, bool]] = []
        self.forecasts = 0
        self.statuses: dict[str, StepStatus] = {"replication": StepStatus.SKIPPED}
        self.hold_at: str | None = None
        self.release = asyncio.Event()
        self.aborts = 0
        self.closed = 0
        self.rollbacks = 0
        self.failure = "[boom]"
        """What a step whose status is FAILED says after ``<key> failed`` (outside text: a Kafka error)."""

    def __call__(
        self, plan: Plan, plan_path: Path | None, operation: str, resume: bool, *, rollback: bool = False
    ) -> FakeOperation:
        self.calls.append((operation, resume))
        store = RunbookStore(plan.plan.name, plan_path)
        pending = resumable(store)
        if rollback:
            if pending is None:
                raise OperationRefused("nothing to roll back")
            self.rollbacks += 1
            op = FakeOperation(self, plan, store, store.new_journal("rollback"), operation, False)
            op.rolled = pending
            return op
        if resume:
            if pending is None:
                raise OperationRefused("nothing to resume: no interrupted failover or failback journal")
            journal = pending
        else:
            if pending is not None:
                raise OperationRefused(
                    f"a {pending.state().operation} was interrupted ({pending.path.name}): resume it "
                    f"with `kdrtui {pending.state().operation} --resume` before starting another"
                )
            journal = store.new_journal(operation)
        return FakeOperation(self, plan, store, journal, operation, resume)


class FakeOperation:
    """One scripted failover or failback over a real journal."""

    def __init__(
        self,
        owner: FakeOperations,
        plan: Plan,
        store: RunbookStore,
        journal: Journal,
        operation: str,
        resume: bool,
    ) -> None:
        self.owner = owner
        self.plan = plan
        self.store = store
        self.journal = journal
        self.operation = operation
        self.resume = resume
        primary, secondary = plan.primary_alias, plan.secondary_alias
        self.source, self.target = (primary, secondary) if operation == FAILOVER else (secondary, primary)
        self.aborted = False
        self.rolled: Journal | None = None
        """Set for a rollback: the interrupted run it undoes."""

    async def forecast(self) -> tuple[bool, list[str]]:
        self.owner.forecasts += 1
        await asyncio.sleep(0)
        lines = [
            f"{self.operation} {self.source} -> {self.target}",
            f"{self.target}: reachable",
            f"{self.source}: reachable",
            f"MirrorMaker {self.source}->{self.target} on edge-1/mm2: running",
            "not mirrored yet (RPO if forced now): 42 records, 1.5 s",
            "  orders: 42 records, 1.5 s",
            "  group billing on orders: checkpoint 3 s old, ~50 records re-delivered",
        ]
        lines.append("GO" if self.owner.go else f"NO-GO: {self.owner.reasons}")
        return self.owner.go, lines

    async def close(self) -> None:
        self.owner.closed += 1

    def abort(self) -> None:
        self.owner.aborts += 1
        self.aborted = True

    async def run(self, on_event: Callable[[RunEvent], None] | None = None) -> OperationResult:
        emit = on_event or (lambda event: None)
        if self.rolled is not None:
            emit(RunEvent("run-start", text="starting"))
            for key, title in ROLLBACK_STEPS:
                emit(RunEvent("step-start", key, title, StepStatus.RUNNING))
                await asyncio.sleep(0)
                emit(RunEvent("step-end", key, title, StepStatus.DONE, f"{key} done", {}, 0.1))
            self.rolled.write("run-end", outcome="rolled-back")
            return self._end(emit, "completed", None, "")
        previous = self.journal.state() if self.resume else RunState()
        self.journal.write("run-start", operation=self.operation, plan=self.plan.plan.name, options={})
        emit(RunEvent("run-start", text="resuming" if self.resume else "starting"))
        for index, (key, title) in enumerate(STEPS):
            await asyncio.sleep(0)
            if self.aborted:
                return self._end(emit, "aborted", key, "aborted by the operator before this step")
            record = previous.steps.get(key)
            if record is not None and record.status.finished:
                summary = f"verified (done in an earlier run): {record.summary}"
                self.journal.write("step-end", step=key, status=StepStatus.VERIFIED, summary=summary)
                emit(RunEvent("step-end", key, title, StepStatus.VERIFIED, summary))
                continue
            self.journal.write("step-start", step=key, title=title)
            emit(RunEvent("step-start", key, title, StepStatus.RUNNING))
            await asyncio.sleep(0)
            emit(RunEvent("progress", key, title, StepStatus.RUNNING, f"{key}: working [1/1]"))
            if key == "report":
                for line in report_lines(REPORT):
                    emit(RunEvent("progress", key, title, StepStatus.RUNNING, line))
            await asyncio.sleep(0)
            if key == self.owner.hold_at:
                await self.owner.release.wait()
            status = self.owner.statuses.get(key, StepStatus.DONE)
            summary = (
                SUMMARIES[key] if status is not StepStatus.FAILED else f"{key} failed {self.owner.failure}"
            )
            seconds = 0.5 * (index + 1)
            self.journal.write("step-end", step=key, status=status, summary=summary, seconds=seconds)
            emit(RunEvent("step-end", key, title, status, summary, {}, seconds))
            if status is StepStatus.FAILED:
                return self._end(emit, "failed", key, summary)
        self.store.save_state(DrState(active=self.target, operation=self.operation))
        return self._end(emit, "completed", None, "")

    def _end(
        self, emit: Callable[[RunEvent], None], outcome: str, step: str | None, error: str
    ) -> OperationResult:
        self.journal.write("run-end", outcome=outcome, step=step, error=error)
        emit(RunEvent("run-end", step or "", text=outcome if not error else f"{outcome}: {error}"))
        return OperationResult(
            outcome,
            journal=self.journal.path,
            state=self.journal.state(),
            report=dict(REPORT) if outcome == "completed" else {},
            error=error,
        )


# -- provisioning -------------------------------------------------------------------------------------

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
        self.error = PROVISION_ERROR
        """The ARM error of the step that fails."""

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
                error = self.owner.error
                journal.write("step-end", step=step.key, status=StepStatus.FAILED, summary=error)
                self.emit(RunEvent("step-end", step.key, step.title, StepStatus.FAILED, error, {}, seconds))
                return self._end(journal, "failed", step.key, error)
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
