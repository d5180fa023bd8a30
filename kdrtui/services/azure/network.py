"""Resource groups, storage accounts (and their keys), VNets with their subnet, and peering both ways."""

from __future__ import annotations

import asyncio
from typing import Any

from kdrtui.domain.plan import Cluster
from kdrtui.domain.runbook import Outcome, StepFailed
from kdrtui.services.azure import bodies
from kdrtui.services.azure.base import AzureStep, Ledger, Target, failure_text
from kdrtui.services.azure.clients import get_or_none
from kdrtui.services.azure.context import ProvisionContext
from kdrtui.services.azure.waiting import (
    provisioning_state,
    settled_state,
    wait_poller,
    wait_until_settled,
)


def resource_groups(ctx: ProvisionContext) -> list[tuple[str, str]]:
    """(resource group, region) of every provisioned cluster, without repeats, in plan order."""
    seen: dict[str, str] = {}
    for _alias, cluster in ctx.hdinsight_clusters():
        assert cluster.resource_group is not None
        seen.setdefault(cluster.resource_group, cluster.region)
    return list(seen.items())


def vnets(ctx: ProvisionContext) -> list[Cluster]:
    """One cluster per distinct (resource group, VNet), in plan order."""
    seen: dict[tuple[str | None, str | None], Cluster] = {}
    for _alias, cluster in ctx.hdinsight_clusters():
        seen.setdefault((cluster.resource_group, cluster.vnet_name), cluster)
    return list(seen.values())


def peerings(ctx: ProvisionContext) -> list[tuple[Cluster, Cluster]]:
    """(local, remote) for both directions of every pair of distinct VNets."""
    nets = vnets(ctx)
    pairs = []
    for i, a in enumerate(nets):
        for b in nets[i + 1 :]:
            pairs += [(a, b), (b, a)]
    return pairs


class ResourceGroups(AzureStep):
    key = "resource-groups"
    title = "Resource groups"

    async def _exists(self, ctx: ProvisionContext, group: str) -> bool:
        groups = ctx.clients.resource.resource_groups
        return bool(await self.arm(ctx, f"resource group {group}", groups.check_existence, group))

    async def describe(self, ctx: ProvisionContext) -> list[str]:
        lines = []
        for group, region in resource_groups(ctx):
            exists = await self._exists(ctx, group)
            lines.append(
                f"resource group {group}: exists" if exists else f"create resource group {group} in {region}"
            )
        return lines

    async def run(self, ctx: ProvisionContext) -> Outcome:
        ledger = Ledger()
        for group, region in resource_groups(ctx):
            resource = f"resource group {group}"
            exists = await self._exists(ctx, group)
            if not exists:
                ctx.progress(self, resource, "running", f"creating in {region}")
                body = bodies.resource_group_body(region, ctx.plan.plan.name)
                await self.arm(
                    ctx, resource, ctx.clients.resource.resource_groups.create_or_update, group, body
                )
            ledger.record(ctx, self, resource, not exists, group)
        return ledger.outcome("resource group(s)")

    async def verify(self, ctx: ProvisionContext, facts: dict[str, Any]) -> str | None:
        for group, _region in resource_groups(ctx):
            if not await self._exists(ctx, group):
                return f"resource group {group} is gone"
        return None


