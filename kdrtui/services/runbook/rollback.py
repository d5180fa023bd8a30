"""Rolling back an interrupted failover (or failback): the old side takes writes again, as before the run.

A failover that stops after its fence — a drain that timed out, MirrorMaker that cannot be stopped, an
operator's abort — leaves the source refusing writes while clients have not moved. ``kdrtui failover
--rollback`` (key ``U`` in the Failover pane) undoes what the run did so far, journaled and audited like
any run (operation ``rollback``):

1. ``rollback-check``  what the interrupted run did; refused once it switched clients (then the way back
                       is to finish it, ``--resume``, and fail back).
2. ``unfence``         the fence the run put on its source, taken down (what it replaced is put back).
3. ``restart-mirrormaker``  the flow the run stopped, started again (one still running is left alone).
4. ``close-run``       the interrupted run's journal ends ``rolled-back``: nothing left to resume.

Consumer group offsets the run committed on the target are left as they are: no client reads there yet,
and a later failover sets them again from the groups' positions then.
"""

from __future__ import annotations

from typing import Any

from kdrtui.domain.runbook import Outcome, RunState, Step, StepFailed
from kdrtui.services.runbook.context import DrContext, mm_states
from kdrtui.services.runbook.store import Journal
from kdrtui.services.runbook.unfence import still_fenced, unfence

ROLLBACK = "rollback"
ROLLED_BACK = "rolled-back"
"""The outcome written into a journal whose run was rolled back."""


class RollbackCheck(Step[DrContext]):
    key = "rollback-check"
    title = "What the interrupted run did"

    def __init__(self, rolled: Journal) -> None:
        self.rolled = rolled

    def _done(self, state: RunState) -> list[str]:
        return [key for key, record in state.steps.items() if record.status.finished]

    async def describe(self, ctx: DrContext) -> list[str]:
        state = self.rolled.state()
        done = self._done(state)
        return [
            f"{state.operation} {ctx.source} -> {ctx.target} ({self.rolled.path.name}): "
            f"finished {', '.join(done) or 'nothing'}"
        ]

    async def run(self, ctx: DrContext) -> Outcome:
        state = self.rolled.state()
        done = self._done(state)
        switched = "switch-clients" in done or (
            ctx.state().active == ctx.target and ctx.state().run == self.rolled.run_id
        )
        if switched:
            raise StepFailed(
                f"the interrupted {state.operation} already switched clients to {ctx.target}: finish it "
                f"(kdrtui {state.operation} --resume), then fail back"
            )
        ctx.say(f"the interrupted {state.operation} finished: {', '.join(done) or 'nothing'}")
        return Outcome.done(
            f"rolling back {state.operation} {ctx.source} -> {ctx.target} ({len(done)} step(s) done)",
            journal=str(self.rolled.path),
            finished=done,
        )


class Unfence(Step[DrContext]):
    key = "unfence"
    title = "Take the fence down"

    async def describe(self, ctx: DrContext) -> list[str]:
        record = ctx.state().fenced.get(ctx.source)
        if not record:
            return [f"{ctx.source} is not fenced: nothing to undo"]
        topics = len(record.get("topics", {}))
        lines = [f"undo the {record.get('method')} fence on {topics} topic(s) of {ctx.source}"]
        if record.get("nsg"):
            lines.append(f"remove the NSG fence on {ctx.source}'s subnet (through ARM)")
        return lines

    async def run(self, ctx: DrContext) -> Outcome:
        record = await unfence(ctx, ctx.source)
        if record is None:
            return Outcome.skipped(f"{ctx.source} is not fenced")
        return Outcome.done(
            f"{ctx.source} takes writes again ({len(record.get('topics', {}))} topic(s))", unfenced=record
        )

    async def verify(self, ctx: DrContext, facts: dict[str, Any]) -> str | None:
        if ctx.source in ctx.state().fenced:
            return f"the DR state says {ctx.source} is fenced"
        still = await still_fenced(ctx, ctx.source, facts.get("unfenced") or {})
        return f"writes still refused on {', '.join(still[:5])}" if still else None


class RestartMirrorMaker(Step[DrContext]):
    key = "restart-mirrormaker"
    title = "Start MirrorMaker again"

    async def describe(self, ctx: DrContext) -> list[str]:
        states = await mm_states(ctx, ctx.stop_flow)
        return [f"start {where} ({state})" for where, state in sorted(states.items())]

    async def run(self, ctx: DrContext) -> Outcome:
        from kdrtui.services.mirrormaker.manager import MirrorMakerError

        try:
            deps = await ctx.manager.select(flow=ctx.stop_flow.name)
            for dep in deps:
                await ctx.manager.start(dep, ctx.say)
        except MirrorMakerError as exc:
            raise StepFailed(f"cannot start MirrorMaker {ctx.stop_flow.name}: {exc}") from exc
        return Outcome.done(f"MirrorMaker {ctx.stop_flow.name} running on {len(deps)} node(s)", started=True)

    async def verify(self, ctx: DrContext, facts: dict[str, Any]) -> str | None:
        states = await mm_states(ctx, ctx.stop_flow)
        down = [w for w, s in states.items() if not s.startswith(("running", "scheduled"))]
        return f"MirrorMaker {ctx.stop_flow.name} not running on {', '.join(down)}" if down else None


class CloseRun(Step[DrContext]):
    key = "close-run"
    title = "Close the interrupted run"

    def __init__(self, rolled: Journal) -> None:
        self.rolled = rolled

    async def describe(self, ctx: DrContext) -> list[str]:
        return [f"end {self.rolled.path.name} as rolled back: nothing left to resume"]

    async def run(self, ctx: DrContext) -> Outcome:
        if self.rolled.state().ended != ROLLED_BACK:
            self.rolled.write("run-end", outcome=ROLLED_BACK, step=None, error="", by=ctx.run_id)
        return Outcome.done(f"{self.rolled.path.name} ends rolled back")

    async def verify(self, ctx: DrContext, facts: dict[str, Any]) -> str | None:
        ended = self.rolled.state().ended
        return None if ended == ROLLED_BACK else f"{self.rolled.path.name} is not closed ({ended})"


def rollback_steps(rolled: Journal) -> list[Step[DrContext]]:
    """The rollback of the run journaled in ``rolled``, in order."""
    return [RollbackCheck(rolled), Unfence(), RestartMirrorMaker(), CloseRun(rolled)]


STEP_TITLES: tuple[tuple[str, str], ...] = tuple(
    (step.key, step.title) for step in (RollbackCheck, Unfence, RestartMirrorMaker, CloseRun)
)
"""(key, title) of a rollback's steps, in order (what the Failover pane lists during one)."""
