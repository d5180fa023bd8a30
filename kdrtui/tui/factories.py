"""What the console is built from: the factories of the services its panes drive, its clock and its
intervals, in one :class:`ConsoleServices` that the app's factory (``make_app``) fills (tests inject fakes).

Each pane depends on a small Protocol defined here (or, for provisioning, in
:mod:`kdrtui.tui.screens.provisioning_model`); the real implementations are imported the first time a
factory is called, never at start-up (the Kafka, SSH and Azure clients would slow the first paint).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from kdrtui.domain.divergence import DivergenceSnapshot
from kdrtui.domain.lag import LagSnapshot
from kdrtui.domain.plan import Plan
from kdrtui.services.kafka.probe import ClusterProbe
from kdrtui.tui.screens.provisioning_model import ProvisioningFactory, azure_provisioning_factory

if TYPE_CHECKING:
    from kdrtui.domain.plan import EdgeNode
    from kdrtui.domain.readiness import Finding
    from kdrtui.services.mirrormaker.manager import MirrorMakerManager
    from kdrtui.services.runbook.operate import OperationResult
    from kdrtui.services.runbook.runner import RunEvent
    from kdrtui.services.ssh import EdgeSession
    from kdrtui.services.timeline.store import TimelineStore


ProbeFactory = Callable[[str, str], ClusterProbe]
"""Builds the probe for (alias, bootstrap servers)."""


class SshQuestions(Protocol):
    """What building edge-node sessions needs of the console: the passphrases typed this session and the
    question of an unknown host key (the app answers both)."""

    @property
    def passphrases(self) -> dict[str, str]:
        """SSH key passphrases typed this session (key file -> passphrase)."""
        ...

    async def ask_host_key(self, host: str, port: int, key_type: str, fingerprint: str) -> bool:
        """Whether to trust an edge node's unknown SSH host key (call from a worker)."""
        ...


ManagerFactory = Callable[[SshQuestions, Plan], "MirrorMakerManager"]
"""Builds the MirrorMaker manager for the plan (tests inject theirs)."""


class LagSource(Protocol):
    """Where lag snapshots come from (the real one is ``services.kafka.lag_engine.LagEngine``)."""

    def refresh(self) -> LagSnapshot:
        """Read the clusters now and return a snapshot (blocking; called from a thread)."""
        ...

    def close(self) -> None:
        """Release clients."""
        ...


LagSourceFactory = Callable[[Plan], LagSource]
"""Builds the lag source for a plan (tests inject a scripted one)."""


class DivergenceSource(Protocol):
    """Where divergence snapshots come from (the real one is ``DivergenceEngine``)."""

    def refresh(self) -> DivergenceSnapshot:
        """Read both clusters now (blocking; called from a thread)."""
        ...

    def close(self) -> None:
        """Release clients."""
        ...


DivergenceSourceFactory = Callable[[Plan], DivergenceSource]
"""Builds the divergence source for a plan (tests inject a scripted one)."""


class RunbookOperation(Protocol):
    """What the Failover pane drives (the real one is ``services.runbook.operate.Operation``)."""

    operation: str

    @property
    def source(self) -> str: ...

    @property
    def target(self) -> str: ...

    async def forecast(self) -> tuple[bool, list[str]]:
        """(GO?, lines) of the pre-flight now; changes nothing."""
        ...

    async def run(self, on_event: Callable[[RunEvent], None] | None = None) -> OperationResult:
        """Run (or resume) to the end, a failure or an abort; closes its clients."""
        ...

    def abort(self) -> None:
        """Stop between steps."""
        ...

    async def close(self) -> None:
        """Release the clients of an operation that will not run."""
        ...


OperationFactory = Callable[..., RunbookOperation]
"""Builds the operation for (plan, plan path, ``failover``/``failback``, resume?) and ``rollback=True`` for
a rollback of the interrupted one; tests inject fakes."""


ReadinessCheck = Callable[[Plan, Path | None], "list[Finding]"]
"""Runs ``kdrtui check`` on the plan (blocking; called from a thread): its findings, worst first."""


def readiness_check(plan: Plan, plan_path: Path | None) -> list[Finding]:
    """The real readiness check (:func:`kdrtui.services.readiness.check`); imported on first use."""
    from kdrtui.services.readiness import check
    from kdrtui.services.runbook.operate import view_plan

    return check(plan, *view_plan(plan, plan_path)).findings


