"""Steps 1 to 4 of a failover or failback: pre-flight, fence, drain, stop MirrorMaker."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from kdrtui.domain.plan import FenceMethod
from kdrtui.domain.runbook import Outcome, Step, StepFailed
from kdrtui.services.runbook.context import FAILBACK, DrContext, lag_of, mm_states

# --- 1. pre-flight ----------------------------------------------------------------------------------


class Preflight(Step[DrContext]):
    key = "preflight"
    title = "Pre-flight: health, MirrorMaker, what would be lost"

    async def forecast(self, ctx: DrContext) -> dict[str, Any]:
        """What the run would meet now, and GO / NO-GO: anything a later step needs and cannot reach is a
        NO-GO reason naming that step, unless ``--force`` accepts it (then it is listed as accepted)."""
        source_down, target_down = await asyncio.gather(ctx.reachable(ctx.source), ctx.reachable(ctx.target))
        facts: dict[str, Any] = {
            "checked_at": round(time.time(), 3),
            "source_reachable": source_down is None,
            "target_reachable": target_down is None,
            "source_error": source_down,
            "target_error": target_down,
        }
        source_up, target_up = source_down is None, target_down is None
        starts_resume = ctx.operation == FAILBACK or (ctx.plan.failover.reverse_replication and source_up)

        async def mirrormakers() -> None:
            # One SSH session per node: the two flows' states one after the other.
            facts["mirrormaker"] = await mm_states(ctx, ctx.stop_flow)
            if starts_resume:
                facts["mirrormaker_resume"] = await mm_states(ctx, ctx.resume_flow)

        async def lag() -> None:
            snapshot = await ctx.lag.read()
            topics, total, seconds, stale = lag_of(snapshot)
            (flow,) = snapshot.flows
            facts.update(
                topics=topics,
                lag_records=total,
                lag_seconds=seconds,
                stale=stale,
                heartbeat_age_s=flow.heartbeat_age_s,
                lost_records=flow.lost_records,
                checkpoint_ages={g.group: g.checkpoint_age_s for g in flow.groups},
            )

        async def into(key: str | None, work: Any) -> None:
            found = await work
            if key is None:
                facts.update(found)
            else:
                facts[key] = found

        # Everything the forecast reads is independent: read it all at once (a forecast runs every 10 s
        # in the pane, and the pre-flight's time counts in the RTO).
        reads = [mirrormakers()]
        if target_up:
            reads += [into("tasks", self._tasks(ctx)), into(None, self._groups(ctx, source_up))]
        if source_up and target_up:
            reads.append(lag())
        if ctx.operation == FAILBACK and source_up and target_up:
            reads.append(into(None, divergence(ctx)))
        if source_up and ctx.plan.failover.fence == FenceMethod.REJECT_WRITES:
            reads.append(into("open_transactions", self._open_transactions(ctx)))
        await asyncio.gather(*reads)
        ages = facts.pop("checkpoint_ages", {})
        for group in facts.get("groups", []):
            age = ages.get(group["group"])
            group["checkpoint_age_s"] = None if age is None else round(float(age), 1)
        if not any(s.startswith("running") for s in facts["mirrormaker"].values()):
            facts["tasks"] = {}  # a stopped MirrorMaker's last task states say nothing now
        hard, forcible = await self._blockers(ctx, facts)
        facts["reasons"] = hard + ([] if ctx.force else forcible)
        facts["accepted"] = forcible if ctx.force else []
        facts["go"] = not facts["reasons"]
        return facts

    async def _groups(self, ctx: DrContext, source_up: bool) -> dict[str, Any]:
        """Per consumer group what the translate step would do now — the same computation, so the
        forecast's re-deliveries are the step's — and the groups still active on the source."""
        from kdrtui.services.kafka import translate
        from kdrtui.services.runbook.translation import plan_offsets

        try:
            planned = await asyncio.to_thread(plan_offsets, ctx, source_up)
        except translate.TranslateError as exc:
            return {"groups": [], "groups_error": str(exc), "refused_groups": [], "active_on_source": []}
        groups = [
            {
                "group": group,
                "partitions": len(entry["offsets"]),
                "redeliver": int(entry["duplicates"]),
                "how": entry["how"],
                "checkpoint_age_s": None,  # filled in from the lag read
            }
            for group, entry in sorted(planned["groups"].items())
        ]
        active: list[str] = []
        if source_up and planned["groups"]:
            try:
                states = await asyncio.to_thread(
                    translate.group_states, ctx.bootstrap(ctx.source), list(planned["groups"]), ctx.timeout
                )
                active = sorted(g for g, state in states.items() if state not in ("empty", "dead", "unknown"))
            except translate.TranslateError as exc:
                ctx.say(f"cannot tell which groups are active on {ctx.source}: {exc}")
        return {"groups": groups, "refused_groups": list(planned["refused"]), "active_on_source": active}

    async def _tasks(self, ctx: DrContext) -> dict[str, Any]:
        """MirrorMaker 2's task states of the flow to drain, from its status topic on the target: a
        FAILED task copies nothing, whatever the process says (``{}`` for MM1)."""
        from kdrtui.domain.plan import MirrorMakerKind
        from kdrtui.services.kafka.mm2_status import Mm2StatusError, flow_task_states

        flow = ctx.stop_flow
        if flow.mirrormaker != MirrorMakerKind.MM2:
            return {}
        try:
            tasks = await asyncio.to_thread(
                flow_task_states, ctx.bootstrap(flow.target), flow.source, timeout=ctx.timeout
            )
        except Mm2StatusError as exc:
            return {"error": str(exc), "failed": []}
        failed = [] if tasks.error is not None else tasks.problems()
        return {"failed": failed, "healthy": tasks.healthy, "error": tasks.error}

    async def _open_transactions(self, ctx: DrContext) -> dict[str, int]:
        from kdrtui.services.kafka import fence

        try:
            topics = await ctx.covered_topics(ctx.source, ctx.stop_flow)
            return await asyncio.to_thread(fence.open_transactions, ctx.bootstrap(ctx.source), topics)
        except Exception as exc:  # a forecast line, never a crash
            ctx.say(f"cannot tell whether transactions are open on {ctx.source}: {exc}")
            return {}

    async def _blockers(self, ctx: DrContext, facts: dict[str, Any]) -> tuple[list[str], list[str]]:
        """(reasons nothing can override, reasons ``--force`` may accept)."""
        from kdrtui.services.runbook.store import StateInvalid

        hard: list[str] = []
        forcible: list[str] = []
        source_up, target_up = facts["source_reachable"], facts["target_reachable"]
        try:
            state = ctx.state()
        except StateInvalid as exc:
            hard.append(f"{exc}: {exc.repair}")
            state = None
        own_switch = state is not None and state.run is not None and state.run == ctx.run_id
        if state is not None and state.active != ctx.source and not own_switch:
            hard.append(
                f"{ctx.source} is not the active cluster ({state.active} is, per {ctx.store.state_path})"
            )
        if not target_up:
            hard.append(f"{ctx.target} is unreachable: {facts['target_error']}")
        stop_states: dict[str, str] = facts["mirrormaker"]
        unreadable = {w: s for w, s in stop_states.items() if s.startswith("unknown")}
        for where, text in sorted(unreadable.items()):
            why = text.removeprefix("unknown: ")
            forcible.append(
                f"MirrorMaker {ctx.stop_flow.name} on {where}: state unreadable ({why}): "
                "step stop-mirrormaker cannot stop it"
            )
        for where, text in sorted((facts.get("mirrormaker_resume") or {}).items()):
            if text.startswith("unknown") and where not in unreadable:
                forcible.append(
                    f"MirrorMaker {ctx.resume_flow.name} on {where}: unreachable "
                    f"({text.removeprefix('unknown: ')}): step replication cannot start it"
                )
        failed_tasks = (facts.get("tasks") or {}).get("failed") or []
        if failed_tasks and not (facts.get("tasks") or {}).get("error"):
            forcible.append(
                f"MirrorMaker {ctx.stop_flow.name} has a FAILED task ({failed_tasks[0]}): it copies nothing, "
                "so the drain cannot finish; fix the cause and `kdrtui mm restart`, or accept the loss with "
                "--force"
            )
        running = any(s.startswith("running") for s in stop_states.values())
        if source_up and target_up and not running and not unreadable and facts.get("lag_records", 0) > 0:
            forcible.append(
                f"MirrorMaker {ctx.stop_flow.name} is not running and {facts['lag_records']:,} records are "
                "not mirrored: the drain cannot finish. Start it (kdrtui mm start) or accept the loss with "
                "--force"
            )
        if ctx.operation == FAILBACK and not source_up:
            forcible.append(
                f"{ctx.source} is unreachable: what was written there since the failover cannot be checked "
                "(--force to fail back anyway and lose it)"
            )
        if target_up:
            coordinator = await self._coordinator_problem(ctx)
            if coordinator is not None:
                forcible.append(
                    f"{ctx.target}: the group coordinator does not answer ({coordinator}): step "
                    "translate-offsets cannot move the consumer groups"
                )
            if ctx.operation != FAILBACK:
                hard += await self._target_fenced(ctx, state)
        return hard, forcible

    async def _coordinator_problem(self, ctx: DrContext) -> str | None:
        """None when the target's group coordinator answers (a describe of a group nobody uses)."""
        from kdrtui.services.kafka import translate

        # A coordinator that is moving or loading (a broker just restarted) answers NOT_COORDINATOR or
        # COORDINATOR_LOAD_IN_PROGRESS for a moment: only one that stays away blocks.
        deadline = time.monotonic() + 2 * ctx.timeout
        while True:
            try:
                await asyncio.to_thread(
                    translate.group_states, ctx.bootstrap(ctx.target), ["kdrtui-preflight"], ctx.timeout
                )
                return None
            except translate.TranslateError as exc:
                if time.monotonic() > deadline:
                    return str(exc)
            await asyncio.sleep(0.5)

    async def _target_fenced(self, ctx: DrContext, state: Any) -> list[str]:
        """Why the cluster clients would move to refuses writes: a fence the DR state records on it, or
        topics that refuse every write on the cluster itself (a fence left behind)."""
        from kdrtui.services.kafka import fence

        reasons: list[str] = []
        if state is not None and ctx.target in state.fenced:
            reasons.append(
                f"{ctx.target} is fenced per the DR state ({ctx.store.state_path}): clients moved there "
                "could not write; finish the run that fenced it (kdrtui failback --resume) first"
            )
        try:
            topics = await ctx.covered_topics(ctx.target, ctx.resume_flow)
            refused = await asyncio.to_thread(
                fence.fenced_topics, ctx.bootstrap(ctx.target), str(FenceMethod.REJECT_WRITES), topics
            )
        except Exception as exc:  # a check that cannot run is said, never a crash
            reasons.append(f"cannot check whether {ctx.target} takes writes: {type(exc).__name__}: {exc}")
            return reasons
        if refused:
            reasons.append(
                f"{ctx.target} refuses every write on {len(refused)} topic(s) (max.message.bytes = 1, "
                f"a fence left in place): {', '.join(refused[:5])}"
            )
        return reasons

    async def describe(self, ctx: DrContext) -> list[str]:
        facts = await self.forecast(ctx)
        ctx.facts.by_step[self.key] = facts  # in memory only: later steps describe what they would do with it
        return forecast_lines(ctx, facts)

    async def run(self, ctx: DrContext) -> Outcome:
        facts = await self.forecast(ctx)
        for line in forecast_lines(ctx, facts):
            ctx.say(line)
        if not facts["go"]:
            raise StepFailed("NO-GO: " + "; ".join(facts["reasons"]), **facts)
        return Outcome.done("GO", **facts)

    async def verify(self, ctx: DrContext, facts: dict[str, Any]) -> str | None:
        down = await ctx.reachable(ctx.target)
        return None if down is None else f"{ctx.target} is unreachable now: {down}"


