"""The ``acl`` fence inside the fence step: look at the ACLs, record, deny, verify (and undo on failback).

Look first, record, then change: the step reads the cluster's ACLs, computes the DENY WRITE bindings the
fence needs (:func:`kdrtui.domain.acl_fence.fence_bindings`), writes the ones it is about to add into the
DR state — together with any an earlier, interrupted run added — and only then creates them. A binding
that was already on the cluster before the fence is never recorded, so failback deletes exactly what the
fence added. A re-run leaves its own recorded bindings out of what it reads, so it computes the same
fence and adds only what is missing.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from kdrtui.domain.acl_fence import ACL_METHODS, AclRule, recorded_bindings
from kdrtui.domain.plan import FenceMethod
from kdrtui.domain.runbook import StepFailed
from kdrtui.services.runbook.context import DrContext
from kdrtui.services.runbook.store import DrState

VISIBLE_WITHIN_S = 10.0
"""How long new bindings may take to show in describe_acls (the controller commits them, then each
broker's metadata)."""


async def _exempt(ctx: DrContext, alias: str) -> set[str]:
    from kdrtui.services.kafka import fence_acl

    who = await asyncio.to_thread(fence_acl.exempt_principals, ctx.plan.cluster(alias).security)
    return who["kdrtui"] | who["mirrormaker"]


async def acl_fence_lines(ctx: DrContext, topics: list[str]) -> list[str]:
    """What the fence would deny now (``--dry-run``; reads, changes nothing)."""
    from kdrtui.services.kafka import fence_acl
    from kdrtui.services.kafka.fence import FenceError

    alias = ctx.source
    head = f"DENY WRITE ACLs on {len(topics)} topic(s) of {alias} and on transactional ids"
    try:
        record = ctx.state().fenced.get(alias) or {}
        ours = recorded_bindings(record) if record.get("method") in ACL_METHODS else []
        exempt = await _exempt(ctx, alias)
        found, _now = await asyncio.to_thread(
            fence_acl.compute, ctx.bootstrap(alias), topics, exempt, ours, ctx.timeout
        )
    except fence_acl.NoAuthorizer:
        return [f"{head}: {fence_acl.no_authorizer_text(alias)}"]
    except (FenceError, ValueError) as exc:
        return [f"{head}: cannot read the ACLs now: {exc}"]
    denied = ", ".join(found.principals()) or "nobody (no principal but kdrtui's and MirrorMaker's may write)"
    lines = [
        f"{head}, for {denied}",
        f"left alone: {', '.join(sorted(exempt)) or 'nobody (kdrtui has no principal of its own here)'}",
    ]
    note = found.note()
    return [*lines, note] if note else lines


async def fence_with_acls(ctx: DrContext, topics: list[str], state: DrState) -> dict[str, Any]:
    """Deny writes on ``topics`` of the source and on transactional ids to every principal allowed to write
    but kdrtui's and MirrorMaker's; the step's facts.

    Raises:
        StepFailed: no authorizer, a DR state recording another fence, or DENYs not in place after.
        FenceError: the brokers refused or did not answer.
    """
    from kdrtui.services.kafka import fence_acl

    alias = ctx.source
    bootstrap = ctx.bootstrap(alias)
    record = state.fenced.get(alias) or {"method": str(FenceMethod.ACL), "topics": {}}
    if record.get("method") == str(FenceMethod.NSG):  # the nsg fence went up first: one record holds both
        record = {**record, "method": str(FenceMethod.ACL)}
    if record.get("method") not in ACL_METHODS:
        raise StepFailed(
            f"the DR state records a {record.get('method')} fence on {alias}, not an ACL fence: finish or "
            "roll back the run that put it up first"
        )
    ours = recorded_bindings(record)
    exempt = await _exempt(ctx, alias)
    try:
        found, now = await asyncio.to_thread(fence_acl.compute, bootstrap, topics, exempt, ours, ctx.timeout)
    except fence_acl.NoAuthorizer as exc:
        raise StepFailed(fence_acl.no_authorizer_text(alias)) from exc
    new = [rule for rule in found.bindings if rule not in now]
    mine = sorted(set(ours) | set(new))
    record = {
        **record,
        "method": str(FenceMethod.ACL),
        "topics": {**record.get("topics", {}), **dict.fromkeys(topics)},
        "bindings": [rule.to_dict() for rule in mine],
    }
    state.fenced[alias] = record
    ctx.save_state(state)  # before changing anything: failback deletes exactly these
    try:
        await asyncio.to_thread(fence_acl.create, bootstrap, new, ctx.timeout)
    except fence_acl.NoAuthorizer as exc:
        raise StepFailed(fence_acl.no_authorizer_text(alias)) from exc
    missing = await _wait_present(bootstrap, list(found.bindings), ctx.timeout)
    if missing:
        raise StepFailed(
            f"the fence's DENY bindings are not on {alias} after {VISIBLE_WITHIN_S:.0f} s: "
            + "; ".join(str(rule) for rule in missing[:5])
        )
    denied = found.principals()
    ctx.say(
        f"DENY WRITE for {', '.join(denied) or 'nobody'} on {len(topics)} topic(s) and transactional ids "
        f"({len(new)} binding(s) added, {len(found.bindings) - len(new)} already there)"
    )
    if found.exempt:
        ctx.say(f"left alone (kdrtui's and MirrorMaker's principals): {', '.join(found.exempt)}")
    note = found.note()
    if note:
        ctx.say(f"NOTE: {note}")
    return {
        "bindings": record["bindings"],
        "added": len(new),
        "denied": denied,
        "exempt": list(found.exempt),
        "everyone": list(found.everyone),
        "note": note,
    }


def acl_summary(alias: str, topics: list[str], facts: dict[str, Any]) -> str:
    """The fence step's summary, with its note when ``User:*`` is denied somewhere."""
    denied = ", ".join(facts["denied"]) or "nobody"
    note = f"; {facts['note']}" if facts.get("note") else ""
    return (
        f"acl fence on {len(topics)} topic(s) of {alias} ({len(facts['bindings'])} DENY binding(s) for "
        f"{denied}); writes stopped{note}"
    )


async def _wait_present(bootstrap: str, rules: list[AclRule], timeout: float) -> list[AclRule]:
    """The ``rules`` still missing from describe_acls after up to :data:`VISIBLE_WITHIN_S`."""
    from kdrtui.services.kafka import fence_acl

    deadline = time.monotonic() + VISIBLE_WITHIN_S
    while True:
        there = set(await asyncio.to_thread(fence_acl.present, bootstrap, rules, timeout))
        missing = [rule for rule in rules if rule not in there]
        if not missing or time.monotonic() > deadline:
            return missing
        await asyncio.sleep(0.3)


async def missing_denies(ctx: DrContext, facts: dict[str, Any]) -> str | None:
    """A finished ACL fence, re-verified: None while every binding it recorded is on the source."""
    from kdrtui.services.kafka import fence_acl

    rules = recorded_bindings({"bindings": facts.get("bindings") or []})
    there = set(await asyncio.to_thread(fence_acl.present, ctx.bootstrap(ctx.source), rules, ctx.timeout))
    lost = [str(rule) for rule in rules if rule not in there]
    return f"no longer fenced: {'; '.join(lost[:5])}" if lost else None
