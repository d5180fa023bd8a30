"""Destroy what provisioning made: MirrorMaker stopped (best effort), then edge nodes, clusters, peerings,
VNets, storage accounts and resource groups, each waited on, in that order.

Only what kdrtui created is deleted: a resource is kdrtui's when a provision journal of the plan records
it under ``created`` (see :class:`~kdrtui.services.azure.base.Ledger`), or when it carries the tag
``kdrtui-plan = <plan name>`` (a resource whose creation was cut off by a kill is found "existing" by
the resumed run, but its tag still says who made it). A resource group kdrtui created goes last, whole.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from kdrtui.domain.plan_edit import TomlValue
from kdrtui.domain.runbook import Outcome, Step, StepFailed
from kdrtui.domain.toml_lines import KeyPath, format_path
from kdrtui.domain.wizard_plan import edge_host
from kdrtui.services.azure import bodies
from kdrtui.services.azure.base import AzureStep, failure_text
from kdrtui.services.azure.bootstrap import write_values
from kdrtui.services.azure.clients import get_or_none
from kdrtui.services.azure.context import ProvisionContext
from kdrtui.services.azure.mirror import make_manager
from kdrtui.services.azure.provision import DESTROY, PROVISION, Provisioning
from kdrtui.services.azure.waiting import wait_poller
from kdrtui.services.runbook.store import RunbookStore

KINDS = ("edge-nodes", "clusters", "peering", "vnets", "storage", "resource-groups")


def made_by_kdrtui(store: RunbookStore) -> dict[str, list[list[str]]]:
    """Step key -> ids of what the plan's provision journals record as created (no repeats)."""
    made: dict[str, list[list[str]]] = {kind: [] for kind in KINDS}
    for journal in store.journals([PROVISION]):
        state = journal.state()
        for kind in KINDS:
            for ids in state.facts(kind).get("created") or []:
                if list(ids) not in made[kind]:
                    made[kind].append(list(ids))
    return made


STOP_TIMEOUT_S = 90
"""Longest wait for MirrorMaker to stop on one edge node before destroy goes on without it."""


def _problem_text(exc: BaseException) -> str:
    """One line for why MirrorMaker could not be stopped (a timeout has no text of its own)."""
    if isinstance(exc, TimeoutError):
        return f"timed out after {STOP_TIMEOUT_S} s"
    lines = str(exc).strip().splitlines()
    return lines[0] if lines else type(exc).__name__


class StopMirrorMaker(AzureStep):
    key = "stop-mirrormaker"
    title = "Stop MirrorMaker (best effort)"

    async def describe(self, ctx: ProvisionContext) -> list[str]:
        return ["stop MirrorMaker on the edge nodes, if they answer"] if ctx.plan.flows else ["no flows"]

    async def run(self, ctx: ProvisionContext) -> Outcome:
        from kdrtui.services.mirrormaker.manager import MirrorMakerError
        from kdrtui.services.ssh import SshError

        if not ctx.plan.flows:
            return Outcome.skipped("no flows in the plan")
        unreachable = (MirrorMakerError, SshError, OSError, TimeoutError)
        stopped: list[str] = []
        problems: list[str] = []
        manager = make_manager(ctx, ctx.plan)
        try:
            for dep in await manager.select():
                resource = f"MirrorMaker {dep.name} on {dep.node.name}"
                try:
                    await asyncio.wait_for(manager.stop(dep, ctx.say), timeout=STOP_TIMEOUT_S)
                    stopped.append(resource)
                    ctx.progress(self, resource, "done", "stopped")
                except unreachable as exc:  # best effort: the edge node may be gone already
                    problems.append(f"{resource}: {_problem_text(exc)}")
                    ctx.progress(self, resource, "failed", _problem_text(exc))
        except unreachable as exc:  # no edge node answers: nothing to stop from here
            problems.append(_problem_text(exc))
        finally:
            await manager.close()
        summary = f"stopped {len(stopped)}" + (f"; could not stop: {'; '.join(problems)}" if problems else "")
        return Outcome.done(summary, stopped=stopped, problems=problems)