def _reach_line(alias: str, reachable: bool, error: object) -> str:
    return f"{alias}: reachable" if reachable else f"{alias}: UNREACHABLE: {error}"


def forecast_lines(ctx: DrContext, facts: dict[str, Any]) -> list[str]:
    """The pre-flight forecast as an operator reads it."""
    lines = [
        f"{ctx.operation} {ctx.source} -> {ctx.target}",
        _reach_line(ctx.target, facts["target_reachable"], facts["target_error"]),
        _reach_line(ctx.source, facts["source_reachable"], facts["source_error"]),
    ]
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
    """The best lower bound on what is not mirrored when the source cannot be read: the flow's last fresh
    lag read (remembered by every lag reader), and its age when the source was found unreachable."""
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
    """``at least 432 records (as of 12 s before primary went away)`` or why nothing is known."""
    if records is None or age_s is None:
        return f"unknown: no lag of {source} was ever read here"
    return f"at least {records:,} records (as of {age_s:.0f} s before {source} went away)"


def rpo_bound_text(ctx: DrContext, lost_at: float | None) -> str:
    bound = rpo_bound(ctx, lost_at or time.time())
    return bound_text(bound["rpo_bound_records"], bound["rpo_bound_age_s"], ctx.source)


# --- 2. fence -----------------------------------------------------------------------------------------


