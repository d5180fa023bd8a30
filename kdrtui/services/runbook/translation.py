"""Step 5 of a failover or failback: consumer group offsets translated and committed on the target."""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from kdrtui.domain.plan import MirrorFlow, Naming
from kdrtui.domain.runbook import Outcome, Step, StepFailed
from kdrtui.services.runbook import active_active
from kdrtui.services.runbook.context import FAILOVER, DrContext
from kdrtui.services.runbook.flows import target_name

# --- 5. translate consumer group offsets ---------------------------------------------------------------


class TranslateOffsets(Step[DrContext]):
    key = "translate-offsets"
    title = "Translate consumer group offsets"

    async def describe(self, ctx: DrContext) -> list[str]:
        plan = await asyncio.to_thread(self._plan_offsets, ctx)
        lines = []
        for group, entry in sorted(plan["groups"].items()):
            lines.append(
                f"group {group}: {len(entry['offsets'])} partition(s) from {entry['how']}, "
                f"~{entry['duplicates']} duplicates"
            )
        lines += [f"group {g}: REFUSED, active on {ctx.target}" for g in plan["refused"]]
        return lines or ["no consumer groups to move"]

    def _plan_offsets(self, ctx: DrContext) -> dict[str, Any]:
        return plan_offsets(ctx, bool(ctx.facts["preflight"].get("source_reachable")))

    async def run(self, ctx: DrContext) -> Outcome:
        from kdrtui.services.kafka.admin_calls import TranslateError
        from kdrtui.services.kafka.group_offsets import commit_offsets

        try:
            plan = await asyncio.to_thread(self._plan_offsets, ctx)
        except TranslateError as exc:
            raise StepFailed(str(exc)) from exc
        target = ctx.bootstrap(ctx.target)
        committed: dict[str, Any] = {}
        failures: list[str] = []

        async def commit(group: str, entry: dict[str, Any]) -> None:
            offsets = {_tp(k): v for k, v in entry["offsets"].items()}
            errors = await asyncio.to_thread(commit_offsets, target, group, offsets, ctx.timeout)
            if errors:
                failures.append(f"{group}: " + "; ".join(sorted(set(errors.values()))[:3]))
            else:
                committed[group] = entry
                ctx.say(
                    f"group {group}: {len(offsets)} partition(s) set from {entry['how']}, "
                    f"~{entry['duplicates']:,} records re-delivered"
                )

        await asyncio.gather(*(commit(g, e) for g, e in sorted(plan["groups"].items())))
        for group in plan["refused"]:
            ctx.say(
                f"group {group}: REFUSED: it has active members on {ctx.target}; stop them and set it by hand"
            )
        if failures:
            raise StepFailed(
                "cannot commit: " + " | ".join(failures), groups=committed, refused=plan["refused"]
            )
        summary = f"{len(committed)} group(s) moved"
        if plan["refused"]:
            summary += f"; {len(plan['refused'])} refused (active): {', '.join(plan['refused'])}"
        return Outcome.done(summary, groups=committed, refused=plan["refused"])

    async def verify(self, ctx: DrContext, facts: dict[str, Any]) -> str | None:
        from kdrtui.services.kafka.group_offsets import committed_offsets

        groups = facts.get("groups", {})
        if not groups:
            return None
        now = await asyncio.to_thread(committed_offsets, ctx.bootstrap(ctx.target), list(groups), ctx.timeout)
        for group, entry in groups.items():
            have = now.get(group, {})
            for key, offset in entry["offsets"].items():
                if have.get(_tp(key), -1) < offset:
                    return f"group {group} is behind its translated offset on {key}"
        return None


def plan_offsets(ctx: DrContext, source_reachable: bool) -> dict[str, Any]:
    """What the translate step would commit now (blocking): ``{"groups": {group: {"offsets", "how",
    "duplicates"}}, "refused": [groups active on the target]}``. The pre-flight's forecast is this same
    computation, so the records it says a group will read again are the ones the step reports.

    Raises:
        TranslateError: the target (or, for a failback, the source) did not answer.
    """
    if ctx.operation == FAILOVER:
        return failover_offsets(ctx, source_reachable)
    return failback_offsets(ctx)


def _tp(key: str) -> tuple[str, int]:
    topic, _, partition = key.rpartition(":")
    return topic, int(partition)


def _key(topic: str, partition: int) -> str:
    return f"{topic}:{partition}"


def _wanted_group(flow: MirrorFlow, group: str) -> bool:
    import re

    from kdrtui.domain.mirrormaker_render import MM2_GROUPS_EXCLUDE_DEFAULT

    if group.startswith(("kdrtui-", "mm2-", "connect-")):
        return False
    if not any(re.fullmatch(p, group) for p in flow.groups):
        return False
    return not any(re.fullmatch(p, group) for p in (*MM2_GROUPS_EXCLUDE_DEFAULT, *flow.groups_exclude))