class DeleteKind(AzureStep):
    """Delete every resource of one kind that kdrtui made."""

    def __init__(self, key: str, title: str, made: list[list[str]], parallel: bool = False) -> None:
        self.key = key
        self.title = title
        self.made = made
        self.parallel = parallel

    def _ops(self, ctx: ProvisionContext, ids: list[str]) -> tuple[str, Callable[[], Any], Callable[[], Any]]:
        """(label, get, delete) of one resource."""
        hd, net, st, rg = (
            ctx.clients.hdinsight,
            ctx.clients.network,
            ctx.clients.storage,
            ctx.clients.resource,
        )
        if self.key == "edge-nodes":
            g, c, a = ids
            return (
                f"edge node {a}",
                lambda: get_or_none(hd.applications.get, g, c, a),
                lambda: hd.applications.begin_delete(g, c, a),
            )
        if self.key == "clusters":
            g, c = ids
            return (
                f"cluster {c}",
                lambda: get_or_none(hd.clusters.get, g, c),
                lambda: hd.clusters.begin_delete(g, c),
            )
        if self.key == "peering":
            g, v, p = ids
            return (
                f"peering {p}",
                lambda: get_or_none(net.virtual_network_peerings.get, g, v, p),
                lambda: net.virtual_network_peerings.begin_delete(g, v, p),
            )
        if self.key == "vnets":
            g, v = ids
            return (
                f"VNet {v}",
                lambda: get_or_none(net.virtual_networks.get, g, v),
                lambda: net.virtual_networks.begin_delete(g, v),
            )
        if self.key == "storage":
            g, a = ids
            return (
                f"storage account {a}",
                lambda: get_or_none(st.storage_accounts.get_properties, g, a),
                lambda: st.storage_accounts.delete(g, a),
            )
        (g,) = ids
        return (
            f"resource group {g}",
            lambda: {"exists": True} if rg.resource_groups.check_existence(g) else None,
            lambda: rg.resource_groups.begin_delete(g),
        )

    async def targets(self, ctx: ProvisionContext) -> list[list[str]]:
        """What to delete: the journals' record, and (clusters) those tagged with this plan's name."""
        targets = list(self.made)
        if self.key != "clusters":
            return targets
        for _alias, cluster in ctx.hdinsight_clusters():
            assert cluster.hdinsight is not None and cluster.resource_group is not None
            ids = [cluster.resource_group, cluster.hdinsight.name]
            if ids in targets:
                continue
            body = await self.look(ctx, f"cluster {ids[1]}", ctx.clients.hdinsight.clusters.get, *ids)
            if body and (body.get("tags") or {}).get(bodies.PLAN_TAG) == ctx.plan.plan.name:
                targets.append(ids)
        return targets

    async def describe(self, ctx: ProvisionContext) -> list[str]:
        lines = []
        for ids in await self.targets(ctx):
            label, get, _delete = self._ops(ctx, ids)
            found = await self.arm(ctx, label, get)
            lines.append(f"delete {label}" if found is not None else f"{label}: already gone")
        return lines or ["nothing kdrtui created"]

    async def run(self, ctx: ProvisionContext) -> Outcome:
        async def one(ids: list[str]) -> bool:
            label, get, delete = self._ops(ctx, ids)
            if await self.arm(ctx, label, get) is None:
                ctx.progress(self, label, "skipped", "already gone")
                return False
            ctx.progress(self, label, "running", "deleting")
            poller = await self.arm(ctx, label, delete)
            if poller is not None and hasattr(poller, "done"):
                await wait_poller(ctx, self, label, poller)
            ctx.progress(self, label, "done", "deleted")
            return True

        targets = await self.targets(ctx)
        results: list[bool | BaseException]
        if self.parallel:
            results = list(await asyncio.gather(*(one(ids) for ids in targets), return_exceptions=True))
        else:
            results = [await one(ids) for ids in targets]
        deleted = [ids for ids, gone in zip(targets, results, strict=True) if gone is True]
        failures = [failure_text(result) for result in results if isinstance(result, BaseException)]
        if failures:
            raise StepFailed("; ".join(failures), deleted=deleted)
        if not deleted:
            return Outcome.skipped("nothing to delete", deleted=[])
        return Outcome.done(f"deleted {len(deleted)}", deleted=deleted)


class ForgetEndpoints(AzureStep):
    """Take out of the plan file what provisioning wrote into it, for the clusters and edge nodes that are
    gone: each cluster's ``bootstrap_servers`` (empty again) and each edge node's SSH endpoint (back to
    ``<node>.<cluster>-ssh.azurehdinsight.net:22``, where HDInsight puts it)."""

    key = "plan-file"
    title = "Clear the deleted endpoints from the plan file"

    async def _edits(self, ctx: ProvisionContext) -> dict[KeyPath, TomlValue]:
        edits: dict[KeyPath, TomlValue] = {}
        gone: set[str] = set()
        for alias, cluster in ctx.hdinsight_clusters():
            assert cluster.hdinsight is not None
            name = cluster.hdinsight.name
            api = ctx.clients.hdinsight.clusters
            if await self.look(ctx, f"cluster {name}", api.get, cluster.resource_group, name) is not None:
                continue
            gone.add(alias)
            if cluster.bootstrap_servers:
                edits[("clusters", alias, "bootstrap_servers")] = []
        for index, node in enumerate(ctx.plan.edge_nodes):
            hdi = ctx.plan.clusters[node.cluster].hdinsight if node.cluster in ctx.plan.clusters else None
            if node.cluster not in gone or hdi is None:
                continue
            host = edge_host(node.name, hdi.name)
            if (node.host, node.port) != (host, 22):
                edits[("edge_nodes", index, "host")] = host
                edits[("edge_nodes", index, "port")] = 22
        return edits

    async def describe(self, ctx: ProvisionContext) -> list[str]:
        return [f"clear {format_path(key)} in {ctx.plan_path.name}" for key in await self._edits(ctx)] or [
            "nothing to clear (the clusters still exist, or their endpoints are not in the file)"
        ]

    async def run(self, ctx: ProvisionContext) -> Outcome:
        edits = await self._edits(ctx)
        if not edits or not await ctx.call(write_values, ctx, edits):
            return Outcome.skipped("nothing to clear in the plan file")
        cleared = sorted({format_path(key) for key in edits})
        return Outcome.done(f"cleared {', '.join(cleared)} in {ctx.plan_path.name}", cleared=cleared)


class Destroy(Provisioning):
    """Destroying what provisioning made (same interface and events as :class:`Provisioning`)."""

    operation = DESTROY

    def _steps(self) -> list[Step[ProvisionContext]]:
        made = made_by_kdrtui(self.store)
        return [
            StopMirrorMaker(),
            DeleteKind("edge-nodes", "Delete edge nodes", made["edge-nodes"]),
            DeleteKind("clusters", "Delete clusters (in parallel)", made["clusters"], parallel=True),
            DeleteKind("peering", "Delete VNet peerings", made["peering"]),
            DeleteKind("vnets", "Delete VNets", made["vnets"]),
            DeleteKind("storage", "Delete storage accounts", made["storage"]),
            DeleteKind("resource-groups", "Delete resource groups kdrtui created", made["resource-groups"]),
            ForgetEndpoints(),
        ]
