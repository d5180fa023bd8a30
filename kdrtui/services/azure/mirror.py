"""MirrorMaker on the edge nodes (#3's manager): provisioning's last step deploys and starts it on the freshly
written plan; destroy's first step stops it (best effort)."""

from __future__ import annotations

import asyncio
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


STOP_TIMEOUT_S = 90
"""Longest wait for MirrorMaker to stop on one edge node before destroy goes on without it."""


def _problem_text(exc: BaseException) -> str:
    """One line for why MirrorMaker could not be stopped (a timeout has no text of its own)."""
    if isinstance(exc, TimeoutError):
        return f"timed out after {STOP_TIMEOUT_S} s"
    lines = str(exc).strip().splitlines()
    return lines[0] if lines else type(exc).__name__


class StopMirrorMaker(AzureStep):
    key = "stop-mirrormaker"
    title = "Stop MirrorMaker (best effort)"

    async def describe(self, ctx: ProvisionContext) -> list[str]:
        return ["stop MirrorMaker on the edge nodes, if they answer"] if ctx.plan.flows else ["no flows"]

    async def run(self, ctx: ProvisionContext) -> Outcome:
        from kdrtui.services.mirrormaker.manager import MirrorMakerError
        from kdrtui.services.ssh import SshError

        if not ctx.plan.flows:
            return Outcome.skipped("no flows in the plan")
        unreachable = (MirrorMakerError, SshError, OSError, TimeoutError)
        stopped: list[str] = []
        problems: list[str] = []
        manager = make_manager(ctx, ctx.plan)
        try:
            for dep in await manager.select():
                resource = f"MirrorMaker {dep.name} on {dep.node.name}"
                try:
                    await asyncio.wait_for(manager.stop(dep, ctx.say), timeout=STOP_TIMEOUT_S)
                    stopped.append(resource)
                    ctx.progress(self, resource, "done", "stopped")
                except unreachable as exc:  # best effort: the edge node may be gone already
                    problems.append(f"{resource}: {_problem_text(exc)}")
                    ctx.progress(self, resource, "failed", _problem_text(exc))
        except unreachable as exc:  # no edge node answers: nothing to stop from here
            problems.append(_problem_text(exc))
        finally:
            await manager.close()
        summary = f"stopped {len(stopped)}" + (f"; could not stop: {'; '.join(problems)}" if problems else "")
        return Outcome.done(summary, stopped=stopped, problems=problems)
