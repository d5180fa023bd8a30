"""The ``nsg`` fence inside the fence step: an NSG rule on the old primary's subnet, through ARM only.

It is the one fence that works when the old primary's brokers do not answer (a region outage takes the
brokers, rarely the region's control plane with them). What it adds is recorded in the DR state
(``fenced.<alias>.nsg``: the NSG, whether the fence created it, the rule names, the flushConnection it
turned on) *before* each change, so failback (or a rollback) removes exactly that, and nothing else.
The Azure work itself is :mod:`kdrtui.services.azure.nsg` (blocking, run in a thread).
"""

from __future__ import annotations

import asyncio
from typing import Any

from kdrtui.domain.plan import FenceMethod
from kdrtui.domain.runbook import StepFailed
from kdrtui.services.runbook.context import DrContext
from kdrtui.services.runbook.store import DrState

NSG_KEY = "nsg"
"""Where a fence record keeps what the NSG fence added."""


def _clients(ctx: DrContext) -> Any:
    from kdrtui.services.azure.clients import AzureClients, AzureSetupError

    if ctx.azure is None:
        try:
            ctx.azure = AzureClients(ctx.plan)
        except AzureSetupError as exc:
            raise StepFailed(f"fence nsg: {exc}") from exc
    return ctx.azure


async def nsg_problems(ctx: DrContext, alias: str) -> list[str]:
    """Why the NSG fence could not go on ``alias``'s subnet now ([] when it can): ARM reachable, the
    subnet and its NSG readable (the pre-flight asks; changes nothing)."""
    from kdrtui.services.azure.nsg import nsg_readiness

    try:
        clients = _clients(ctx)
        return await asyncio.to_thread(nsg_readiness, clients, ctx.plan, alias)
    except StepFailed as exc:
        return [exc.summary]
    except Exception as exc:  # a check that cannot run is a reason, never a crash
        return [f"cannot check the NSG of {alias}: {type(exc).__name__}: {exc}"]


def fence_outlook(ctx: DrContext, source_up: bool, nsg_problem: list[str] | None) -> str:
    """One forecast line: which fences the run can put on the source now, said plainly when none."""
    fences = ctx.plan.failover.fences
    if not fences:
        return f"fence: none in the plan: applications must stop writing to {ctx.source} themselves"
    kafka = ctx.plan.failover.kafka_fence
    possible: list[str] = []
    blocked: list[str] = []
    if kafka is not None:
        if source_up:
            possible.append(str(kafka))
        else:
            blocked.append(f"{kafka} needs {ctx.source}'s brokers, which do not answer")
    if FenceMethod.NSG in fences:
        if nsg_problem:
            blocked.append(f"nsg: {'; '.join(nsg_problem)}")
        else:
            possible.append(
                f"nsg (an NSG rule on {ctx.source}'s subnet, through ARM: its brokers are not needed)"
            )
    if not possible:
        hint = "" if FenceMethod.NSG in fences else ' (fence = ["nsg", ...] fences through ARM alone)'
        return f"NO FENCE IS POSSIBLE on {ctx.source}: " + "; ".join(blocked) + hint
    text = "fence: " + " + ".join(possible)
    return text + (f"; NOT {'; '.join(blocked)}" if blocked else "")


async def fence_with_nsg(ctx: DrContext, state: DrState) -> dict[str, Any]:
    """Put the NSG fence on the source's subnet, recording each change first; the step's facts for it.

    Raises:
        StepFailed: ARM refused or did not answer, or the rule does not hold when read back.
    """
    from kdrtui.services.azure import nsg

    alias = ctx.source
    loop = asyncio.get_running_loop()
    before = dict((state.fenced.get(alias) or {}).get(NSG_KEY) or {})

    async def save_async(record: dict[str, Any]) -> None:
        now = ctx.state()
        fence = now.fenced.get(alias) or {"method": str(FenceMethod.NSG), "topics": {}}
        now.fenced[alias] = {**fence, NSG_KEY: record}
        ctx.save_state(now)

    def save(record: dict[str, Any]) -> None:  # from the worker thread: journal and state on the loop
        asyncio.run_coroutine_threadsafe(save_async(dict(record)), loop).result()

    clients = _clients(ctx)
    try:
        record = await asyncio.to_thread(nsg.apply, clients, ctx.plan, alias, before, save)
    except nsg.NsgError as exc:
        raise StepFailed(f"fence nsg on {alias}: {exc}") from exc
    created = (
        f"NSG {record['nsg']} created and associated" if record.get("created") else f"NSG {record['nsg']}"
    )
    ctx.say(
        f"{created}: deny TCP {', '.join(map(str, record['ports']))} "
        f"from {', '.join(record['client_cidrs'])}; "
        f"allowed above it: {', '.join(record['allowed']) or 'nothing'} (read back and checked)"
    )
    return {
        "nsg": record["nsg"],
        "created": bool(record.get("created")),
        "rules": list(record.get("rules") or []),
        "ports": record["ports"],
        "client_cidrs": record["client_cidrs"],
        "allowed": record["allowed"],
    }


async def nsg_still_holds(ctx: DrContext, facts: dict[str, Any]) -> str | None:
    """A finished NSG fence, re-verified from Azure: None while it holds."""
    from kdrtui.services.azure import nsg

    record = (ctx.state().fenced.get(ctx.source) or {}).get(NSG_KEY) or facts
    try:
        problems = await asyncio.to_thread(nsg.verify, _clients(ctx), ctx.plan, ctx.source, record)
    except nsg.NsgError as exc:
        return f"cannot read the NSG fence back: {exc}"
    return f"NSG fence no longer holds: {'; '.join(problems[:3])}" if problems else None


async def unfence_nsg(ctx: DrContext, alias: str, record: dict[str, Any]) -> None:
    """Remove what the NSG fence recorded on ``alias`` (``record`` is the fence's DR-state record)."""
    from kdrtui.services.azure import nsg

    loop = asyncio.get_running_loop()

    async def save_async(part: dict[str, Any]) -> None:
        now = ctx.state()
        if alias in now.fenced:
            now.fenced[alias] = {**now.fenced[alias], NSG_KEY: part}
            ctx.save_state(now)

    def save(part: dict[str, Any]) -> None:
        asyncio.run_coroutine_threadsafe(save_async(dict(part)), loop).result()

    try:
        await asyncio.to_thread(nsg.undo, _clients(ctx), ctx.plan, alias, dict(record[NSG_KEY]), save)
    except nsg.NsgError as exc:
        raise StepFailed(f"cannot undo the NSG fence on {alias}: {exc}") from exc
    ctx.say(f"NSG fence on {alias} removed ({', '.join(record[NSG_KEY].get('rules') or []) or 'no rule'})")


async def nsg_left(ctx: DrContext, alias: str, record: dict[str, Any]) -> list[str]:
    """What of an undone NSG fence is still in Azure ([] when nothing)."""
    from kdrtui.services.azure import nsg

    if not record.get(NSG_KEY):
        return []
    try:
        return await asyncio.to_thread(nsg.left, _clients(ctx), ctx.plan, alias, dict(record[NSG_KEY]))
    except nsg.NsgError as exc:
        return [f"cannot tell ({exc})"]
