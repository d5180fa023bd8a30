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
:class:`~kdrtui.services.mirrormaker.manager.MirrorMakerManager`.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Callable
from typing import Any

from kdrtui.domain.plan import MirrorFlow, MirrorMakerKind, Naming, Plan, SwitchMethod
from kdrtui.domain.runbook import Outcome, Step, StepFailed
from kdrtui.services.runbook.context import FAILBACK, FAILOVER, DrContext, LagReader, mm_states
from kdrtui.services.runbook.cutover import Drain, Fence, Preflight, StopMirrorMaker, forecast_lines
from kdrtui.services.runbook.flows import reverse_flow, with_reverse
from kdrtui.services.runbook.store import RunbookStore
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


# --- 6. switch clients --------------------------------------------------------------------------------


class SwitchClients(Step[DrContext]):
    key = "switch-clients"
    title = "Switch clients"

    def mapping(self, ctx: DrContext) -> list[str]:
        flow = ctx.stop_flow
        lines = [f"bootstrap servers: {ctx.bootstrap(ctx.target)}"]
        if flow.naming == Naming.PREFIXED and ctx.operation == FAILOVER:
            lines.append(
                f"consumers: topic T -> {flow.source}.T (history, offsets translated) and T (new writes on "
                f"{ctx.target}); e.g. subscribe to ^({flow.source}\\.)?T$"
            )
            lines.append(f"producers: write T on {ctx.target}")
        elif ctx.operation == FAILBACK:
            lines.append(
                f"consumers: topic T and {flow.source}.T (written on {flow.source} during the outage)"
            )
            lines.append(f"producers: write T on {ctx.target}")
        else:
            lines.append("topics keep their names")
        return lines

    async def describe(self, ctx: DrContext) -> list[str]:
        method = ctx.plan.switch.method
        head = {
            SwitchMethod.NONE: "print where clients go now (move them yourself)",
            SwitchMethod.COMMAND: f"run: {ctx.plan.switch.command}",
            SwitchMethod.DNS: "repoint the DNS record (Azure Private DNS)",
        }[method]
        return [head, *self.mapping(ctx), f"record {ctx.target} as the active cluster"]

    async def run(self, ctx: DrContext) -> Outcome:
        state = ctx.state()
        if (
            state.active == ctx.target
            and state.operation == ctx.operation
            and state.run in (None, ctx.run_id)
        ):
            # Switched by an earlier run that died before journaling it: never run the hook twice.
            return Outcome.done(
                f"clients already on {ctx.target} (since {state.since})", switched_at=state.since
            )
        method = ctx.plan.switch.method
        if method == SwitchMethod.DNS:
            raise StepFailed(
                "switch.method = dns is not available yet (it needs the Azure provisioning support); "
                'use "command" or "none"'
            )
        created = await self._producer_topics(ctx)
        if method == SwitchMethod.COMMAND:
            await self._hook(ctx)
        for line in self.mapping(ctx):
            ctx.say(line)
        switched_at = time.time()
        state.active, state.since, state.operation = ctx.target, switched_at, ctx.operation
        state.run = ctx.run_id or None
        ctx.save_state(state)
        how = "hook ran" if method == SwitchMethod.COMMAND else "move clients as printed"
        return Outcome.done(
            f"{ctx.target} is active ({how})",
            switched_at=switched_at,
            mapping=self.mapping(ctx),
            created=created,
        )

    async def _producer_topics(self, ctx: DrContext) -> list[str]:
        """Failover with prefixed names: producers now write ``T`` on the target; create it if missing."""
        from kdrtui.services.kafka.topics import ensure_local_topics

        flow = ctx.stop_flow
        if ctx.operation != FAILOVER or flow.naming != Naming.PREFIXED:
            return []
        alive: list[str] | None = None
        if await ctx.reachable(ctx.source) is None:
            # A topic deleted on the source has only history left on the target: not created again.
            alive = await ctx.covered_topics(ctx.source, flow)
        created = await asyncio.to_thread(
            ensure_local_topics,
            ctx.bootstrap(ctx.target),
            f"{flow.source}.",
            flow.topics,
            flow.topics_exclude,
            replication_factor=ctx.plan.cluster(ctx.target).replication_factor,
            alive=alive,
        )
        if created:
            ctx.say(
                f"created {len(created)} topic(s) on {ctx.target} for producers: {', '.join(created[:8])}"
            )
        return created

    async def _hook(self, ctx: DrContext) -> None:
        flow = ctx.stop_flow
        env = {
            **os.environ,
            "KDRTUI_OPERATION": ctx.operation,
            "KDRTUI_FROM": ctx.source,
            "KDRTUI_TO": ctx.target,
            "KDRTUI_BOOTSTRAP_SERVERS": ctx.bootstrap(ctx.target),
            "KDRTUI_TOPIC_PREFIX": f"{flow.source}." if flow.naming == Naming.PREFIXED else "",
            "KDRTUI_PLAN": ctx.plan.plan.name,
        }
        process = await asyncio.create_subprocess_shell(
            ctx.plan.switch.command,
            env=env,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
        )
        try:
            output, _ = await asyncio.wait_for(process.communicate(), timeout=120)
        except TimeoutError as exc:
            process.kill()
            raise StepFailed("the switch command did not finish within 120 s") from exc
        for line in output.decode(errors="replace").splitlines()[-10:]:
            ctx.say(f"switch: {line}")
        if process.returncode != 0:
            raise StepFailed(f"the switch command exited with code {process.returncode}")

    async def verify(self, ctx: DrContext, facts: dict[str, Any]) -> str | None:
        active = ctx.state().active
        return None if active == ctx.target else f"the DR state says {active} is active"