def failover_offsets(ctx: DrContext, source_reachable: bool) -> dict[str, Any]:
    """Per group: the offsets to commit on the target, how they were found, the expected duplicates.

    A group's source position is its live committed offsets when the source answers, else its latest
    checkpoints. Each partition resumes at the furthest safe translation of that position (checkpoint or
    offset syncs, see :func:`~kdrtui.services.kafka.best_downstream`); a partition with neither
    starts from record timestamps ``fallback_rewind_seconds`` before the failover, and says so.
    """
    from kdrtui.services.kafka.admin_calls import TranslateError
    from kdrtui.services.kafka.group_offsets import committed_offsets, list_groups, offsets_for_times
    from kdrtui.services.kafka.internal_reads import read_checkpoints, read_offset_syncs
    from kdrtui.services.kafka.topics import flow_mirrors
    from kdrtui.services.kafka.translate import plan_partition, plan_within

    flow = ctx.stop_flow
    target = ctx.bootstrap(ctx.target)
    with ThreadPoolExecutor(max_workers=2) as pool:  # two independent reads of the target, at once
        reading = pool.submit(read_checkpoints, target, flow.source, ctx.timeout)
        syncs = read_offset_syncs(target, flow.source, ctx.timeout)
        checkpoints = reading.result()
    by_checkpoint: dict[tuple[str, str, int], Any] = {}
    positions: dict[str, dict[tuple[str, int], int]] = {}
    for (group, topic, partition), checkpoint in checkpoints.items():
        if _wanted_group(flow, group):
            source_topic = _source_name(flow, topic)
            by_checkpoint[(group, source_topic, partition)] = checkpoint
            positions.setdefault(group, {})[(source_topic, partition)] = checkpoint.upstream
    live = "checkpointed"
    # Active-active: what the groups read of the target's own topics through their copies here.
    origin: dict[str, dict[tuple[str, int], int]] = {}
    origin_offsets: dict[str, dict[str, int]] = {}
    if source_reachable:
        try:
            source = ctx.bootstrap(ctx.source)
            groups = [g for g in list_groups(source, ctx.timeout) if _wanted_group(flow, g)]
            for group, committed in committed_offsets(source, groups, ctx.timeout).items():
                mirrored = {tp: o for tp, o in committed.items() if flow_mirrors(flow, tp[0])}
                if mirrored:
                    positions[group] = mirrored
                if active_active.is_active_active(ctx.plan):
                    origin[group] = active_active.origin_positions(committed, ctx.target)
            if any(origin.values()):
                other_syncs = read_offset_syncs(source, ctx.target, ctx.timeout)
                mapped = active_active.origin_offsets(origin, ctx.target, other_syncs)
                there = committed_offsets(target, list(mapped), ctx.timeout) if mapped else {}
                origin_offsets = active_active.not_on_target(mapped, there)
            live = "committed"
        except TranslateError as exc:
            ctx.say(f"cannot read the groups on {ctx.source} ({exc}): using their checkpoints")
    rewind = ctx.plan.failover.fallback_rewind_seconds
    rewind_ms = int((ctx.confirmed_at - rewind) * 1000)
    ends = target_ends(
        target, {(target_name(flow, t), p) for pos in positions.values() for t, p in pos}, ctx.timeout
    )
    by_group: dict[str, dict[str, Any]] = {}
    for group, position in sorted(positions.items()):
        offsets: dict[str, int] = {}
        duplicates = capped = 0
        missing: list[tuple[str, int]] = []
        for (source_topic, partition), upstream in sorted(position.items()):
            cp = by_checkpoint.get((group, source_topic, partition))
            part_syncs = syncs.get((source_topic, partition), [])
            name = target_name(flow, source_topic)
            planned = plan_within(upstream, cp, part_syncs, ends.get((name, partition)))
            capped += planned != plan_partition(upstream, cp, part_syncs)
            if planned is None:
                missing.append((name, partition))
                continue
            offsets[_key(name, partition)] = planned[0]
            duplicates += planned[1]
        how = f"{live} offsets translated (checkpoints, offset syncs)"
        if capped:
            how += f"; {capped} checkpoint(s) past the mirror's end ignored (MirrorMaker before 3.5)"
        if missing:
            found = offsets_for_times(target, missing, rewind_ms, ctx.timeout)
            offsets.update({_key(t, p): o for (t, p), o in found.items()})
            how += (
                f"; {len(missing)} partition(s) by timestamps {rewind} s before the failover (no translation)"
            )
        by_group[group] = {"offsets": offsets, "how": how, "duplicates": duplicates}
    if origin_offsets:
        active_active.merge_origin(by_group, origin_offsets)
    return _split_active(ctx, by_group)