class Fence(Step[DrContext]):
    key = "fence"
    title = "Fence the old side against writes"

    def undone_by(self, ctx: DrContext) -> frozenset[str]:
        # Failback fences the DR side only until its replication step takes every fence down.
        return frozenset({"replication"}) if ctx.operation == FAILBACK else frozenset()

    async def describe(self, ctx: DrContext) -> list[str]:
        method = ctx.plan.failover.fence
        if method == FenceMethod.NONE:
            return [f"fence = none: nothing is fenced; applications must stop writing to {ctx.source}"]
        topics = await ctx.covered_topics(ctx.source, ctx.stop_flow)
        what = (
            "max.message.bytes = 1 (every write refused)"
            if method == FenceMethod.REJECT_WRITES
            else ("deny-write ACLs")
        )
        return [f"{what} on {len(topics)} topic(s) of {ctx.source}: {', '.join(topics[:8])}"]

    async def run(self, ctx: DrContext) -> Outcome:
        from kdrtui.services.kafka import fence

        method = ctx.plan.failover.fence
        if method == FenceMethod.NONE:
            return Outcome.skipped(f"fence = none: applications must stop writing to {ctx.source} themselves")
        if not ctx.facts["preflight"].get("source_reachable", True):
            return Outcome.skipped(f"{ctx.source} is unreachable (nothing can write to it either)")
        topics = await ctx.covered_topics(ctx.source, ctx.stop_flow)
        bootstrap = ctx.bootstrap(ctx.source)
        state = ctx.state()
        record = state.fenced.get(ctx.source, {"method": str(method), "topics": {}})
        try:
            if method == FenceMethod.REJECT_WRITES:
                current = await asyncio.to_thread(fence.read_max_bytes, bootstrap, topics)
                wanted: dict[str, int | None] = {t: fence.REJECTING for t in topics}
                await self._transactions_closed(ctx, [t for t in topics if current.get(t) != fence.REJECTING])
                for topic in wanted:
                    # Keep the value from before the FIRST fence: a resumed run must not record its own.
                    if topic not in record["topics"] and current.get(topic) != wanted[topic]:
                        record["topics"][topic] = current.get(topic)
                state.fenced[ctx.source] = record
                ctx.save_state(state)  # before changing anything: failback can always undo
                change = {t: v for t, v in wanted.items() if current.get(t) != v}
                await asyncio.to_thread(fence.set_max_bytes, bootstrap, change)
                ctx.say(
                    f"writes refused on {len(change)} topic(s) (max.message.bytes = 1; "
                    f"{len(wanted) - len(change)} already)"
                )
            else:
                record["topics"].update({t: None for t in topics})
                state.fenced[ctx.source] = record
                ctx.save_state(state)
                await asyncio.to_thread(fence.deny_writes, bootstrap, topics)
                ctx.say(f"deny-write ACLs on {len(topics)} topic(s)")
        except fence.FenceError as exc:
            raise StepFailed(str(exc)) from exc
        moved = await self._still_moving(ctx, topics)
        if moved:
            raise StepFailed(f"fence did not hold: {', '.join(moved[:5])} still take writes")
        caught: dict[str, int] = {}
        if method == FenceMethod.REJECT_WRITES:
            try:
                caught = await asyncio.to_thread(fence.open_transactions, bootstrap, topics)
            except fence.FenceError as exc:
                ctx.say(f"cannot check for transactions caught by the fence: {exc}")
            for where, records in sorted(caught.items()):
                ctx.say(
                    f"WARNING: a transaction began on {where} as the fence went up ({records} record(s)): "
                    "its commit/abort markers are refused too, so it hangs until the brokers' transaction "
                    "coordinator reloads (fence = acls does not block markers)"
                )
        return Outcome.done(
            f"{method} fence on {len(topics)} topic(s) of {ctx.source}; writes stopped",
            topics=topics,
            caught_transactions=caught,
        )

    async def _transactions_closed(self, ctx: DrContext, topics: list[str]) -> None:
        """Wait for the transactions open on ``topics`` to end before ``max.message.bytes = 1``: the brokers
        would refuse their commit/abort markers too and leave them hanging (the coordinator gives up on
        a marker the log refuses). Up to ``drain_timeout_seconds``; ``--force`` fences anyway."""
        from kdrtui.services.kafka import fence

        bootstrap = ctx.bootstrap(ctx.source)
        limit = ctx.plan.failover.drain_timeout_seconds
        deadline = time.monotonic() + limit
        while topics:
            found = await asyncio.to_thread(fence.open_transactions, bootstrap, topics)
            if not found:
                return
            if time.monotonic() > deadline:
                where = ", ".join(sorted(found)[:5])
                if ctx.force:
                    ctx.say(f"--force: fencing with transactions still open on {where}; they will hang")
                    return
                raise StepFailed(
                    f"transactions still open after {limit} s on {where}: the fence would leave them "
                    "hanging (the brokers refuse their markers too); stop the transactional producers, or "
                    "use fence = acls, or --force to fence anyway",
                    open_transactions=found,
                )
            ctx.say(
                f"waiting for {len(found)} open transaction(s) to end before refusing writes "
                f"({', '.join(sorted(found)[:3])}): the fence would refuse their markers too"
            )
            await asyncio.sleep(1.0)

    async def _still_moving(self, ctx: DrContext, topics: list[str], settle_s: float = 15.0) -> list[str]:
        """Topics whose end offsets still move ``settle_s`` after the fence, else [].

        Brokers apply a config change when its metadata reaches them, and requests already past the check
        still land: wait for one quiet 1 s window, for up to ``settle_s``.
        """
        if not topics:
            return []
        deadline = time.monotonic() + settle_s
        await asyncio.sleep(0.2)
        before = await _end_sums(ctx, ctx.source, topics)
        while True:
            await asyncio.sleep(1.0)
            now = await _end_sums(ctx, ctx.source, topics)
            moved = [t for t in topics if now.get(t, 0) != before.get(t, 0)]
            if not moved or time.monotonic() > deadline:
                return moved
            ctx.say(f"{len(moved)} topic(s) still took writes; waiting for the fence to reach every broker")
            before = now

    async def verify(self, ctx: DrContext, facts: dict[str, Any]) -> str | None:
        if not facts.get("topics"):
            return None
        if ctx.plan.failover.fence == FenceMethod.REJECT_WRITES:
            from kdrtui.services.kafka import fence

            current = await asyncio.to_thread(
                fence.read_max_bytes, ctx.bootstrap(ctx.source), facts["topics"]
            )
            lost = [t for t in facts["topics"] if current.get(t) != fence.REJECTING]
            return f"no longer fenced: {', '.join(lost[:5])}" if lost else None
        return None