class StorageAccounts(AzureStep):
    key = "storage"
    title = "Storage accounts and keys"

    def _targets(self, ctx: ProvisionContext) -> list[tuple[Cluster, str, str]]:
        """(cluster, resource group, storage account) of every provisioned cluster."""
        targets = []
        for _alias, cluster in ctx.hdinsight_clusters():
            assert cluster.hdinsight is not None and cluster.resource_group is not None
            targets.append((cluster, cluster.resource_group, cluster.hdinsight.storage_account))
        return targets

    def _target(self, ctx: ProvisionContext, group: str, account: str) -> Target:
        return (
            f"storage account {account}",
            ctx.clients.storage.storage_accounts.get_properties,
            (group, account),
        )

    async def describe(self, ctx: ProvisionContext) -> list[str]:
        lines = []
        for cluster, group, account in self._targets(ctx):
            found = await self._get(ctx, group, account)
            lines.append(
                f"storage account {account}: exists"
                if found is not None
                else f"create storage account {account} (StorageV2, {bodies.STORAGE_SKU}) in {cluster.region}"
            )
        return lines

    async def _get(self, ctx: ProvisionContext, group: str, account: str) -> dict[str, Any] | None:
        label, call, args = self._target(ctx, group, account)
        return await self.look(ctx, label, call, *args)

    async def run(self, ctx: ProvisionContext) -> Outcome:
        ledger = Ledger()
        accounts = ctx.clients.storage.storage_accounts
        for cluster, group, account in self._targets(ctx):
            resource = f"storage account {account}"
            found = await self._get(ctx, group, account)
            if found is None:
                ctx.progress(self, resource, "running", "creating")
                body = bodies.storage_body(cluster.region, ctx.plan.plan.name)
                poller = await self.arm(ctx, resource, accounts.begin_create, group, account, body)
                await wait_poller(ctx, self, resource, poller)
            elif provisioning_state(found) != "Succeeded":

                def get(g: str = group, a: str = account) -> dict[str, Any] | None:
                    return get_or_none(accounts.get_properties, g, a)

                now = await wait_until_settled(
                    ctx,
                    self,
                    resource,
                    get,
                    lambda b: settled_state(provisioning_state(b)),
                    provisioning_state,
                )
                if provisioning_state(now) != "Succeeded":
                    raise StepFailed(f"{resource} is {provisioning_state(now)}")
            await self.arm(ctx, resource, ctx.storage_key, group, account)
            state = "created, key read" if found is None else "exists, key read"
            ledger.record(ctx, self, resource, found is None, group, account, state=state)
        return ledger.outcome("storage account(s)", "; keys held in memory only")

    async def verify(self, ctx: ProvisionContext, facts: dict[str, Any]) -> str | None:
        return await self.first_gone(ctx, (self._target(ctx, g, a) for _c, g, a in self._targets(ctx)))


class VirtualNetworks(AzureStep):
    key = "vnets"
    title = "Virtual networks and subnets"

    def _target(self, ctx: ProvisionContext, cluster: Cluster) -> Target:
        get = ctx.clients.network.virtual_networks.get
        return f"VNet {cluster.vnet_name}", get, (cluster.resource_group, cluster.vnet_name)

    async def describe(self, ctx: ProvisionContext) -> list[str]:
        lines = []
        for cluster in vnets(ctx):
            assert cluster.resource_group is not None
            label, call, args = self._target(ctx, cluster)
            found = await self.look(ctx, label, call, *args)
            if found is None:
                lines.append(
                    f"create VNet {cluster.vnet_name} {cluster.vnet_cidr} "
                    f"with subnet {bodies.SUBNET_NAME} {cluster.subnet_cidr}"
                )
            else:
                problem = _vnet_problem(found, cluster)
                lines.append(f"VNet {cluster.vnet_name}: exists" + (f", but {problem}" if problem else ""))
        return lines

    async def run(self, ctx: ProvisionContext) -> Outcome:
        ledger = Ledger()
        nets = ctx.clients.network.virtual_networks
        for cluster in vnets(ctx):
            group, name = cluster.resource_group, cluster.vnet_name
            assert group is not None and name is not None
            resource = f"VNet {name}"
            found = await self.look(ctx, resource, nets.get, group, name)
            if found is None:
                ctx.progress(self, resource, "running", f"creating {cluster.vnet_cidr}")
                body = bodies.vnet_body(cluster, ctx.plan.plan.name)
                poller = await self.arm(ctx, resource, nets.begin_create_or_update, group, name, body)
                await wait_poller(ctx, self, resource, poller)
            elif problem := _vnet_problem(found, cluster):
                raise StepFailed(f"{resource} exists but {problem}; kdrtui does not change an existing VNet")
            ledger.record(ctx, self, resource, found is None, group, name)
        return ledger.outcome("VNet(s)")

    async def verify(self, ctx: ProvisionContext, facts: dict[str, Any]) -> str | None:
        return await self.first_gone(ctx, (self._target(ctx, cluster) for cluster in vnets(ctx)))


