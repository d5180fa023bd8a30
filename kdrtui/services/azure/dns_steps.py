"""Provisioning the DNS client switch (``[switch] method = "dns"``): the Private DNS zone, its links to the
clusters' VNets, and the record naming the active cluster. Each step is skipped for other methods.

Three steps, because destroy deletes by step (the record, then the links, then the zone) and each must
record what it created: a zone that was there already is not kdrtui's to delete.
"""

from __future__ import annotations

from typing import Any

from kdrtui.domain.plan import SwitchMethod
from kdrtui.domain.runbook import Outcome, StepFailed
from kdrtui.services.azure import private_dns
from kdrtui.services.azure.base import AzureStep, Ledger, Target
from kdrtui.services.azure.context import ProvisionContext
from kdrtui.services.azure.waiting import wait_poller

NOT_DNS = 'switch.method is not "dns": no Private DNS'


def _dns(ctx: ProvisionContext) -> bool:
    return ctx.plan.switch.method == SwitchMethod.DNS


def _names(ctx: ProvisionContext) -> tuple[str, str]:
    try:
        return private_dns.zone_group(ctx.plan), private_dns.zone_name(ctx.plan)
    except private_dns.DnsSwitchError as exc:
        raise StepFailed(str(exc)) from exc


def active_alias(ctx: ProvisionContext) -> str:
    """The cluster clients use now: the DR state's active cluster (the primary before any failover)."""
    from kdrtui.services.runbook.store import RunbookStore, StateInvalid

    store = RunbookStore(ctx.plan.plan.name, ctx.plan_path)
    try:
        return store.load_state(ctx.plan.primary_alias, ctx.plan.clusters).active
    except StateInvalid as exc:
        raise StepFailed(f"{exc}: {exc.repair}") from exc


class DnsZone(AzureStep):
    key = "dns-zone"
    title = "Private DNS zone (client switch)"

    def _target(self, ctx: ProvisionContext) -> Target:
        group, zone = _names(ctx)
        return f"Private DNS zone {zone}", ctx.clients.private_dns.private_zones.get, (group, zone)

    async def describe(self, ctx: ProvisionContext) -> list[str]:
        if not _dns(ctx):
            return [NOT_DNS]
        label, call, args = self._target(ctx)
        found = await self.look(ctx, label, call, *args)
        return [f"{label}: exists" if found else f"create {label} (global) in resource group {args[0]}"]

    async def run(self, ctx: ProvisionContext) -> Outcome:
        if not _dns(ctx):
            return Outcome.skipped(NOT_DNS)
        ledger = Ledger()
        label, call, (group, zone) = self._target(ctx)
        found = await self.look(ctx, label, call, group, zone)
        if found is None:
            ctx.progress(self, label, "running", "creating")
            api = ctx.clients.private_dns.private_zones
            body = private_dns.zone_body(ctx.plan)
            poller = await self.arm(ctx, label, api.begin_create_or_update, group, zone, body)
            await wait_poller(ctx, self, label, poller)
        ledger.record(ctx, self, label, found is None, group, zone)
        return ledger.outcome("Private DNS zone(s)")

    async def verify(self, ctx: ProvisionContext, facts: dict[str, Any]) -> str | None:
        return await self.first_gone(ctx, [self._target(ctx)]) if _dns(ctx) else None


