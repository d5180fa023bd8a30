"""The provisioning facade the CLI and the console use: dry run, run, resume, abort.

Steps, in order (each looks first and changes only what is missing; see the README's "Provisioning"):
``preflight``, ``resource-groups``, ``storage``, ``vnets``, ``peering``, ``clusters``, ``edge-nodes``,
``kafka-settings``, ``bootstrap``, ``dns-zone``, ``dns-links``, ``dns-record`` (``[switch] method = "dns"``
only), ``mirrormaker``. Runs are journaled (operation ``provision``) in the
plan's :class:`~kdrtui.services.runbook.store.RunbookStore`, apart from failover journals.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from kdrtui.domain.plan import Plan, SwitchMethod
from kdrtui.domain.runbook import Step
from kdrtui.services.azure.bootstrap import Bootstrap
from kdrtui.services.azure.clients import AzureClients
from kdrtui.services.azure.clusters import Clusters, EdgeNodes
from kdrtui.services.azure.context import ProvisionContext
from kdrtui.services.azure.dns_steps import DnsLinks, DnsRecord, DnsZone
from kdrtui.services.azure.kafka_settings import KafkaSettings
from kdrtui.services.azure.mirror import StartMirrorMaker, StopMirrorMaker
from kdrtui.services.azure.network import Peering, ResourceGroups, StorageAccounts, VirtualNetworks
from kdrtui.services.azure.preflight import Preflight
from kdrtui.services.runbook.lock import PlanLock, PlanLocked
from kdrtui.services.runbook.runner import EventSink, Runner, RunResult
from kdrtui.services.runbook.store import Journal, RunbookStore

PROVISION = "provision"
DESTROY = "destroy"
AZURE_OPERATIONS = (PROVISION, DESTROY)


class ProvisionRefused(RuntimeError):
    """Provisioning cannot start (no [azure] table, no subscription, nothing to resume, a destroy to
    finish first, another operation holds the plan)."""


def provision_steps(plan: Plan | None = None) -> list[Step[ProvisionContext]]:
    """The provisioning runbook, in order; the DNS switch's steps only for a ``plan`` whose
    ``[switch] method`` is ``dns``."""
    dns = plan is not None and plan.switch.method == SwitchMethod.DNS
    steps: list[Step[ProvisionContext]] = [
        Preflight(),
        ResourceGroups(),
        StorageAccounts(),
        VirtualNetworks(),
        Peering(),
        Clusters(),
        EdgeNodes(),
        KafkaSettings(),
        Bootstrap(),
        *((DnsZone(), DnsLinks(), DnsRecord()) if dns else ()),
        StartMirrorMaker(),
    ]
    return steps


def interrupted_azure(store: RunbookStore) -> Journal | None:
    """The newest provision/destroy journal, when its run did not complete and got past its first step
    (a run stopped by its pre-flight changed nothing: there is nothing to resume)."""
    journal = store.incomplete(AZURE_OPERATIONS)
    if journal is None:
        return None
    first = {Preflight.key, StopMirrorMaker.key}
    return journal if any(key not in first for key in journal.state().steps) else None


class Provisioning:
    """Provisioning one plan.

    Args:
        plan: the plan (needs an ``[azure]`` table and at least one ``[clusters.X.hdinsight]``).
        plan_path: its file (the bootstrap step writes into it; the lab password file sits beside it).
        store: where journals go (default: the plan's store under the state dir).
        clients: the Azure clients (default: built from ``plan.azure``).
        on_event: receives every :class:`RunEvent` on the event loop's thread, including per-resource
            ``progress`` events whose facts are ``{"resource", "status", "state", "fraction"}``.
        confirm_host_key: asyncssh ``on_unknown_host`` decision for the edge nodes (None refuses).
        manager_factory: builds the MirrorMaker manager (tests).
        lock: the plan's lock when the caller holds it already (the CLI, from before its question);
            otherwise :meth:`run` takes it for the run.

    Raises:
        ProvisionRefused: no ``[azure]`` table, no subscription, no cluster to provision.
    """

    operation = PROVISION

    def __init__(
        self,
        plan: Plan,
        plan_path: Path,
        *,
        store: RunbookStore | None = None,
        clients: AzureClients | None = None,
        on_event: EventSink | None = None,
        confirm_host_key: Any = None,
        manager_factory: Any = None,
        lock: PlanLock | None = None,
    ) -> None:
        from kdrtui.services.azure.clients import AzureSetupError

        if plan.azure is None:
            raise ProvisionRefused("the plan has no [azure] table: add one to say where to provision")
        if not any(c.hdinsight is not None for c in plan.clusters.values()):
            raise ProvisionRefused(
                "no cluster has a [clusters.<alias>.hdinsight] table: nothing to provision"
            )
        try:
            self.clients = clients or AzureClients(plan)
        except AzureSetupError as exc:
            raise ProvisionRefused(str(exc)) from exc
        self.plan = plan
        self.plan_path = plan_path
        self.store = store or RunbookStore(plan.plan.name, plan_path)
        self.lock = lock if lock is not None else self.store.lock()
        self._on_event = on_event or (lambda _event: None)
        self.ctx = ProvisionContext(
            plan,
            plan_path,
            self.clients,
            emit=self._on_event,
            confirm_host_key=confirm_host_key,
            manager_factory=manager_factory,
        )
        self.steps: list[Step[ProvisionContext]] = self._steps()
        self.runner: Runner[ProvisionContext] | None = None
        self._abort = False

    def _steps(self) -> list[Step[ProvisionContext]]:
        return provision_steps(self.plan)

    def interrupted(self) -> Journal | None:
        """An unfinished journal of this operation, if any (to ``run(resume=True)``); a run in progress in
        another process (it holds the plan's lock) is not one."""
        if not self.lock.held and self.lock.holder() is not None:
            return None
        journal = interrupted_azure(self.store)
        if journal is None or journal.state().operation != self.operation:
            return None
        return journal

    def last_completed(self) -> Journal | None:
        """The newest provision or destroy journal, when it is this operation's and completed (a destroy
        after a provisioning means the plan is not provisioned any more)."""
        states = [(journal, journal.state()) for journal in self.store.journals(AZURE_OPERATIONS)]
        if not states:
            return None
        # Newest by when each run started (file names sort by the second only).
        newest, state = max(states, key=lambda pair: pair[1].confirmed_at or 0.0)
        return newest if state.complete and state.operation == self.operation else None

    async def dry_run(
        self, on_event: EventSink | None = None
    ) -> list[tuple[Step[ProvisionContext], list[str]]]:
        """What every step would do now (reads Azure, writes nothing, no journal); its events go to
        ``on_event`` when given, else to the facade's sink."""
        await asyncio.to_thread(self.clients.warm)
        self.ctx.loop = asyncio.get_running_loop()
        sink = self.ctx.emit = on_event or self._on_event
        runner = Runner(self.operation, self.plan.plan.name, self.steps, self.ctx, _NoJournal(), sink)
        try:
            return await runner.dry_run()
        finally:
            self.ctx.emit = self._on_event
            await asyncio.to_thread(self.clients.close)

    async def run(self, *, resume: bool = False) -> RunResult:
        """Run to the end, a failure or an abort, under the plan's lock; ``resume`` continues
        :meth:`interrupted`'s journal.

        Raises:
            ProvisionRefused: another operation holds the plan, ``resume`` with nothing to resume, or a
                fresh provisioning while one is unfinished (a destroy resumes an unfinished destroy by
                itself).
        """
        owned = not self.lock.held
        if owned:
            try:
                self.lock.acquire(self.operation)
            except PlanLocked as exc:
                raise ProvisionRefused(str(exc)) from exc
        try:
            return await self._run(resume)
        finally:
            if owned:
                self.lock.release()

    async def _run(self, resume: bool) -> RunResult:
        await asyncio.to_thread(self.clients.warm)
        pending = await asyncio.to_thread(self.interrupted)
        if resume and pending is None:
            raise ProvisionRefused(f"nothing to resume: no interrupted {self.operation} journal")
        if not resume and pending is not None:
            if self.operation != DESTROY:
                raise ProvisionRefused(
                    f"a {self.operation} was interrupted ({pending.path.name}): continue it with "
                    f"`kdrtui {self.operation} --resume`"
                )
            resume = True  # a destroy simply goes on where the last one stopped
        if resume and pending is not None:
            journal = pending
        else:
            journal = await asyncio.to_thread(self.store.new_journal, self.operation)
        self.ctx.loop = asyncio.get_running_loop()
        self.runner = Runner(
            self.operation, self.plan.plan.name, self.steps, self.ctx, journal, self._on_event
        )
        if self._abort:
            self.runner.request_abort()
        action = f"{self.operation}{' --resume' if resume else ''}"
        name, where = self.plan.plan.name, str(journal.path)
        await asyncio.to_thread(self.store.audit, action, name, "started", journal=where)
        outcome = "error"
        try:
            result = await self.runner.run(resume=resume)
            outcome = result.outcome
        finally:
            await asyncio.to_thread(self.clients.close)
            await asyncio.to_thread(self.store.audit, action, name, outcome, journal=where)
        return result

    def request_abort(self) -> None:
        """Stop before the next step (the current one finishes; resumable)."""
        self._abort = True
        if self.runner is not None:
            self.runner.request_abort()


class _NoJournal(Journal):
    """A dry run writes nothing."""

    def __init__(self) -> None:
        super().__init__(Path("/dev/null"))

    def write(self, event: str, **fields: Any) -> dict[str, Any]:
        return {}
