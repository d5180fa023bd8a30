"""Destroy what provisioning made: MirrorMaker stopped (best effort), then the DNS switch's record, zone
links and zone, edge nodes, clusters, peerings, VNets, storage accounts and resource groups, each waited
on, in that order.

Only what kdrtui created is deleted: a resource is kdrtui's when a provision journal of the plan records
it under ``created`` (see :class:`~kdrtui.services.azure.base.Ledger`), or when it carries the tag
``kdrtui-plan = <plan name>`` (a resource whose creation was cut off by a kill is found "existing" by
the resumed run, but its tag still says who made it). A resource group kdrtui created goes last, whole.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from kdrtui.domain.plan import SwitchMethod
from kdrtui.domain.plan_edit import TomlValue
from kdrtui.domain.runbook import Outcome, Step, StepFailed
from kdrtui.domain.toml_lines import KeyPath, format_path
from kdrtui.domain.wizard_plan import edge_host
from kdrtui.services.azure import bodies
from kdrtui.services.azure.base import AzureStep, failure_text
from kdrtui.services.azure.bootstrap import write_values
from kdrtui.services.azure.clients import get_or_none
from kdrtui.services.azure.clusters import Clusters, EdgeNodes
from kdrtui.services.azure.context import ProvisionContext
from kdrtui.services.azure.dns_steps import DnsLinks, DnsRecord, DnsZone
from kdrtui.services.azure.mirror import StopMirrorMaker
from kdrtui.services.azure.network import Peering, ResourceGroups, StorageAccounts, VirtualNetworks
from kdrtui.services.azure.provision import DESTROY, PROVISION, Provisioning
from kdrtui.services.azure.waiting import wait_poller
from kdrtui.services.runbook.store import RunbookStore


@dataclass(frozen=True)
class Deletable:
    """How destroy finds and deletes one kind of resource: ``ctx.clients.<client>.<operations>``'s ``get``
    (called with the ids its provisioning step recorded) and ``delete``."""

    noun: str
    client: str
    operations: str
    get: str
    delete: str
    title: str
    parallel: bool = False


DELETABLE: dict[str, Deletable] = {
    # The record and the links go before the zone (Azure refuses to delete a zone that has links).
    DnsRecord.key: Deletable(
        "DNS record", "private_dns", "record_sets", "get", "delete", "Delete the DNS record"
    ),
    DnsLinks.key: Deletable(
        "DNS zone link",
        "private_dns",
        "virtual_network_links",
        "get",
        "begin_delete",
        "Delete the DNS zone links",
    ),
    DnsZone.key: Deletable(
        "Private DNS zone",
        "private_dns",
        "private_zones",
        "get",
        "begin_delete",
        "Delete the Private DNS zone",
    ),
    EdgeNodes.key: Deletable(
        "edge node", "hdinsight", "applications", "get", "begin_delete", "Delete edge nodes"
    ),
    Clusters.key: Deletable(
        "cluster", "hdinsight", "clusters", "get", "begin_delete", "Delete clusters (in parallel)", True
    ),
    Peering.key: Deletable(
        "peering", "network", "virtual_network_peerings", "get", "begin_delete", "Delete VNet peerings"
    ),
    VirtualNetworks.key: Deletable(
        "VNet", "network", "virtual_networks", "get", "begin_delete", "Delete VNets"
    ),
    StorageAccounts.key: Deletable(
        "storage account",
        "storage",
        "storage_accounts",
        "get_properties",
        "delete",
        "Delete storage accounts",
    ),
    # check_existence answers a bool, not a body: the one kind whose "get" is read differently.
    ResourceGroups.key: Deletable(
        "resource group",
        "resource",
        "resource_groups",
        "check_existence",
        "begin_delete",
        "Delete resource groups kdrtui created",
    ),
}
"""Provisioning step key -> how to delete what it created, in the order destroy deletes them."""

KINDS = tuple(DELETABLE)
DNS_KEYS = (DnsRecord.key, DnsLinks.key, DnsZone.key)
"""The DNS switch's kinds: shown in a destroy only when the plan uses it or kdrtui made one."""


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


class DeleteKind(AzureStep):
    """Delete every resource of one kind that kdrtui made."""

    def __init__(self, key: str, title: str, made: list[list[str]], parallel: bool = False) -> None:
        self.key = key
        self.title = title
        self.made = made
        self.parallel = parallel

    def _ops(self, ctx: ProvisionContext, ids: list[str]) -> tuple[str, Callable[[], Any], Callable[[], Any]]:
        """(label, get, delete) of one resource."""
        kind = DELETABLE[self.key]
        api = getattr(getattr(ctx.clients, kind.client), kind.operations)
        get_call, delete_call = getattr(api, kind.get), getattr(api, kind.delete)

        def get() -> Any:
            if self.key == ResourceGroups.key:
                return {"exists": True} if get_call(*ids) else None
            return get_or_none(get_call, *ids)

        return f"{kind.noun} {ids[-1]}", get, lambda: delete_call(*ids)

    async def targets(self, ctx: ProvisionContext) -> list[list[str]]:
        """What to delete: the journals' record, and (clusters) those tagged with this plan's name."""
        targets = list(self.made)
        if self.key != Clusters.key:
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
            *(
                DeleteKind(key, kind.title, made[key], kind.parallel)
                for key, kind in DELETABLE.items()
                if key not in DNS_KEYS or made[key] or self.plan.switch.method == SwitchMethod.DNS
            ),
            ForgetEndpoints(),
        ]
