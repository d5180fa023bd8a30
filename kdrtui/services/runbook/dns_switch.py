"""The DNS client switch in a failover or failback: point ``<record>.<zone>`` at the target's brokers.

Azure clients are built here, when a run switches by DNS, from the plan's ``[azure]`` table (runbooks
with another switch never import an Azure SDK). The write is journaled before it is made (``step-note``
with ``dns``), carries the etag it read (a concurrent change fails instead of being overwritten), and is
read back: the step fails when the record does not hold the target's addresses. A resumed run reads the
record first and writes nothing when it already names the target.
"""

from __future__ import annotations

import asyncio
from typing import Any

from kdrtui.domain.plan import Plan, SwitchMethod
from kdrtui.domain.runbook import StepFailed
from kdrtui.services.azure import private_dns
from kdrtui.services.runbook.context import DrContext


def dns_preflight(plan: Plan, target: str) -> list[str]:
    """Why a DNS switch to ``target`` cannot be made, read from the plan alone ([] when it can, or when
    the plan does not switch by DNS)."""
    if plan.switch.method != SwitchMethod.DNS:
        return []
    problems = []
    if plan.azure is None:
        problems.append(
            'step switch-clients: [switch] method = "dns" repoints an Azure Private DNS record, but the plan '
            "has no [azure] table saying how to reach Azure (subscription_id, endpoint): add one"
        )
    try:
        private_dns.zone_name(plan)
        private_dns.zone_group(plan)
        private_dns.addresses(plan, target)
    except private_dns.DnsSwitchError as exc:
        problems.append(f"step switch-clients: {exc}")
    return problems


def _clients(plan: Plan) -> Any:
    from kdrtui.services.azure.clients import AzureClients, AzureSetupError

    try:
        return AzureClients(plan)
    except AzureSetupError as exc:
        raise StepFailed(f"switch.method = dns: {exc}") from exc


async def point_record(ctx: DrContext) -> dict[str, Any]:
    """Point the record at ``ctx.target``'s brokers and read it back; what was done (for the journal).

    Raises:
        StepFailed: the plan cannot say what to write, Azure refused (``CODE: message``), or the record
            read back differs.
    """
    from azure.core.exceptions import AzureError

    from kdrtui.services.azure.arm_errors import arm_error_text

    plan, target = ctx.plan, ctx.target
    try:
        name = private_dns.fqdn(plan)
        ips = private_dns.addresses(plan, target)
    except private_dns.DnsSwitchError as exc:
        raise StepFailed(str(exc)) from exc
    clients = await asyncio.to_thread(_clients, plan)
    try:
        current = await asyncio.to_thread(private_dns.get_record, clients, plan)
        before = private_dns.record_addresses(current)
        if sorted(before) == sorted(ips) and private_dns.record_cluster(current) == target:
            ctx.say(f"{name} already names {target}: {', '.join(ips)}")
            return {"fqdn": name, "addresses": ips, "before": before, "changed": False}
        ctx.note(dns={"fqdn": name, "before": before, "want": ips, "cluster": target})
        ctx.say(f"{name}: {', '.join(before) or 'no record'} -> {', '.join(ips)} ({target})")
        back = await asyncio.to_thread(private_dns.write_record, clients, plan, target, ips)
        ttl = (back.get("properties") or {}).get("ttl")
        ctx.say(f"read back: {name} A {', '.join(private_dns.record_addresses(back))}, TTL {ttl} s")
        return {"fqdn": name, "addresses": ips, "before": before, "changed": True}
    except private_dns.DnsSwitchError as exc:
        raise StepFailed(str(exc)) from exc
    except AzureError as exc:
        raise StepFailed(f"{name}: {arm_error_text(exc)}") from exc
    finally:
        await asyncio.to_thread(clients.close)


async def record_problem(ctx: DrContext) -> str | None:
    """None when the record holds the target's addresses (a step's verification), else what it holds."""
    from azure.core.exceptions import AzureError

    from kdrtui.services.azure.arm_errors import arm_error_text

    try:
        ips = private_dns.addresses(ctx.plan, ctx.target)
    except private_dns.DnsSwitchError as exc:
        return str(exc)
    clients = await asyncio.to_thread(_clients, ctx.plan)
    try:
        found = await asyncio.to_thread(private_dns.get_record, clients, ctx.plan)
    except AzureError as exc:
        return f"cannot read {private_dns.fqdn(ctx.plan)}: {arm_error_text(exc)}"
    finally:
        await asyncio.to_thread(clients.close)
    held = private_dns.record_addresses(found)
    if sorted(held) != sorted(ips):
        name = private_dns.fqdn(ctx.plan)
        return f"{name} holds {', '.join(held) or 'nothing'}, not {ctx.target}'s {', '.join(ips)}"
    return None
