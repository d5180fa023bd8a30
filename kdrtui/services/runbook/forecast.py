"""The pre-flight forecast as an operator reads it, and the figures it says when the source cannot be read:
the RPO bound from the last lag read, the divergent records of a failback."""

from __future__ import annotations

import time
from typing import Any

from kdrtui.services.runbook.context import DrContext, lag_of


def _reach_line(alias: str, reachable: bool, error: object) -> str:
    return f"{alias}: reachable" if reachable else f"{alias}: UNREACHABLE: {error}"


def forecast_lines(ctx: DrContext, facts: dict[str, Any]) -> list[str]:
    """The pre-flight forecast as an operator reads it."""
    lines = [
        f"{ctx.operation} {ctx.source} -> {ctx.target}",
        _reach_line(ctx.target, facts["target_reachable"], facts["target_error"]),
        _reach_line(ctx.source, facts["source_reachable"], facts["source_error"]),
    ]
    if facts.get("fence_outlook"):
        lines.append(facts["fence_outlook"])
    for alias, health in sorted(facts.get("degraded", {}).items()):
        lines.append(f"{alias}: DEGRADED: {health}")
    for where, state in sorted(facts.get("mirrormaker", {}).items()):
        lines.append(f"MirrorMaker {ctx.stop_flow.name} on {where}: {state}")
    for where, state in sorted(facts.get("mirrormaker_resume", {}).items()):
        lines.append(f"MirrorMaker {ctx.resume_flow.name} on {where}: {state}")
    tasks = facts.get("tasks") or {}
    for problem in tasks.get("failed", [])[:3]:
        lines.append(f"  task {problem}")
    if tasks.get("error") and not tasks.get("failed"):
        lines.append(f"  MirrorMaker task states unreadable: {tasks['error']}")
    if "lag_records" in facts:
        stale = " (stale)" if facts.get("stale") else ""
        lines.append(
            f"not mirrored yet (RPO if forced now): {facts['lag_records']:,} records, "
            f"{facts['lag_seconds']:.1f} s{stale}"
        )
        for topic, (records, seconds) in sorted(facts.get("topics", {}).items(), key=lambda kv: -kv[1][0])[
            :10
        ]:
            if records:
                lines.append(f"  {topic}: {records:,} records, {seconds:.1f} s")
        if facts.get("lost_records"):
            lines.append(
                f"LOST already: {facts['lost_records']:,} records deleted on {ctx.source} (retention, "
                "delete_records) before MirrorMaker copied them"
            )

    elif facts["source_reachable"] is False:
        lines.append(f"{ctx.source} is down: its unmirrored records cannot be counted (region-down failover)")
        lines.append(f"RPO if forced now: {rpo_bound_text(ctx, facts.get('checked_at'))}")
    lines += divergence_lines(ctx, facts)
    if facts.get("open_transactions"):
        found = facts["open_transactions"]
        lines.append(
            f"open transactions on {len(found)} partition(s) of {ctx.source} "
            f"({', '.join(sorted(found)[:3])}): the fence waits for them to end (the brokers would refuse "
            "their markers too)"
        )
    for group in facts.get("refused_groups", []):
        lines.append(f"WARNING: group {group} has members on {ctx.target}: it will not be moved")
    for group in facts.get("active_on_source", []):
        lines.append(
            f"WARNING: group {group} is still active on {ctx.source}: stop its consumers before they "
            f"move, or they read on from where they are when the offsets are translated"
        )
    for group in facts.get("groups", [])[:10]:
        age = group.get("checkpoint_age_s")
        fallback = " · some by timestamps" if "timestamps" in group["how"] else ""
        lines.append(
            f"  group {group['group']}: {group['redeliver']:,} read again, {group['partitions']} part., "
            f"checkpoint {'none' if age is None else f'{age:.0f} s old'}{fallback}"
        )
    if len(facts.get("groups", [])) > 10:
        lines.append(f"  … {len(facts['groups']) - 10} more group(s)")
    if facts.get("groups_error"):
        lines.append(f"consumer groups: cannot tell ({facts['groups_error']})")
    lines += [f"accepted with --force: {reason}" for reason in facts.get("accepted", [])]
    verdict = "GO" if facts["go"] else "NO-GO"
    lines.append(verdict + ("" if facts["go"] else ": " + "; ".join(facts["reasons"])))
    return lines


async def divergence(ctx: DrContext) -> dict[str, Any]:
    """Failback: the records on the old primary that never reached the DR cluster, per topic — the lag
    of the original flow, whose MirrorMaker is stopped — and what the run will do with them."""
    snapshot = await ctx.resume_lag.read()
    topics, total, _seconds, stale = lag_of(snapshot)
    return {
        "divergent_records": total,
        "divergent_topics": {topic: values[0] for topic, values in topics.items() if values[0]},
        "divergent_stale": stale,
        "divergent_choice": ctx.divergent,
    }


def divergence_lines(ctx: DrContext, facts: dict[str, Any]) -> list[str]:
    """What the forecast (and the report) say about the divergent records."""
    total = facts.get("divergent_records")
    if total is None:
        return []
    if not total:
        return [f"divergent: none (everything on {ctx.target} reached {ctx.source})"]
    where = ", ".join(f"{t}: {n:,}" for t, n in sorted(facts.get("divergent_topics", {}).items())[:5])
    head = f"divergent: {total:,} records on {ctx.target} never reached {ctx.source} ({where})"
    if facts.get("divergent_choice") == "skip":
        how = (
            f"--divergent=skip: exported to {ctx.store.dir}/divergent-<topic>-<partition>.jsonl, then "
            "skipped (MirrorMaker resumes after them)"
        )
    else:
        how = (
            f"--divergent=deliver: MirrorMaker copies them to {ctx.source} late "
            "(--divergent=skip exports and skips them instead)"
        )
    return [head, f"  {how}"]


def rpo_bound(ctx: DrContext, lost_at: float) -> dict[str, Any]:
    """The best estimate of what is not mirrored when the source cannot be read: the flow's last fresh lag
    read (remembered by every lag reader), and its age when the source was found unreachable. Not a bound
    either way: MirrorMaker may have copied some of those records since, and producers written more."""
    from kdrtui.services.runbook.lag_memory import recall

    last = recall(ctx.store, ctx.stop_flow.source, ctx.stop_flow.target)
    if last is None:
        return {"rpo_bound_records": None, "rpo_bound_age_s": None, "rpo_bound_topics": {}}
    return {
        "rpo_bound_records": last.lag_records,
        "rpo_bound_age_s": round(max(0.0, lost_at - last.taken_at), 1),
        "rpo_bound_topics": {t: n for t, n in last.topics.items() if n},
    }


def bound_text(records: int | None, age_s: float | None, source: str) -> str:
    """``estimated 432 records (the lag read 12 s before primary went away; ...)`` or why nothing is
    known. An estimate, said as one: since that read MirrorMaker may have copied some of them, and the
    producers written more."""
    if records is None or age_s is None:
        return f"unknown: no lag of {source} was ever read here"
    return (
        f"estimated {records:,} records (the lag read {age_s:.0f} s before {source} went away; "
        "MirrorMaker may have copied some since, producers written more)"
    )


def rpo_bound_text(ctx: DrContext, lost_at: float | None) -> str:
    bound = rpo_bound(ctx, lost_at or time.time())
    return bound_text(bound["rpo_bound_records"], bound["rpo_bound_age_s"], ctx.source)
