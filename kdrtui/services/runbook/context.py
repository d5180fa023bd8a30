"""What a failover or failback works on: the plan, the two sides, MirrorMaker, the lag of one flow."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from kdrtui.domain.health import ClusterObservation
from kdrtui.domain.lag import LagSnapshot
from kdrtui.domain.mirrormaker import MmState
from kdrtui.domain.plan import MirrorFlow, Plan
from kdrtui.services.runbook.flows import only_flow
from kdrtui.services.runbook.runner import Facts
from kdrtui.services.runbook.store import DrState, RunbookStore

FAILOVER = "failover"
FAILBACK = "failback"


class LagReader:
    """Reads one flow's lag (a LagEngine over a one-flow plan), in a thread; fresh numbers are remembered
    in the plan's runbook directory (:mod:`~kdrtui.services.runbook.lag_memory`)."""

    def __init__(
        self,
        plan: Plan,
        flow: MirrorFlow,
        factory: Callable[[Plan], Any] | None = None,
        store: RunbookStore | None = None,
    ) -> None:
        self._plan = only_flow(plan, flow)
        self._factory = factory
        self._store = store
        self._engine: Any = None

    async def read(self) -> LagSnapshot:
        def refresh() -> LagSnapshot:
            if self._engine is None:
                if self._factory is not None:
                    self._engine = self._factory(self._plan)
                else:
                    from kdrtui.services.kafka.lag_engine import LagEngine

                    self._engine = LagEngine(self._plan, heartbeat_timeout_s=15.0)
            snapshot: LagSnapshot = self._engine.refresh()
            if self._store is not None:
                from kdrtui.services.runbook.lag_memory import remember

                remember(self._store, snapshot)
            return snapshot

        return await asyncio.to_thread(refresh)

    def close(self) -> None:
        if self._engine is not None:
            self._engine.close()
            self._engine = None