# --- 7. replication after the switch ------------------------------------------------------------------


class Replication(Step[DrContext]):
    key = "replication"
    title = "Replication in the new direction"

    async def describe(self, ctx: DrContext) -> list[str]:
        if ctx.operation == FAILOVER:
            if not ctx.plan.failover.reverse_replication:
                return ["reverse replication off in the plan: nothing to start"]
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


# --- 8. report ----------------------------------------------------------------------------------------


class Report(Step[DrContext]):
    key = "report"
    title = "Report: RPO and RTO achieved"

    async def describe(self, ctx: DrContext) -> list[str]:
        return ["RPO (records not mirrored at cutover), RTO (confirmation -> clients switched), step times"]

    async def run(self, ctx: DrContext) -> Outcome:
        report = build_report(ctx)
        for line in report_lines(report):
            ctx.say(line)
        rpo = "unknown" if report["rpo_records"] is None else f"{report['rpo_records']:,} records"
        return Outcome.done(f"RPO {rpo}, RTO {report['rto_seconds']:.1f} s", **report)


def build_report(ctx: DrContext) -> dict[str, Any]:
    stop = ctx.facts["stop-mirrormaker"]
    switch = ctx.facts["switch-clients"]
    switched_at = switch.get("switched_at") or time.time()
    return {
        "operation": ctx.operation,
        "from": ctx.source,
        "to": ctx.target,
        # Measured, or None (never a 0 that was not measured) with the best bound known.
        "rpo_records": None if stop.get("rpo_records") is None else int(stop["rpo_records"]),
        "rpo_seconds": None if stop.get("rpo_seconds") is None else float(stop["rpo_seconds"]),
        "rpo_measured": bool(stop.get("rpo_measured", False)),
        "rpo_topics": {t: v[0] for t, v in stop.get("rpo_topics", {}).items() if v and v[0]},
        "rpo_bound_records": stop.get("rpo_bound_records"),
        "rpo_bound_age_s": stop.get("rpo_bound_age_s"),
        "rpo_bound_topics": dict(stop.get("rpo_bound_topics") or {}),
        "lost_records": stop.get("lost_records"),
        "lost_topics": dict(stop.get("lost_topics") or {}),
        "rto_seconds": round(max(0.0, float(switched_at) - ctx.confirmed_at), 3),
        "groups": {
            g: {"partitions": len(e["offsets"]), "duplicates": e.get("duplicates", 0), "how": e["how"]}
            for g, e in ctx.facts["translate-offsets"].get("groups", {}).items()
        },
        "refused_groups": ctx.facts["translate-offsets"].get("refused", []),
        "divergent": dict(ctx.facts["replication"].get("divergent") or {}),
    }


def report_lines(report: dict[str, Any]) -> list[str]:
    from kdrtui.services.runbook.forecast import bound_text

    if report.get("rpo_records") is not None and report.get("rpo_measured"):
        rpo = f"RPO achieved: {report['rpo_records']:,} records not mirrored (measured)"
    else:
        bound = bound_text(report.get("rpo_bound_records"), report.get("rpo_bound_age_s"), report["from"])
        rpo = f"RPO achieved: not measured ({report['from']} unreachable): {bound}"
    lines = [
        f"{report['operation']} {report['from']} -> {report['to']} complete",
        rpo,
        f"RTO achieved: {report['rto_seconds']:.1f} s from confirmation to clients switched",
    ]
    for topic, records in sorted(report["rpo_topics"].items()):
        lines.append(f"  lost on {topic}: {records:,} records")
    if report.get("lost_records"):
        lines.append(
            f"also lost before failing over: {report['lost_records']:,} records deleted on {report['from']} "
            "(retention, delete_records) before MirrorMaker copied them"
        )
        for topic, records in sorted((report.get("lost_topics") or {}).items()):
            lines.append(f"  deleted unmirrored on {topic}: {records:,} records")
    for topic, records in sorted((report.get("rpo_bound_topics") or {}).items()):
        lines.append(f"  at least {records:,} records on {topic}")
    for group, entry in sorted(report["groups"].items()):
        lines.append(
            f"  group {group}: {entry['partitions']} partition(s), ~{entry['duplicates']:,} duplicates"
        )
    for group in report["refused_groups"]:
        lines.append(f"  group {group}: NOT moved (active on the target)")
    divergent = report.get("divergent") or {}
    if divergent.get("records"):
        what = (
            f"exported to {', '.join(sorted(divergent.get('exported', {}))[:3])} and skipped"
            if divergent.get("choice") == "skip"
            else f"delivered to {report['from']} late by MirrorMaker"
        )
        count, there, here = divergent["records"], report["to"], report["from"]
        lines.append(f"divergent: {count:,} records on {there} never reached {here}: {what}")
    return lines


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