async def _end_sums(ctx: DrContext, alias: str, topics: list[str]) -> dict[str, int]:
    """Sum of end offsets per topic."""
    from confluent_kafka.admin import AdminClient

    from kdrtui.services.kafka.config import client_config
    from kdrtui.services.kafka.offsets import end_offsets_request, end_offsets_result, request_end_offsets

    def read() -> dict[str, int]:
        admin = AdminClient(client_config(ctx.bootstrap(alias)))
        meta = admin.list_topics(timeout=ctx.timeout).topics
        wanted = [(t, p) for t in topics if t in meta for p in meta[t].partitions]
        ends, _error = end_offsets_result(
            request_end_offsets(admin, end_offsets_request(wanted), ctx.timeout), ctx.timeout + 5
        )
        sums: dict[str, int] = {}
        for (topic, _p), end in ends.items():
            sums[topic] = sums.get(topic, 0) + end
        return sums

    return await asyncio.to_thread(read)


# --- 3. drain -----------------------------------------------------------------------------------------


class Drain(Step[DrContext]):
    key = "drain"
    title = "Drain: wait for the mirror lag to reach 0"

    async def describe(self, ctx: DrContext) -> list[str]:
        if ctx.force:
            return ["skipped: --force"]
        return [f"wait up to {ctx.plan.failover.drain_timeout_seconds} s for {ctx.stop_flow.name} lag = 0"]

    async def run(self, ctx: DrContext) -> Outcome:
        if ctx.force:
            return Outcome.skipped("--force: not waiting for MirrorMaker to catch up")
        if not ctx.facts["preflight"].get("source_reachable", True):
            return Outcome.skipped(f"{ctx.source} is unreachable: nothing more can be mirrored")
        timeout = ctx.plan.failover.drain_timeout_seconds
        started = time.monotonic()
        first: int | None = None
        while True:
            snapshot = await ctx.lag.read()
            _topics, total, seconds, stale = lag_of(snapshot)
            first = total if first is None else first
            if not stale and total == 0:
                took = time.monotonic() - started
                return Outcome.done(f"lag 0 after {took:.1f} s ({first:,} records drained)", drained=first)
            done = 0 if not first else max(0, first - total)
            ctx.say(
                f"lag {total:,} records ({seconds:.1f} s){' (stale)' if stale else ''}; "
                f"{done:,}/{first:,} drained"
            )
            if time.monotonic() - started > timeout:
                raise StepFailed(
                    f"lag still {total:,} records after {timeout} s: is something still writing to "
                    f"{ctx.source} "
                    "(fence it), or MirrorMaker stuck? --force fails over without waiting",
                    lag_records=total,
                )
            await asyncio.sleep(1.0)


