"""Steps 3 and 4 of a failover or failback: drain, stop MirrorMaker (and measure the RPO).

Steps 1 and 2 live in :mod:`.preflight` and :mod:`.fence_step`; this module re-exports them so the runbook
reads in order.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from kdrtui.domain.runbook import Outcome, Step, StepFailed
from kdrtui.services.runbook.active_active import failback_keeps_flowing
from kdrtui.services.runbook.context import DrContext, lag_of, mm_states
from kdrtui.services.runbook.fence_step import Fence
from kdrtui.services.runbook.forecast import bound_text, forecast_lines, rpo_bound
from kdrtui.services.runbook.preflight import Preflight

__all__ = ["Drain", "Fence", "Preflight", "StopMirrorMaker", "bound_text", "forecast_lines", "rpo_bound"]

# --- 3. drain -----------------------------------------------------------------------------------------


class Drain(Step[DrContext]):
    key = "drain"
    title = "Drain: wait for the mirror lag to reach 0"

    async def describe(self, ctx: DrContext) -> list[str]:
        if (why := failback_keeps_flowing(ctx)) is not None:
            return [f"skipped: {why}"]
        if ctx.force:
            return ["skipped: --force"]
        return [f"wait up to {ctx.plan.failover.drain_timeout_seconds} s for {ctx.stop_flow.name} lag = 0"]

    async def run(self, ctx: DrContext) -> Outcome:
        if (why := failback_keeps_flowing(ctx)) is not None:
            return Outcome.skipped(f"no drain: {why}")
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
        if (why := failback_keeps_flowing(ctx)) is not None:
            return [f"nothing stopped: {why}"]
        states = await mm_states(ctx, ctx.stop_flow)
        return [f"stop {where} ({state})" for where, state in sorted(states.items())]

    async def run(self, ctx: DrContext) -> Outcome:
        from kdrtui.services.mirrormaker.manager import MirrorMakerError

        if (why := failback_keeps_flowing(ctx)) is not None:
            return Outcome.skipped(f"nothing stopped: {why}", keeps_flowing=ctx.stop_flow.name)
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
        if failback_keeps_flowing(ctx) is not None:
            return None  # left running on purpose
        states = await mm_states(ctx, ctx.stop_flow)
        running = [where for where, state in states.items() if state.startswith("running")]
        return f"MirrorMaker runs again on {', '.join(running)}" if running else None