def target_ends(
    bootstrap: str, partitions: set[tuple[str, int]], timeout: float
) -> dict[tuple[str, int], int]:
    """The end offsets of ``partitions`` on the target (one batched ListOffsets); {} when they cannot be
    read (the resume points then stand as translated)."""
    if not partitions:
        return {}
    from confluent_kafka.admin import AdminClient

    from kdrtui.services.kafka.config import client_config
    from kdrtui.services.kafka.offsets import end_offsets_request, end_offsets_result, request_end_offsets

    admin = AdminClient(client_config(bootstrap))
    try:
        request = end_offsets_request(sorted(partitions))
        ends, _error = end_offsets_result(request_end_offsets(admin, request, timeout), timeout + 5)
    except Exception:  # an unreadable end caps nothing; the commit itself reports a dead cluster
        return {}
    return ends


def _source_name(flow: MirrorFlow, target_topic: str) -> str:
    prefix = f"{flow.source}."
    return target_topic.removeprefix(prefix) if flow.naming == Naming.PREFIXED else target_topic


def failback_offsets(ctx: DrContext) -> dict[str, Any]:
    """Failback: groups on the old target (now active) mapped back to the original source's topics.

    ``<src>.orders`` (mirrored from here before the failover) maps back through the forward flow's offset
    syncs; ``orders`` written there during the outage maps to ``<there>.orders`` here through the reverse
    flow's checkpoints.
    """
    from kdrtui.services.kafka.group_offsets import committed_offsets, list_groups
    from kdrtui.services.kafka.internal_reads import read_checkpoints, read_offset_syncs
    from kdrtui.services.kafka.translate import best_downstream, best_upstream, upstream_of

    here, there = ctx.target, ctx.source  # failback: clients go back to `here` (the original primary)
    forward = ctx.resume_flow  # here -> there
    back = ctx.stop_flow  # there -> here
    there_bootstrap, here_bootstrap = ctx.bootstrap(there), ctx.bootstrap(here)
    with ThreadPoolExecutor(max_workers=4) as pool:  # four independent reads, at once
        reads = [
            pool.submit(read_checkpoints, here_bootstrap, there, ctx.timeout),
            pool.submit(read_checkpoints, there_bootstrap, here, ctx.timeout),
        ]
        sync_reads = [
            pool.submit(read_offset_syncs, there_bootstrap, here, ctx.timeout),
            pool.submit(read_offset_syncs, here_bootstrap, there, ctx.timeout),
        ]
        checkpoints, forward_checkpoints = reads[0].result(), reads[1].result()
        syncs, back_syncs = sync_reads[0].result(), sync_reads[1].result()
    groups = [g for g in list_groups(there_bootstrap, ctx.timeout) if _wanted_group(forward, g)]
    if active_active.is_active_active(ctx.plan):
        # Only the clients the failover moved go back: the DR site's own groups stay where they are.
        moved = active_active.moved_groups(ctx)
        if moved is not None:
            groups = [g for g in groups if g in moved]
    committed = committed_offsets(there_bootstrap, groups, ctx.timeout)
    by_group: dict[str, dict[str, Any]] = {}
    prefix = f"{here}."
    for group, offsets in committed.items():
        entry: dict[str, Any] = {"offsets": {}, "how": "offset syncs and checkpoints", "duplicates": 0}
        for (topic, partition), offset in offsets.items():
            if topic.startswith(prefix):  # mirrored from here before the failover
                original = topic.removeprefix(prefix)
                cp_forward = forward_checkpoints.get((group, topic, partition))
                upstream = best_upstream(offset, cp_forward, syncs.get((original, partition), []))
                if upstream is not None:
                    entry["offsets"][_key(original, partition)] = upstream
            else:
                cp = checkpoints.get((group, target_name(back, topic), partition))
                part_syncs = back_syncs.get((topic, partition), [])
                downstream = best_downstream(offset, cp, part_syncs)
                if downstream is not None:
                    entry["offsets"][_key(target_name(back, topic), partition)] = downstream
                    base = upstream_of(part_syncs, downstream)
                    if base is None and cp is not None:
                        base = cp.upstream
                    entry["duplicates"] += max(0, offset - (base if base is not None else offset))
        if entry["offsets"]:
            by_group[group] = entry
    return _split_active(ctx, by_group)


def _split_active(ctx: DrContext, by_group: dict[str, dict[str, Any]]) -> dict[str, Any]:
    from kdrtui.services.kafka.group_offsets import group_states

    states = group_states(ctx.bootstrap(ctx.target), list(by_group), ctx.timeout) if by_group else {}
    refused = sorted(g for g in by_group if states.get(g, "dead") not in ("empty", "dead", "unknown"))
    return {"groups": {g: e for g, e in by_group.items() if g not in refused}, "refused": refused}
