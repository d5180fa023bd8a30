"""``kdrtui failover`` and ``kdrtui failback``: the guarded, journaled runbooks from a shell.

Exit codes: 0 completed (or a dry run), 1 failed or aborted (resumable with --resume), 2 refused before
starting (bad plan, NO-GO confirmation refused, a journal to resume first).
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from typing import TYPE_CHECKING, Any

import click

from kdrtui.commands.options import load_plan_or_exit
from kdrtui.commands.runbook_output import printer, steps_json

if TYPE_CHECKING:
    from kdrtui.services.runbook.operate import Operation, OperationResult


def _result_json(result: OperationResult) -> dict[str, Any]:
    state = result.state
    return {
        "outcome": result.outcome,
        "error": result.error or None,
        "journal": str(result.journal) if result.journal else None,
        "report": result.report or None,
        "steps": steps_json(state),
    }


async def _confirm_and_run(op: Operation, yes: bool, as_json: bool) -> OperationResult | None:
    """Show the forecast, ask for the target's name typed in full (unless --yes), then run."""
    from kdrtui.services.runbook.failover import Preflight, forecast_lines

    if op.rollback:
        if not yes:
            typed = click.prompt(
                f"Type the name of the cluster to give writes back to ({op.source}) to roll back the "
                f"interrupted {op.operation}",
                default="",
                show_default=False,
            )
            if typed.strip() != op.source:
                print(
                    f"rollback not started: you typed {typed.strip()!r}, not {op.source!r}", file=sys.stderr
                )
                await op.ctx.close()
                return None
        return await op.run(printer(as_json))
    if not op.resume and not yes:  # with --yes the pre-flight step prints the forecast itself
        facts = await Preflight().forecast(op.ctx)
        out = sys.stderr if as_json else sys.stdout
        for line in forecast_lines(op.ctx, facts):
            print(line, file=out)
        typed = click.prompt(
            f"Type the name of the cluster to move clients to ({op.target}) to {op.operation}",
            default="",
            show_default=False,
        )
        if typed.strip() != op.target:
            print(
                f"{op.operation} not started: you typed {typed.strip()!r}, not {op.target!r}",
                file=sys.stderr,
            )
            await op.ctx.close()
            return None
    if not op.resume:
        op.ctx.confirmed_at = time.time()
    return await op.run(printer(as_json))


def _print_dry_run(result: OperationResult, as_json: bool) -> None:
    if as_json:
        planned = [{"step": k, "title": t, "would": w} for k, t, w in result.dry_run]
        print(json.dumps({"dry_run": planned}, indent=2))
        return
    for n, (_key, title, lines) in enumerate(result.dry_run, 1):
        print(f"[{n}] {title}")
        for line in lines:
            print(f"    {line}")
    print("dry run: nothing was changed")


def next_steps(op: Operation, result: OperationResult) -> str:
    """What to run next after a run that did not complete — only commands that will work."""
    from kdrtui.services.runbook.operate import resumable

    name = op.operation
    if op.rollback:
        return f"run `kdrtui {name} --rollback` again to finish the rollback"
    pending = resumable(op.store)
    if pending is None or pending.path != result.journal:
        return "nothing was changed: put right what the pre-flight reports, then run it again"
    done = {k for k, r in (result.state.steps.items() if result.state else []) if r.status.finished}
    hint = f"continue with `kdrtui {name} --resume`"
    if "switch-clients" not in done:
        hint += f", or undo what it did with `kdrtui {name} --rollback`"
    return hint


def _command(operation: str) -> click.Command:
    @click.command(operation)
    @click.option("--plan", "plan_arg", metavar="PATH|lab", help="DR plan file, or 'lab'.")
    @click.option("--dry-run", is_flag=True, help="Print every step and what it would do; change nothing.")
    @click.option(
        "--force", is_flag=True, help="Do not wait for the drain; go on when MirrorMaker cannot be stopped."
    )
    @click.option("--yes", is_flag=True, help="Do not ask for the cluster's name.")
    @click.option("--resume", is_flag=True, help="Continue an interrupted run from its journal.")
    @click.option(
        "--rollback",
        is_flag=True,
        help="Undo what an interrupted run did so far (fences down, MirrorMaker started again).",
    )
    @click.option("--json", "as_json", is_flag=True, help="Print the result (report, steps) as JSON.")
    @click.option(
        "--actor",
        default="",
        metavar="NAME",
        help="Who the audit, journal and report name as starting the run when it is not the person at "
        "the terminal (`kdrtui watch` passes automation).",
    )
    @click.option(
        "--divergent",
        type=click.Choice(["deliver", "skip"]),
        default="deliver",
        show_default=True,
        hidden=operation != "failback",
        help="Failback: records on the primary that never reached the DR cluster are copied there late "
        "by MirrorMaker (deliver), or exported to the state dir and skipped (skip).",
    )
    def command(
        plan_arg: str | None,
        dry_run: bool,
        force: bool,
        yes: bool,
        resume: bool,
        rollback: bool,
        as_json: bool,
        actor: str,
        divergent: str,
    ) -> None:
        from kdrtui.services.runbook.lock import PlanLocked
        from kdrtui.services.runbook.operate import Operation, OperationRefused
        from kdrtui.services.runbook.store import RunbookStore

        if resume and rollback:
            raise click.UsageError("--resume and --rollback go different ways: choose one")
        plan, path = load_plan_or_exit(plan_arg, required=True)
        assert plan is not None
        # One operation per plan: taken before the forecast and the question, held until the end (the
        # kernel lets it go if this process dies). A dry run changes nothing and takes nothing.
        lock = None if dry_run else RunbookStore(plan.plan.name, path).lock()
        try:
            try:
                if lock is not None:
                    what = "rollback" if rollback else operation
                    lock.acquire(f"{what} (started by {actor})" if actor else what)
                op = Operation(
                    plan,
                    path,
                    operation,
                    force=force,
                    resume=resume,
                    lock=lock,
                    rollback=rollback,
                    divergent=divergent,
                    actor=actor,
                )
            except (OperationRefused, PlanLocked) as exc:
                print(f"kdrtui {operation}: {exc}", file=sys.stderr)
                sys.exit(2)
            if dry_run:
                _print_dry_run(asyncio.run(op.dry_run()), as_json)
                return
            outcome = asyncio.run(_confirm_and_run(op, yes, as_json))
        finally:
            if lock is not None:
                lock.release()
        if outcome is None:
            sys.exit(2)
        if as_json:
            print(json.dumps(_result_json(outcome), indent=2, default=str))
        if outcome.outcome != "completed":
            print(f"kdrtui {operation}: {outcome.outcome}; {next_steps(op, outcome)}", file=sys.stderr)
            sys.exit(1)

    what = (
        "Fail over from the primary to the secondary"
        if operation == "failover"
        else "Fail back to the primary"
    )
    command.help = (
        what
        + " cluster: pre-flight, fence, drain, stop MirrorMaker, translate consumer group offsets, switch "
        "clients, replication in the new direction, report (RPO, RTO). Journaled: --resume continues an "
        "interrupted run, --rollback undoes what it did before clients were switched."
    )
    return command


failover_command = _command("failover")
failback_command = _command("failback")