@dataclass
class DrContext:
    """What the steps of one failover or failback work on."""

    plan: Plan
    """The plan with the reverse flow added (see :func:`~kdrtui.services.runbook.flows.with_reverse`)."""
    store: RunbookStore
    operation: str
    source: str
    """The cluster clients leave."""
    target: str
    """The cluster clients move to."""
    stop_flow: MirrorFlow
    """The flow source -> target that is drained and stopped."""
    resume_flow: MirrorFlow
    """The flow started at the end (failover: target -> source; failback: the original forward flow)."""
    force: bool = False
    timeout: float = 5.0
    manager_factory: Callable[[Plan], Any] | None = None
    lag_factory: Callable[[Plan], Any] | None = None
    facts: Facts = field(default_factory=Facts)
    say: Callable[[str], None] = lambda _text: None
    """Set by the runner to the current step's progress line."""
    note: Callable[..., None] = lambda **_facts: None
    """Set by the runner: journals what the current step is about to change (``step-note``)."""
    run_id: str = ""
    """The journal's run id (the DR state names the run that switched clients)."""
    confirmed_at: float = field(default_factory=time.time)
    divergent: str = "deliver"
    """Failback: what happens to records on the old primary that never reached the DR cluster —
    ``deliver`` (MirrorMaker copies them late) or ``skip`` (exported, then skipped)."""
    actor: str = ""
    """Who started the run when it is not the person at the terminal: ``automation`` for ``kdrtui
    watch`` (audit, journal, report); empty for a person."""
    azure: Any = None
    """The plan's Azure clients (:class:`~kdrtui.services.azure.clients.AzureClients`), built by the NSG
    fence on first use (tests may inject them)."""
    _manager: Any = None
    _lag: LagReader | None = None
    _resume_lag: LagReader | None = None

    def bootstrap(self, alias: str) -> str:
        return self.plan.cluster(alias).bootstrap

    @property
    def manager(self) -> Any:
        if self._manager is None:
            if self.manager_factory is not None:
                self._manager = self.manager_factory(self.plan)
            else:
                from kdrtui.services.mirrormaker.manager import MirrorMakerManager

                self._manager = MirrorMakerManager(self.plan)
        return self._manager

    @property
    def lag(self) -> LagReader:
        if self._lag is None:
            self._lag = LagReader(self.plan, self.stop_flow, self.lag_factory, self.store)
        return self._lag

    @property
    def resume_lag(self) -> LagReader:
        """The lag of the flow started at the end (failback: what the old primary has that the DR
        cluster never got, while that flow's MirrorMaker is stopped)."""
        if self._resume_lag is None:
            self._resume_lag = LagReader(self.plan, self.resume_flow, self.lag_factory, self.store)
        return self._resume_lag

    def state(self) -> DrState:
        """The DR state now (raises :class:`~kdrtui.services.runbook.store.StateInvalid` on a bad file)."""
        return self.store.load_state(self.plan.primary_alias, self.plan.clusters)

    def save_state(self, state: DrState) -> None:
        """Journal the new DR state (``step-note`` with ``state``), then write ``state.json``: the journals
        always hold every state a run wrote, so ``kdrtui state rebuild`` can derive it from them."""
        self.note(state=state.to_dict())
        self.store.save_state(state)

    async def reachable(self, alias: str) -> str | None:
        """None when ``alias`` answers a metadata request, else why not."""
        seen = await self.observe(alias)
        return None if seen.ok else (seen.error or "no answer")

    async def observe(self, alias: str) -> ClusterObservation:
        """One probe of ``alias``: whether it answers, and its brokers and partitions' health (the brokers
        the plan expects applied)."""
        from kdrtui.domain.health import expect_from_plan
        from kdrtui.services.kafka.probe import KafkaClusterProbe

        def probe() -> ClusterObservation:
            client = KafkaClusterProbe(self.bootstrap(alias), timeout_s=self.timeout)
            try:
                seen = client.observe()
            finally:
                client.close()
            return expect_from_plan(seen, self.plan.cluster(alias))

        return await asyncio.to_thread(probe)

    async def covered_topics(self, alias: str, flow: MirrorFlow) -> list[str]:
        """The topics of ``alias`` that ``flow`` mirrors (when ``alias`` is its source).

        Raises:
            StepFailed: ``<alias>: <why>`` when the cluster does not answer (a secured cluster's reason) or
                its password cannot be read.
        """
        from confluent_kafka import KafkaException
        from confluent_kafka.admin import AdminClient

        from kdrtui.domain.runbook import StepFailed
        from kdrtui.services.kafka.config import client_config
        from kdrtui.services.kafka.failures import explained
        from kdrtui.services.kafka.offsets import error_text
        from kdrtui.services.kafka.security import SecurityError
        from kdrtui.services.kafka.topics import flow_mirrors

        def topics() -> list[str]:
            bootstrap = self.bootstrap(alias)
            try:
                admin = AdminClient(client_config(bootstrap))
            except SecurityError as exc:
                raise StepFailed(str(exc)) from None
            try:
                found = admin.list_topics(timeout=self.timeout)
            except KafkaException as exc:
                text = f"cannot list topics: {error_text(exc)}"
                raise StepFailed(explained(bootstrap, text, admin)) from None
            return sorted(t for t in found.topics if flow_mirrors(flow, t))

        return await asyncio.to_thread(topics)

    async def close(self) -> None:
        if self._lag is not None:
            await asyncio.to_thread(self._lag.close)
        if self._resume_lag is not None:
            await asyncio.to_thread(self._resume_lag.close)
        if self._manager is not None:
            await self._manager.close()
        if self.azure is not None:
            await asyncio.to_thread(self.azure.close)


def lag_of(snapshot: LagSnapshot) -> tuple[dict[str, list[float]], int, float, bool]:
    """Per topic [records, seconds]; total records; worst seconds; whether the numbers are stale."""
    (flow,) = snapshot.flows
    topics = {t.topic: [t.lag_records, round(t.lag_seconds, 1)] for t in flow.topics}
    return topics, flow.lag_records, round(flow.lag_seconds, 1), flow.stale_s is not None


async def mm_states(ctx: DrContext, flow: MirrorFlow) -> dict[str, str]:
    """``node/deployment`` -> state of the flow's MirrorMaker deployments (``unknown: why`` when unasked)."""
    try:
        deps = await ctx.manager.select(flow=flow.name)
    except Exception as exc:
        return {"?": f"unknown: {exc}"}
    states: dict[str, str] = {}
    for dep in deps:
        status = await ctx.manager.status(dep, with_drift=False)
        text = str(status.state)
        if status.state is MmState.UNKNOWN and status.error:
            text += f": {status.error}"
        states[f"{dep.node.name}/{dep.name}"] = text
    return states
