"""Taking a fence down: what the DR state says fencing a cluster replaced or added is undone (failback's
replication step, a rollback), then checked against the cluster. An NSG fence is removed first, through
ARM (:mod:`.fence_nsg_step`), so clients are let back in even when the brokers' part cannot be undone."""

from __future__ import annotations

import asyncio
from typing import Any

from kdrtui.domain.acl_fence import ACL_METHODS
from kdrtui.domain.runbook import StepFailed
from kdrtui.services.runbook.context import DrContext


async def unfence(ctx: DrContext, alias: str) -> dict[str, Any] | None:
    """Undo what fencing ``alias`` replaced (recorded in the DR state); the record undone, or None when
    ``alias`` was not fenced."""
    from kdrtui.services.kafka import fence, fence_acl
    from kdrtui.services.runbook.fence_nsg_step import NSG_KEY, unfence_nsg

    state = ctx.state()
    record = state.fenced.get(alias)
    if not record:
        return None
    if record.get(NSG_KEY):  # through ARM: undone whether or not the brokers answer
        await unfence_nsg(ctx, alias, record)
        state = ctx.state()
    topics: dict[str, int | None] = record.get("topics", {})
    try:
        if record.get("method") in ACL_METHODS:
            await asyncio.to_thread(fence_acl.undo, ctx.bootstrap(alias), record, ctx.timeout)
        elif record.get("method") != NSG_KEY:
            await asyncio.to_thread(fence.set_max_bytes, ctx.bootstrap(alias), dict(topics))
    except fence.FenceError as exc:
        raise StepFailed(f"cannot undo the fence on {alias}: {exc}") from exc
    state.fenced.pop(alias, None)
    ctx.save_state(state)
    methods = [m for m in (record.get("method"), NSG_KEY if record.get(NSG_KEY) else None) if m]
    ctx.note(unfenced=alias, fence_method_removed=" + ".join(dict.fromkeys(str(m) for m in methods)))
    ctx.say(f"fence on {alias} undone ({len(topics)} topic(s))")
    return dict(record)


async def still_fenced(ctx: DrContext, alias: str, record: dict[str, Any]) -> list[str]:
    """What of a fence ``record`` on ``alias`` still refuses writes: topics, or an ACL fence's bindings."""
    from kdrtui.services.kafka import fence, fence_acl
    from kdrtui.services.runbook.fence_nsg_step import NSG_KEY, nsg_left

    left = await nsg_left(ctx, alias, record)
    if record.get("method") in ACL_METHODS:
        return left + await asyncio.to_thread(fence_acl.left, ctx.bootstrap(alias), record, ctx.timeout)
    topics = list(record.get("topics", {}))
    if not topics or record.get("method") == NSG_KEY:
        return left
    return left + await asyncio.to_thread(
        fence.fenced_topics, ctx.bootstrap(alias), str(record.get("method")), topics
    )