class DnsLinks(AzureStep):
    key = "dns-links"
    title = "Link the DNS zone to both VNets"

    def _targets(self, ctx: ProvisionContext) -> list[tuple[Any, Target]]:
        group, zone = _names(ctx)
        get = ctx.clients.private_dns.virtual_network_links.get
        return [
            (
                cluster,
                (
                    f"link {private_dns.link_name(cluster)}",
                    get,
                    (group, zone, private_dns.link_name(cluster)),
                ),
            )
            for _alias, cluster in private_dns.linked_clusters(ctx.plan)
        ]

    async def describe(self, ctx: ProvisionContext) -> list[str]:
        if not _dns(ctx):
            return [NOT_DNS]
        lines = []
        for cluster, (label, call, args) in self._targets(ctx):
            found = await self.look(ctx, label, call, *args)
            lines.append(
                f"{label}: exists"
                if found
                else f"link zone {args[1]} to VNet {cluster.vnet_name} (no auto-registration)"
            )
        return lines

    async def run(self, ctx: ProvisionContext) -> Outcome:
        if not _dns(ctx):
            return Outcome.skipped(NOT_DNS)
        ledger = Ledger()
        api = ctx.clients.private_dns.virtual_network_links
        for cluster, (label, call, args) in self._targets(ctx):
            found = await self.look(ctx, label, call, *args)
            if found is None:
                ctx.progress(self, label, "running", f"linking VNet {cluster.vnet_name}")
                body = private_dns.link_body(ctx.subscription, ctx.plan, cluster)
                poller = await self.arm(ctx, label, api.begin_create_or_update, *args, body)
                await wait_poller(ctx, self, label, poller)
            else:
                linked = str(((found.get("properties") or {}).get("virtualNetwork") or {}).get("id") or "")
                if linked.lower() != private_dns.vnet_id(ctx.subscription, cluster).lower():
                    raise StepFailed(
                        f"{label} exists but links {linked or 'no VNet'}, not {cluster.vnet_name}"
                    )
            ledger.record(ctx, self, label, found is None, *args)
        return ledger.outcome("VNet link(s)")

    async def verify(self, ctx: ProvisionContext, facts: dict[str, Any]) -> str | None:
        if not _dns(ctx):
            return None
        return await self.first_gone(ctx, (target for _cluster, target in self._targets(ctx)))


class DnsRecord(AzureStep):
    key = "dns-record"
    title = "Point the DNS record at the active cluster"

    async def describe(self, ctx: ProvisionContext) -> list[str]:
        if not _dns(ctx):
            return [NOT_DNS]
        alias = await ctx.call(active_alias, ctx)
        try:
            ips = private_dns.addresses(ctx.plan, alias)
        except private_dns.DnsSwitchError:
            ips = []  # the bootstrap step writes them first
        what = ", ".join(ips) or "its brokers' private IPs"
        return [
            f"{private_dns.fqdn(ctx.plan)} A {what} ({alias}, the active cluster), "
            f"TTL {ctx.plan.switch.ttl_seconds} s"
        ]

    async def run(self, ctx: ProvisionContext) -> Outcome:
        if not _dns(ctx):
            return Outcome.skipped(NOT_DNS)
        group, zone = _names(ctx)
        name = private_dns.fqdn(ctx.plan)
        alias = await ctx.call(active_alias, ctx)
        try:
            ips = private_dns.addresses(ctx.plan, alias)
        except private_dns.DnsSwitchError as exc:
            raise StepFailed(str(exc)) from exc
        found = await self.arm(ctx, name, private_dns.get_record, ctx.clients, ctx.plan)
        ids = [group, zone, private_dns.RECORD_TYPE, ctx.plan.switch.record]
        held = private_dns.record_addresses(found)
        ttl = ((found or {}).get("properties") or {}).get("ttl")
        if found is not None and sorted(held) == sorted(ips) and ttl == ctx.plan.switch.ttl_seconds:
            ctx.progress(self, name, "skipped", f"A {', '.join(ips)} ({alias})")
            return Outcome.skipped(
                f"{name} already names {alias} ({', '.join(ips)})",
                created=[],
                existing=[ids],
                active=alias,
                addresses=ips,
            )
        ctx.note(active=alias, addresses=ips, before=held)
        ctx.progress(self, name, "running", f"A {', '.join(ips)}")
        try:
            await self.arm(ctx, name, private_dns.write_record, ctx.clients, ctx.plan, alias, ips)
        except private_dns.DnsSwitchError as exc:
            raise StepFailed(str(exc)) from exc
        ctx.progress(self, name, "done", f"A {', '.join(ips)} ({alias})")
        created = [ids] if found is None else []
        return Outcome.done(
            f"{name} -> {', '.join(ips)} ({alias}), read back",
            created=created,
            existing=[] if created else [ids],
            active=alias,
            addresses=ips,
        )

    async def verify(self, ctx: ProvisionContext, facts: dict[str, Any]) -> str | None:
        if not _dns(ctx):
            return None
        found = await self.arm(ctx, "record", private_dns.get_record, ctx.clients, ctx.plan)
        if found is None:
            return f"{private_dns.fqdn(ctx.plan)} is gone"
        held = private_dns.record_addresses(found)
        want = facts.get("addresses") or []
        if want and sorted(held) != sorted(want):
            return f"{private_dns.fqdn(ctx.plan)} holds {', '.join(held)}, not {', '.join(want)}"
        return None