# --- 4. stop MirrorMaker ------------------------------------------------------------------------------


class StopMirrorMaker(Step[DrContext]):
    key = "stop-mirrormaker"
    title = "Stop MirrorMaker"

    async def describe(self, ctx: DrContext) -> list[str]:
        states = await mm_states(ctx, ctx.stop_flow)
        return [f"stop {where} ({state})" for where, state in sorted(states.items())]

    async def run(self, ctx: DrContext) -> Outcome:
        from kdrtui.services.mirrormaker.manager import MirrorMakerError

        stopped: list[str] = []
        try:
            deps = await ctx.manager.select(flow=ctx.stop_flow.name)
            for dep in deps:
                status = await ctx.manager.stop(dep, ctx.say)
                stopped.append(f"{dep.node.name}/{dep.name}: {status.state}")
        except MirrorMakerError as exc:
            if not ctx.force:
                raise StepFailed(
                    f"cannot stop MirrorMaker {ctx.stop_flow.name}: {exc} (--force to go on)"
                ) from exc
            ctx.say(f"WARNING: could not stop MirrorMaker ({exc}); going on because of --force")
            stopped.append(f"unknown: {exc}")
        # What is left unmirrored now is lost to the target: the RPO achieved.
        rpo = await self._unmirrored(ctx)
        left = (
            f"{rpo['rpo_records']:,} records not mirrored"
            if rpo["rpo_records"] is not None
            else "records not mirrored: "
            + bound_text(rpo.get("rpo_bound_records"), rpo.get("rpo_bound_age_s"), ctx.source)
        )
        return Outcome.done(
            f"stopped {len(stopped)} deployment(s); {left}",
            stopped=stopped,
            **rpo,
        )

    async def _unmirrored(self, ctx: DrContext) -> dict[str, Any]:
        """The RPO: what is not mirrored now, measured while the source answers; otherwise unknown, with
        the best bound known (the flow's last fresh lag read, and how long before the source went away)."""
        preflight = ctx.facts["preflight"]
        if preflight.get("source_reachable") and await ctx.reachable(ctx.source) is None:
            # MirrorMaker flushes its position on stop; read until the numbers settle (two equal readings).
            previous: int | None = None
            for _ in range(10):
                snapshot = await ctx.lag.read()
                topics, total, seconds, stale = lag_of(snapshot)
                if not stale and total == previous:
                    break
                previous = total
                await asyncio.sleep(0.5)
            (flow,) = snapshot.flows
            return {
                "rpo_records": total,
                "rpo_seconds": seconds,
                "rpo_topics": topics,
                "rpo_measured": True,
                # Deleted on the source (retention, delete_records) before MirrorMaker copied them.
                "lost_records": flow.lost_records,
                "lost_topics": {t.topic: t.lost_records for t in flow.topics if t.lost_records},
            }
        return {
            "rpo_records": None,
            "rpo_seconds": None,
            "rpo_topics": {},
            "rpo_measured": False,
        } | rpo_bound(ctx, preflight.get("checked_at") or time.time())

    async def verify(self, ctx: DrContext, facts: dict[str, Any]) -> str | None:
        states = await mm_states(ctx, ctx.stop_flow)
        running = [where for where, state in states.items() if state.startswith("running")]
        return f"MirrorMaker runs again on {', '.join(running)}" if running else None