TimelineStoreFactory = Callable[[Plan, Path | None], "TimelineStore"]
"""Opens the plan's timeline store for the Timeline pane (blocking; called from its thread worker)."""


def timeline_store_factory(plan: Plan, plan_path: Path | None) -> TimelineStore:
    """The plan's real timeline store (:meth:`TimelineStore.for_plan`); imported on first use.

    Raises:
        TimelineUnavailable: it cannot be opened.
    """
    from kdrtui.services.timeline.store import TimelineStore

    return TimelineStore.for_plan(plan.plan.name, plan_path)


def kafka_probe_factory(alias: str, bootstrap: str) -> ClusterProbe:
    """The real probe: one AdminClient per cluster."""
    from kdrtui.services.kafka.probe import KafkaClusterProbe

    return KafkaClusterProbe(bootstrap)


def console_manager_factory(app: SshQuestions, plan: Plan) -> MirrorMakerManager:
    """The real manager; SSH questions (unknown host key) are asked in a modal."""
    from kdrtui.services.mirrormaker.manager import MirrorMakerManager
    from kdrtui.services.ssh import EdgeSession, SshTarget

    def factory(node: EdgeNode) -> EdgeSession:
        target = SshTarget.from_edge_node(node)
        passphrase = app.passphrases.get(str(target.key_file))
        return EdgeSession(target, on_unknown_host=app.ask_host_key, passphrase=passphrase)

    return MirrorMakerManager(plan, session_factory=factory)


def lag_engine_factory(plan: Plan) -> LagSource:
    """The real lag engine; imported only when the pane first polls."""
    from kdrtui.services.kafka.lag_engine import LagEngine

    return LagEngine(plan)  # type: ignore[no-any-return,unused-ignore]


def divergence_engine_factory(plan: Plan) -> DivergenceSource:
    """The real divergence engine; imported only when the pane first polls."""
    from kdrtui.services.kafka.divergence_engine import DivergenceEngine

    return DivergenceEngine(plan)


def runbook_operation_factory(
    plan: Plan, plan_path: Path | None, operation: str, resume: bool, *, rollback: bool = False
) -> RunbookOperation:
    """The real runbook operation (``rollback``: undo the interrupted ``operation`` instead)."""
    from kdrtui.services.runbook.operate import Operation

    return Operation(plan, plan_path, operation, resume=resume, rollback=rollback)


@dataclass(frozen=True)
class ConsoleServices:
    """Everything the console builds its clients with, and its clock and intervals.

    The defaults are the real ones; tests replace any of them through ``make_app``'s keyword arguments.
    """

    probe_factory: ProbeFactory = kafka_probe_factory
    """Builds the Overview's probe of one cluster."""
    manager_factory: ManagerFactory = console_manager_factory
    """Builds the MirrorMaker manager of the Edge pane."""
    lag_source_factory: LagSourceFactory = lag_engine_factory
    """Builds the Mirror lag pane's source."""
    divergence_source_factory: DivergenceSourceFactory = divergence_engine_factory
    """Builds the divergence source a hot standby's Mirror lag pane shows."""
    operation_factory: OperationFactory = runbook_operation_factory
    """Builds the Failover pane's runbook operation."""
    provisioning_factory: ProvisioningFactory = azure_provisioning_factory
    """Builds the Provisioning pane's provisioner (imported on first use)."""
    clock: Callable[[], float] = time.time
    """Wall-clock time source (injected so tests are deterministic)."""
    refresh_interval: float = 2.0
    """Seconds between two probes of a cluster."""
    lag_interval: float = 2.0
    """Seconds between two lag refreshes while the Mirror lag pane is shown."""
    alert_command: str | None = None
    """Shell command run on every flow or topic health change (None: only logged)."""
    readiness_check: ReadinessCheck | None = None
    """Runs the Overview's Readiness check (None: no Readiness card, as in tests that do not ask for it)."""
    readiness_interval: float = 60.0
    """Seconds between two readiness checks (each reads both clusters' topics, ACLs and checkpoints)."""
    timeline_store_factory: TimelineStoreFactory = timeline_store_factory
    """Opens the Timeline pane's store (tests open one in a temporary folder)."""
    timeline_interval: float = 5.0
    """Seconds between two reads of the timeline store while the Timeline pane is shown."""
    automation_interval: float = 5.0
    """Seconds between two reads of what ``kdrtui watch`` published while the Overview is shown."""
