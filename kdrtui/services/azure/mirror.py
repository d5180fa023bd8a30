"""The last provisioning step: deploy and start MirrorMaker on the freshly written plan (#3's manager)."""

from __future__ import annotations

from typing import Any

from kdrtui.domain.plan import Plan
from kdrtui.domain.runbook import Outcome, StepFailed
from kdrtui.services.azure.base import AzureStep
from kdrtui.services.azure.context import ProvisionContext


def make_manager(ctx: ProvisionContext, plan: Plan) -> Any:
    """The MirrorMaker manager for ``plan``: the injected factory's, else SSH sessions that ask
    ``ctx.confirm_host_key`` about unknown host keys (a changed key is always refused)."""
    if ctx.manager_factory is not None:
        return ctx.manager_factory(plan)
    from kdrtui.services.mirrormaker.manager import MirrorMakerManager
    from kdrtui.services.ssh import EdgeSession, SshTarget

    def factory(node: Any) -> EdgeSession:
        return EdgeSession(SshTarget.from_edge_node(node), on_unknown_host=ctx.confirm_host_key)

    return MirrorMakerManager(plan, session_factory=factory)


class StartMirrorMaker(AzureStep):
    key = "mirrormaker"
    title = "Deploy and start MirrorMaker"

    async def describe(self, ctx: ProvisionContext) -> list[str]:
        if not ctx.plan.flows:
            return ["no flows in the plan: nothing to start"]
        nodes = ", ".join(node.name for node in ctx.plan.edge_nodes) or "none"
        return [
            f"deploy and start MirrorMaker for {flow.name} (edge nodes: {nodes})" for flow in ctx.plan.flows
        ]

    async def run(self, ctx: ProvisionContext) -> Outcome:
        from kdrtui.services.mirrormaker.manager import MirrorMakerError
        from kdrtui.services.ssh import SshError

        if not ctx.plan.flows:
            return Outcome.skipped("no flows in the plan", started=[], running=[])
        manager = make_manager(ctx, ctx.plan)
        started: list[str] = []
        running: list[str] = []
        try:
            for dep in await manager.select():
                resource = f"MirrorMaker {dep.name} on {dep.node.name}"
                status = await manager.status(dep, with_drift=False)
                if status.active:
                    running.append(f"{dep.node.name}/{dep.name}")
                    ctx.progress(self, resource, "skipped", "already running", 1.0)
                    continue
                ctx.progress(self, resource, "running", "deploying and starting", 0.3)
                await manager.start(dep, ctx.say)
                started.append(f"{dep.node.name}/{dep.name}")
                ctx.progress(self, resource, "done", "running", 1.0)
        except (MirrorMakerError, SshError) as exc:
            raise StepFailed(str(exc), started=started, running=running) from exc
        finally:
            await manager.close()
        if not started:
            return Outcome.skipped(f"already running: {', '.join(running)}", started=started, running=running)
        return Outcome.done(f"started {', '.join(started)}", started=started, running=running)

    async def verify(self, ctx: ProvisionContext, facts: dict[str, Any]) -> str | None:
        manager = make_manager(ctx, ctx.plan)
        try:
            for dep in await manager.select():
                status = await manager.status(dep, with_drift=False)
                if not status.active:
                    return f"MirrorMaker {dep.name} on {dep.node.name} is {status.state}"
        finally:
            await manager.close()
        return None
