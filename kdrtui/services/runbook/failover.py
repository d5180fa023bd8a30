"""The failover and failback runbooks: steps over the real clusters, MirrorMaker and the DR state.

Failover ``primary -> dr`` (failback is the same engine from ``dr`` back to ``primary``):

1. ``preflight``   target healthy; MirrorMaker state; what is not mirrored yet (the RPO if forced now); the
                   groups' checkpoints; whether the source is reachable. GO / NO-GO with reasons.
2. ``fence``       keep the old side from taking writes (plan ``[failover] fence``), verified by end
                   offsets that stop moving; what it replaced is kept in the DR state for undoing.
3. ``drain``       wait for the mirror lag to reach 0 (skipped with --force or when the source is down).
4. ``stop-mirrormaker``  stop the flow's MirrorMaker on every edge node; measure what was left unmirrored.
5. ``translate-offsets`` commit each group's translated offsets on the target (empty groups only).
6. ``switch-clients``    by ``[switch] method``; the DR state records the new active cluster.
7. ``replication``       failover: start mirroring back; failback: undo the fences, restore the original
                         direction.
8. ``report``      RPO (records not mirrored at cutover), RTO (confirmation -> clients switched), steps.

Blocking Kafka calls run in threads (``asyncio.to_thread``); MirrorMaker is driven over SSH by
:class:`~kdrtui.services.mirrormaker.manager.MirrorMakerManager`. Each step lives in a module of its own
(:mod:`~kdrtui.services.runbook.cutover` has steps 1 to 4); this one holds step 7 and builds the runbook.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

from kdrtui.domain.plan import MirrorFlow, MirrorMakerKind, Plan
from kdrtui.domain.runbook import Outcome, Step, StepFailed
from kdrtui.services.runbook.active_active import is_active_active
from kdrtui.services.runbook.context import FAILBACK, FAILOVER, DrContext, LagReader, mm_states
from kdrtui.services.runbook.cutover import Drain, Fence, Preflight, StopMirrorMaker, forecast_lines
from kdrtui.services.runbook.flows import reverse_flow, with_reverse
from kdrtui.services.runbook.report_step import Report, build_report, report_lines
from kdrtui.services.runbook.store import RunbookStore
from kdrtui.services.runbook.switch_step import SwitchClients
from kdrtui.services.runbook.translation import TranslateOffsets
from kdrtui.services.runbook.unfence import still_fenced, unfence

__all__ = [
    "FAILBACK",
    "FAILOVER",
    "DrContext",
    "LagReader",
    "Preflight",
    "build_report",
    "forecast_lines",
    "forward_of",
    "make_context",
    "report_lines",
    "steps",
]


# --- 7. replication after the switch ------------------------------------------------------------------


class Replication(Step[DrContext]):
    """Failover: start mirroring back; failback: undo the fences, deal with the divergent records and
    restore the original direction."""

    key = "replication"
    title = "Replication in the new direction"

    async def describe(self, ctx: DrContext) -> list[str]:
        if ctx.operation == FAILOVER:
            if not ctx.plan.failover.reverse_replication:
                return ["reverse replication off in the plan: nothing to start"]
            if is_active_active(ctx.plan):
                return [
                    f"MirrorMaker {ctx.resume_flow.name} (the plan's own flow: active-active) runs on as it "
                    "is; started only if it is not running"
                ]
            return [
                f"start MirrorMaker {ctx.resume_flow.name} (prefixed names: cannot loop) "
                f"if {ctx.source} is reachable"
            ]
        return [
            f"undo the fences on {ctx.target} and {ctx.source}",
            f"start MirrorMaker {ctx.resume_flow.name} again (the original direction)",
        ]

    async def run(self, ctx: DrContext) -> Outcome:
        if ctx.operation == FAILBACK:
            unfenced: dict[str, dict[str, Any]] = {}
            for alias in (ctx.target, ctx.source):
                record = await unfence(ctx, alias)
                if record is not None:
                    unfenced[alias] = record
            divergent = await self._divergent(ctx)
            started = await self._start(ctx)
            state = ctx.state()
            state.reverse_flow = None
            ctx.save_state(state)
            undone = [f"fence on {alias} undone" for alias in unfenced]
            return Outcome.done(
                "; ".join([*undone, started]), started=started, unfenced=unfenced, divergent=divergent
            )
        if not ctx.plan.failover.reverse_replication:
            return Outcome.skipped("reverse replication is off in the plan ([failover] reverse_replication)")
        down = await ctx.reachable(ctx.source)
        if down is not None:
            return Outcome.skipped(f"{ctx.source} is unreachable ({down}); fail back once it is back")
        started = await self._start(ctx)
        state = ctx.state()
        state.reverse_flow = ctx.resume_flow.name
        ctx.save_state(state)
        return Outcome.done(started, started=started)

    async def _divergent(self, ctx: DrContext) -> dict[str, Any]:
        """Failback, before the original flow starts again: the records the DR cluster never got are
        delivered late (left for MirrorMaker), or exported and skipped (``--divergent=skip``)."""
        from kdrtui.domain.mirrormaker_render import mm1_group_id
        from kdrtui.services.kafka import divergent

        if await ctx.reachable(ctx.target) is not None:
            return {"choice": ctx.divergent, "records": None, "why": f"{ctx.target} unreachable"}
        snapshot = await ctx.resume_lag.read()
        (flow,) = snapshot.flows
        ranges = {
            (topic.topic, p.partition): (p.replicated, p.source_end)
            for topic in flow.topics
            for p in topic.partitions
            if p.lag_records > 0
        }
        counts = {t.topic: t.lag_records for t in flow.topics if t.lag_records}
        facts: dict[str, Any] = {"choice": ctx.divergent, "records": sum(counts.values()), "topics": counts}
        if ctx.divergent != "skip" or not ranges:
            if counts:
                ctx.say(f"{sum(counts.values()):,} divergent record(s) left for MirrorMaker to deliver late")
            return facts
        flow_plan = ctx.resume_flow
        try:
            exported = await asyncio.to_thread(
                divergent.export, ctx.bootstrap(ctx.target), ranges, ctx.store.dir
            )
            for name, count in sorted(exported.items()):
                ctx.say(f"exported {count:,} record(s) to {ctx.store.dir / name}")
            moves = {tp: end for tp, (_start, end) in ranges.items()}
            ctx.note(divergent_skip={f"{t}:{p}": end for (t, p), end in moves.items()})
            if flow_plan.mirrormaker == MirrorMakerKind.MM1:
                await asyncio.to_thread(
                    divergent.skip_mm1, ctx.bootstrap(ctx.target), mm1_group_id(flow_plan), moves
                )
            else:
                await asyncio.to_thread(
                    divergent.skip_mm2, ctx.bootstrap(ctx.source), flow_plan.source, moves
                )
        except divergent.DivergentError as exc:
            raise StepFailed(f"cannot skip the divergent records: {exc}") from exc
        ctx.say(f"MirrorMaker {flow_plan.name} resumes after {sum(counts.values()):,} skipped record(s)")
        return facts | {"exported": {str(ctx.store.dir / name): n for name, n in exported.items()}}

    async def _start(self, ctx: DrContext) -> str:
        from kdrtui.services.mirrormaker.manager import MirrorMakerError

        try:
            deps = await ctx.manager.select(flow=ctx.resume_flow.name)
            for dep in deps:
                await ctx.manager.start(dep, ctx.say)
        except MirrorMakerError as exc:
            raise StepFailed(f"cannot start MirrorMaker {ctx.resume_flow.name}: {exc}") from exc
        return f"MirrorMaker {ctx.resume_flow.name} running on {len(deps)} node(s)"

    async def verify(self, ctx: DrContext, facts: dict[str, Any]) -> str | None:
        if ctx.operation == FAILBACK:
            # The fences this step took down (and the failback's own fence step put up) must stay down.
            left = [alias for alias in (ctx.target, ctx.source) if alias in ctx.state().fenced]
            if left:
                return f"the DR state says {', '.join(left)} is still fenced"
            for alias, record in (facts.get("unfenced") or {}).items():
                still = await still_fenced(ctx, alias, record)
                if still:
                    return f"writes still refused on {alias}: {', '.join(still[:5])}"
        if not facts.get("started"):
            return None
        states = await mm_states(ctx, ctx.resume_flow)
        down = [w for w, s in states.items() if not s.startswith(("running", "scheduled"))]
        return f"MirrorMaker {ctx.resume_flow.name} not running on {', '.join(down)}" if down else None


# --- building a runbook -------------------------------------------------------------------------------


def steps() -> list[Step[DrContext]]:
    """The steps of a failover or failback, in order."""
    return [
        Preflight(),
        Fence(),
        Drain(),
        StopMirrorMaker(),
        TranslateOffsets(),
        SwitchClients(),
        Replication(),
        Report(),
    ]


def make_context(
    plan: Plan,
    store: RunbookStore,
    operation: str,
    *,
    force: bool = False,
    manager_factory: Callable[[Plan], Any] | None = None,
    lag_factory: Callable[[Plan], Any] | None = None,
    confirmed_at: float | None = None,
    divergent: str = "deliver",
) -> DrContext:
    """The context of a failover (primary -> secondary) or failback (back to primary)."""
    primary, secondary = plan.primary_alias, plan.secondary_alias
    forward = forward_of(plan)
    full = with_reverse(plan, forward)
    back = reverse_flow(full, forward)
    if operation == FAILOVER:
        source, target, stop, resume = primary, secondary, forward, back
    else:
        source, target, stop, resume = secondary, primary, back, forward
    return DrContext(
        plan=full,
        store=store,
        operation=operation,
        source=source,
        target=target,
        stop_flow=stop,
        resume_flow=resume,
        force=force,
        manager_factory=manager_factory,
        lag_factory=lag_factory,
        confirmed_at=confirmed_at if confirmed_at is not None else time.time(),
        divergent=divergent,
    )


def forward_of(plan: Plan) -> MirrorFlow:
    """The plan's primary -> secondary flow."""
    from kdrtui.services.runbook.flows import forward_flow

    return forward_flow(plan, plan.primary_alias, plan.secondary_alias)
