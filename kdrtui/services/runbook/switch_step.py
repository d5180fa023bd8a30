"""Step 6 of a failover or failback: switch the clients to the target (``[switch] method``), and record it
as the active cluster in the DR state."""

from __future__ import annotations

import asyncio
import os
import time
from typing import Any

from kdrtui.domain.plan import Naming, SwitchMethod
from kdrtui.domain.runbook import Outcome, Step, StepFailed
from kdrtui.services.runbook.context import FAILBACK, FAILOVER, DrContext


class SwitchClients(Step[DrContext]):
    """Move the clients (``none``: say where they go; ``command``: run the plan's hook), once per run."""

    key = "switch-clients"
    title = "Switch clients"

    def mapping(self, ctx: DrContext) -> list[str]:
        """Where clients go now: the bootstrap servers, and which topics consumers and producers use."""
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
            SwitchMethod.DNS: f"point {self._dns_name(ctx)} (Azure Private DNS, A) at {ctx.target}'s brokers",
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
        created = await self._producer_topics(ctx)
        dns: dict[str, Any] | None = None
        if method == SwitchMethod.COMMAND:
            await self._hook(ctx)
        elif method == SwitchMethod.DNS:
            from kdrtui.services.runbook.dns_switch import point_record

            dns = await point_record(ctx)
        for line in self.mapping(ctx):
            ctx.say(line)
        switched_at = time.time()
        state.active, state.since, state.operation = ctx.target, switched_at, ctx.operation
        state.run = ctx.run_id or None
        ctx.save_state(state)
        how = "hook ran" if method == SwitchMethod.COMMAND else "move clients as printed"
        if dns is not None:
            how = f"{dns['fqdn']} -> {', '.join(dns['addresses'])}, read back"
        return Outcome.done(
            f"{ctx.target} is active ({how})",
            switched_at=switched_at,
            mapping=self.mapping(ctx),
            created=created,
            **({"dns": dns} if dns is not None else {}),
        )

    @staticmethod
    def _dns_name(ctx: DrContext) -> str:
        from kdrtui.services.azure.private_dns import DnsSwitchError, fqdn

        try:
            return fqdn(ctx.plan)
        except DnsSwitchError as exc:
            return f"the record ({exc})"

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
        if active != ctx.target:
            return f"the DR state says {active} is active"
        if ctx.plan.switch.method == SwitchMethod.DNS:
            from kdrtui.services.runbook.dns_switch import record_problem

            return await record_problem(ctx)
        return None
