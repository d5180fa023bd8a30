"""Pre-flight: the subscription and credential work, the login passwords are set and strong enough, the
cluster names are free (or the clusters are already ours), the VNets' address spaces do not overlap."""

from __future__ import annotations

import ipaddress
from typing import Any

from kdrtui.domain.runbook import Outcome, StepFailed
from kdrtui.services.azure.arm_errors import arm_error_text
from kdrtui.services.azure.base import AzureStep
from kdrtui.services.azure.clients import raw
from kdrtui.services.azure.context import ProvisionContext

ARM_SCOPE = "https://management.azure.com/.default"


class Preflight(AzureStep):
    """Checks that change nothing, before anything is created."""

    key = "preflight"
    title = "Pre-flight: subscription, credential, passwords, names, address spaces"

    async def describe(self, ctx: ProvisionContext) -> list[str]:
        lines = [
            f"check subscription {ctx.subscription} with the {ctx.clients.settings.credential} credential "
            f"at {ctx.clients.settings.endpoint}"
        ]
        for alias, cluster in ctx.hdinsight_clusters():
            assert cluster.hdinsight is not None
            lines.append(
                f"check ${cluster.hdinsight.login_password_env} (cluster {alias}) and that the name "
                f"{cluster.hdinsight.name} is free in {cluster.region}"
            )
        try:
            await self._check(ctx)
            lines.append("all checks pass now")
        except StepFailed as exc:
            lines.append(f"would fail now: {exc.summary}")
        return lines

    async def run(self, ctx: ProvisionContext) -> Outcome:
        facts = await self._check(ctx)
        names = ", ".join(f"{name} {state}" for name, state in facts["clusters"].items())
        return Outcome.done(f"subscription {ctx.subscription} reachable; clusters: {names}", **facts)

    async def verify(self, ctx: ProvisionContext, facts: dict[str, Any]) -> str | None:
        # Cheap and worth repeating on resume: the password (memory only) must be there again.
        try:
            for alias, _cluster in ctx.hdinsight_clusters():
                ctx.password(alias)
        except StepFailed as exc:
            return exc.summary
        return None

    async def _check(self, ctx: ProvisionContext) -> dict[str, Any]:
        from azure.core.exceptions import AzureError

        try:
            await ctx.call(ctx.clients.credential.get_token, ARM_SCOPE)
        except AzureError as exc:
            raise StepFailed(
                f"the {ctx.clients.settings.credential} credential: {arm_error_text(exc)}"
            ) from exc
        ctx.progress(self, "credential", "done", f"token for subscription {ctx.subscription}")
        for alias, _cluster in ctx.hdinsight_clusters():
            ctx.password(alias)
        clusters: dict[str, str] = {}
        for alias, cluster in ctx.hdinsight_clusters():
            hdi = cluster.hdinsight
            assert hdi is not None and cluster.resource_group is not None
            resource = f"cluster {hdi.name}"
            found = await self.look(
                ctx, resource, ctx.clients.hdinsight.clusters.get, cluster.resource_group, hdi.name
            )
            if found is not None:
                clusters[hdi.name] = "exists"
                ctx.progress(self, resource, "done", f"exists in {cluster.resource_group}")
                continue
            answer = await self.arm(
                ctx,
                resource,
                raw,
                ctx.clients.hdinsight.locations.check_name_availability,
                cluster.region,
                {"name": hdi.name, "type": "clusters"},
            )
            if not answer.get("nameAvailable", False):
                why = answer.get("message") or answer.get("reason") or "taken"
                raise StepFailed(f"cluster name {hdi.name} ({alias}) is not available: {why}")
            clusters[hdi.name] = "available"
            ctx.progress(self, resource, "done", "name available")
        self._check_overlap(ctx)
        return {"subscription": ctx.subscription, "clusters": clusters}

    def _check_overlap(self, ctx: ProvisionContext) -> None:
        """The plan rules reject overlapping peered VNets already; checked again so a plan built in code
        cannot reach Azure with them (Azure would answer 400 VnetAddressSpacesOverlap at peering)."""
        nets: dict[tuple[str, str], ipaddress.IPv4Network] = {}
        for _alias, cluster in ctx.hdinsight_clusters():
            if cluster.vnet_cidr and cluster.resource_group and cluster.vnet_name:
                nets[(cluster.resource_group, cluster.vnet_name)] = ipaddress.IPv4Network(cluster.vnet_cidr)
        items = list(nets.items())
        for i, (key_a, net_a) in enumerate(items):
            for key_b, net_b in items[i + 1 :]:
                if net_a.overlaps(net_b):
                    raise StepFailed(
                        f"VNet {key_b[1]} ({net_b}) overlaps VNet {key_a[1]} ({net_a}): peered VNets need "
                        "distinct address spaces"
                    )