def _vnet_problem(body: dict[str, Any], cluster: Cluster) -> str | None:
    props = body.get("properties") or {}
    prefixes = (props.get("addressSpace") or {}).get("addressPrefixes") or []
    if cluster.vnet_cidr not in prefixes:
        return f"its address space is {', '.join(prefixes) or 'empty'}, not {cluster.vnet_cidr}"
    subnets = {
        s.get("name"): (s.get("properties") or {}).get("addressPrefix") for s in props.get("subnets") or []
    }
    if subnets.get(bodies.SUBNET_NAME) != cluster.subnet_cidr:
        return f"it has no subnet {bodies.SUBNET_NAME} {cluster.subnet_cidr}"
    return None


def _peering_state(body: dict[str, Any]) -> str:
    return str((body.get("properties") or {}).get("peeringState") or "")


class Peering(AzureStep):
    key = "peering"
    title = "VNet peering, both ways"

    def _targets(self, ctx: ProvisionContext) -> list[tuple[Cluster, Cluster, str, Target]]:
        """(local, remote, peering name, its lookup) for both directions of every pair of VNets."""
        targets = []
        for local, remote in peerings(ctx):
            name = bodies.peering_name(str(local.vnet_name), str(remote.vnet_name))
            get = ctx.clients.network.virtual_network_peerings.get
            targets.append(
                (local, remote, name, (f"peering {name}", get, (local.resource_group, local.vnet_name, name)))
            )
        return targets

    async def describe(self, ctx: ProvisionContext) -> list[str]:
        lines = []
        for _local, _remote, name, (label, call, args) in self._targets(ctx):
            found = await self.look(ctx, label, call, *args)
            lines.append(f"peering {name}: {_peering_state(found)}" if found else f"create peering {name}")
        return lines or ["one VNet only: nothing to peer"]

    async def run(self, ctx: ProvisionContext) -> Outcome:
        ledger = Ledger()
        api = ctx.clients.network.virtual_network_peerings
        made: list[tuple[Cluster, str]] = []
        for local, remote, name, (resource, call, args) in self._targets(ctx):
            found = await self.look(ctx, resource, call, *args)
            if found is None:
                ctx.progress(self, resource, "running", "creating")
                remote_id = bodies.vnet_id(
                    ctx.subscription, str(remote.resource_group), str(remote.vnet_name)
                )
                body = bodies.peering_body(remote_id)
                poller = await self.arm(ctx, resource, api.begin_create_or_update, *args, body)
                await wait_poller(ctx, self, resource, poller)
            ledger.add(found is None, str(local.resource_group), str(local.vnet_name), name)
            made.append((local, name))

        async def connected(local: Cluster, name: str) -> None:
            await wait_until_settled(
                ctx,
                self,
                f"peering {name}",
                lambda: get_or_none(api.get, local.resource_group, local.vnet_name, name),
                lambda b: _peering_state(b) == "Connected",
                _peering_state,
                lambda b: 1.0 if _peering_state(b) == "Connected" else 0.5,
            )
            ctx.progress(self, f"peering {name}", "done", "Connected")

        results = await asyncio.gather(
            *(connected(local, name) for local, name in made), return_exceptions=True
        )
        failures = [failure_text(result) for result in results if isinstance(result, BaseException)]
        if failures:
            raise StepFailed("; ".join(failures), **ledger.facts())
        if not made:
            return Outcome.skipped("one VNet only: nothing to peer", **ledger.facts())
        return ledger.outcome("peering(s)", "; all Connected")

    async def verify(self, ctx: ProvisionContext, facts: dict[str, Any]) -> str | None:
        targets = (target for _local, _remote, _name, target in self._targets(ctx))
        return await self.first_gone(ctx, targets, _peering_state, "Connected")
