"""Taking a fence down: what the DR state says fencing a cluster replaced or added is undone (failback's
replication step, a rollback), then checked against the cluster."""

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

    state = ctx.state()
    record = state.fenced.get(alias)
    if not record:
        return None
    topics: dict[str, int | None] = record.get("topics", {})
    try:
        if record.get("method") in ACL_METHODS:
            await asyncio.to_thread(fence_acl.undo, ctx.bootstrap(alias), record, ctx.timeout)
        else:
            await asyncio.to_thread(fence.set_max_bytes, ctx.bootstrap(alias), dict(topics))
    except fence.FenceError as exc:
        raise StepFailed(f"cannot undo the fence on {alias}: {exc}") from exc
    del state.fenced[alias]
    ctx.save_state(state)
    ctx.say(f"fence on {alias} undone ({len(topics)} topic(s))")
    return dict(record)


async def still_fenced(ctx: DrContext, alias: str, record: dict[str, Any]) -> list[str]:
    """What of a fence ``record`` on ``alias`` still refuses writes: topics, or an ACL fence's bindings."""
    from kdrtui.services.kafka import fence, fence_acl

    if record.get("method") in ACL_METHODS:
        return await asyncio.to_thread(fence_acl.left, ctx.bootstrap(alias), record, ctx.timeout)
    topics = list(record.get("topics", {}))
    if not topics:
        return []
    return await asyncio.to_thread(
        fence.fenced_topics, ctx.bootstrap(alias), str(record.get("method")), topics
    )
