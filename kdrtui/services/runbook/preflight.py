"""Step 1 of a failover or failback: the pre-flight — what the run would meet, GO or NO-GO.

Everything it reads is read at once; anything a later step needs and cannot reach is a NO-GO reason
naming that step (``--force`` may accept some); the forecast is printed by :mod:`.forecast`.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from kdrtui.domain.health import health_block, unwritable_reason
from kdrtui.domain.plan import FenceMethod
from kdrtui.domain.runbook import Outcome, Step, StepFailed
from kdrtui.services.runbook.context import FAILBACK, DrContext, lag_of, mm_states
from kdrtui.services.runbook.fence_nsg_step import fence_outlook, nsg_problems
from kdrtui.services.runbook.forecast import divergence, forecast_lines

# --- 1. pre-flight ----------------------------------------------------------------------------------


class Preflight(Step[DrContext]):
    key = "preflight"
    title = "Pre-flight: health, MirrorMaker, what would be lost"

    async def forecast(self, ctx: DrContext) -> dict[str, Any]:
        """What the run would meet now, and GO / NO-GO: anything a later step needs and cannot reach is a
        NO-GO reason naming that step, unless ``--force`` accepts it (then it is listed as accepted)."""
        source_seen, target_seen = await asyncio.gather(ctx.observe(ctx.source), ctx.observe(ctx.target))
        source_down = None if source_seen.ok else (source_seen.error or "no answer")
        target_down = None if target_seen.ok else (target_seen.error or "no answer")
        who = "the DR cluster" if ctx.operation != FAILBACK else f"the cluster failed back to ({ctx.target})"
        facts: dict[str, Any] = {
            "checked_at": round(time.time(), 3),
            "source_reachable": source_down is None,
            "target_reachable": target_down is None,
            "source_error": source_down,
            "target_error": target_down,
            "source_health": health_block(source_seen),
            "target_health": health_block(target_seen),
            "target_unwritable": unwritable_reason(ctx.target, target_seen, who),
            "degraded": {
                alias: seen.health_line()
                for alias, seen in {ctx.source: source_seen, ctx.target: target_seen}.items()
                if seen.degraded
            },
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
        if source_up and ctx.plan.failover.kafka_fence == FenceMethod.REJECT_WRITES:
            reads.append(into("open_transactions", self._open_transactions(ctx)))
        if source_up and ctx.plan.failover.kafka_fence == FenceMethod.ACL:
            reads.append(into("acl_problem", self._acl_problem(ctx)))
        if FenceMethod.NSG in ctx.plan.failover.fences:  # through ARM: asked whether brokers answer or not
            reads.append(into("nsg_problem", nsg_problems(ctx, ctx.source)))
        if target_up and ctx.operation != FAILBACK:  # a failback's own checks say what it needs
            reads.append(into("readiness", self._readiness(ctx, source_up)))
        await asyncio.gather(*reads)
        ages = facts.pop("checkpoint_ages", {})
        for group in facts.get("groups", []):
            age = ages.get(group["group"])
            group["checkpoint_age_s"] = None if age is None else round(float(age), 1)
        if not any(s.startswith("running") for s in facts["mirrormaker"].values()):
            facts["tasks"] = {}  # a stopped MirrorMaker's last task states say nothing now
        facts["fence_outlook"] = fence_outlook(ctx, source_up, facts.get("nsg_problem"))
        hard, forcible = await self._blockers(ctx, facts)
        facts["reasons"] = hard + ([] if ctx.force else forcible)
        facts["accepted"] = forcible if ctx.force else []
        facts["go"] = not facts["reasons"]
        return facts

    async def _groups(self, ctx: DrContext, source_up: bool) -> dict[str, Any]:
        """Per consumer group what the translate step would do now — the same computation, so the
        forecast's re-deliveries are the step's — and the groups still active on the source."""
        from kdrtui.services.kafka.admin_calls import TranslateError
        from kdrtui.services.kafka.group_offsets import group_states
        from kdrtui.services.runbook.translation import plan_offsets

        try:
            planned = await asyncio.to_thread(plan_offsets, ctx, source_up)
        except TranslateError as exc:
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
                    group_states, ctx.bootstrap(ctx.source), list(planned["groups"]), ctx.timeout
                )
                active = sorted(g for g, state in states.items() if state not in ("empty", "dead", "unknown"))
            except TranslateError as exc:
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

    async def _acl_problem(self, ctx: DrContext) -> str | None:
        """Why the ``acl`` fence could not fence the source (no authorizer; kdrtui may not describe or
        create ACLs there), else None."""
        from kdrtui.services.kafka import fence_acl

        try:
            return await asyncio.to_thread(fence_acl.access_problem, ctx.source, ctx.bootstrap(ctx.source))
        except Exception as exc:  # a check that cannot run is a reason, never a crash
            return f"{ctx.source}: cannot check whether kdrtui may create ACLs: {type(exc).__name__}: {exc}"

    async def _readiness(self, ctx: DrContext, source_up: bool) -> list[dict[str, str]]:
        """The blocking findings of ``kdrtui check``'s cheap reads for the flow the run stops (a request or
        two per cluster, when both answered: mirrors, their partitions and record size, min ISR; and the
        switch hook)."""
        from kdrtui.services.readiness import cheap_blocking

        try:
            found = await asyncio.to_thread(
                cheap_blocking, ctx.plan, ctx.stop_flow, timeout=ctx.timeout, read_clusters=source_up
            )
        except Exception as exc:  # a check that cannot run is said, never a crash
            ctx.say(f"readiness not checked: {type(exc).__name__}: {exc}")
            return []
        return [f.to_dict() for f in found]

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
        if facts.get("target_unwritable"):  # a broker down with every partition at min ISR is only a line
            forcible.append(facts["target_unwritable"])
        if facts.get("acl_problem"):
            hard.append(f"step fence: {facts['acl_problem']}")
        if facts.get("nsg_problem"):
            forcible.append(
                f"step fence: the NSG fence cannot go up on {ctx.source}: {'; '.join(facts['nsg_problem'])} "
                "(--force fails over without it)"
            )
        from kdrtui.services.runbook.dns_switch import dns_preflight

        hard += dns_preflight(ctx.plan, ctx.target)
        for finding in facts.get("readiness") or []:  # kdrtui check's blocking findings, as it says them
            forcible.append(f"readiness: {finding['where']}: {finding['what']} (fix: {finding['fix']})")
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
        from kdrtui.services.kafka.admin_calls import TranslateError
        from kdrtui.services.kafka.group_offsets import group_states

        # A coordinator that is moving or loading (a broker just restarted) answers NOT_COORDINATOR or
        # COORDINATOR_LOAD_IN_PROGRESS for a moment: only one that stays away blocks.
        deadline = time.monotonic() + 2 * ctx.timeout
        while True:
            try:
                await asyncio.to_thread(
                    group_states, ctx.bootstrap(ctx.target), ["kdrtui-preflight"], ctx.timeout
                )
                return None
            except TranslateError as exc:
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
