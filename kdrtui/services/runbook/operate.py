"""One entry point for the CLI and the console: dry-run, run or resume a failover or failback."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kdrtui.domain.plan import Plan
from kdrtui.domain.runbook import RunState
from kdrtui.services.runbook.failover import FAILBACK, FAILOVER, DrContext, make_context, steps
from kdrtui.services.runbook.flows import FlowError
from kdrtui.services.runbook.runner import EventSink, Runner
from kdrtui.services.runbook.store import Journal, RunbookStore

OPERATIONS = (FAILOVER, FAILBACK)


class OperationRefused(RuntimeError):
    """The operation cannot start (bad plan for it, a journal to resume first, nothing to resume)."""


@dataclass
class OperationResult:
    outcome: str
    """``completed``, ``failed``, ``aborted`` or ``dry-run``."""
    journal: Path | None = None
    state: RunState | None = None
    report: dict[str, Any] = field(default_factory=dict)
    error: str = ""
    dry_run: list[tuple[str, str, list[str]]] = field(default_factory=list)
    """(step key, title, what it would do) for a dry run."""


def current_plan(plan: Plan, plan_path: Path | None, store_root: Path | None = None) -> Plan:
    """The plan as it runs now (after a failover: the reverse flow, roles swapped); see
    :func:`~kdrtui.services.runbook.flows.effective_plan`."""
    from kdrtui.services.runbook.flows import effective_plan

    store = RunbookStore(plan.plan.name, plan_path, store_root)
    return effective_plan(plan, store.load_state(plan.primary_alias).active)


def next_operation(plan: Plan, plan_path: Path | None, store_root: Path | None = None) -> str:
    """``failover`` while the primary is active, ``failback`` after a failover."""
    store = RunbookStore(plan.plan.name, plan_path, store_root)
    return FAILOVER if store.load_state(plan.primary_alias).active == plan.primary_alias else FAILBACK


def interrupted(
    plan: Plan, plan_path: Path | None, store_root: Path | None = None
) -> tuple[str, Path] | None:
    """(operation, journal) of an interrupted run to resume, if any."""
    journal = resumable(RunbookStore(plan.plan.name, plan_path, store_root))
    return None if journal is None else (journal.state().operation, journal.path)


def resumable(store: RunbookStore) -> Journal | None:
    """The failover or failback journal of a run that changed something and did not complete (a NO-GO
    pre-flight is not one); provisioning journals are not looked at."""
    journal = store.incomplete(OPERATIONS)
    if journal is None:
        return None
    state = journal.state()
    return journal if any(key != "preflight" for key in state.steps) else None


class Operation:
    """A failover or failback being prepared or run; the console keeps one to abort it between steps."""

    def __init__(
        self,
        plan: Plan,
        plan_path: Path | None,
        operation: str,
        *,
        force: bool = False,
        resume: bool = False,
        store_root: Path | None = None,
        manager_factory: Callable[[Plan], Any] | None = None,
        lag_factory: Callable[[Plan], Any] | None = None,
    ) -> None:
        if operation not in OPERATIONS:
            raise OperationRefused(f"unknown operation {operation!r}")
        self.plan = plan
        self.operation = operation
        self.store = RunbookStore(plan.plan.name, plan_path, store_root)
        self.resume = resume
        pending = resumable(self.store)
        if resume:
            if pending is None:
                raise OperationRefused("nothing to resume: no interrupted failover or failback journal")
            previous = pending.state()
            if previous.operation != operation:
                raise OperationRefused(
                    f"the interrupted run is a {previous.operation}, not a {operation}: "
                    f"resume it with `kdrtui {previous.operation} --resume`"
                )
            self.journal = pending
            confirmed_at = previous.confirmed_at
            force = force or bool(previous.options.get("force"))
        else:
            if pending is not None:
                previous = pending.state()
                raise OperationRefused(
                    f"a {previous.operation} was interrupted ({pending.path}): "
                    f"resume it with `kdrtui {previous.operation} --resume` before starting another"
                )
            self.journal = self.store.new_journal(operation)
            confirmed_at = None
        self.force = force
        try:
            self.ctx: DrContext = make_context(
                plan,
                self.store,
                operation,
                force=force,
                manager_factory=manager_factory,
                lag_factory=lag_factory,
                confirmed_at=confirmed_at,
            )
        except FlowError as exc:
            raise OperationRefused(str(exc)) from exc
        self.runner: Runner[DrContext] | None = None

    @property
    def source(self) -> str:
        return self.ctx.source

    @property
    def target(self) -> str:
        return self.ctx.target

    async def forecast(self) -> tuple[bool, list[str]]:
        """The pre-flight forecast now: (GO?, lines); changes nothing (repeat it to watch)."""
        from kdrtui.services.runbook.failover import Preflight, forecast_lines

        facts = await Preflight().forecast(self.ctx)
        return bool(facts["go"]), forecast_lines(self.ctx, facts)

    async def close(self) -> None:
        """Release the clients of an operation that will not run (run() closes them itself)."""
        await self.ctx.close()

    async def dry_run(self) -> OperationResult:
        runner = Runner(self.operation, self.plan.plan.name, steps(), self.ctx, self.journal)
        try:
            planned = await runner.dry_run()
        finally:
            await self.ctx.close()
        return OperationResult("dry-run", dry_run=[(s.key, s.title, lines) for s, lines in planned])

    async def run(self, on_event: EventSink | None = None) -> OperationResult:
        self.runner = Runner(self.operation, self.plan.plan.name, steps(), self.ctx, self.journal, on_event)
        action = f"{self.operation}{' --resume' if self.resume else ''} {self.source}->{self.target}"
        self.store.audit(
            action, self.plan.plan.name, "started", journal=str(self.journal.path), force=self.force
        )
        outcome = "error"
        try:
            result = await self.runner.run(resume=self.resume, options={"force": self.force})
            outcome = result.outcome
        finally:
            await self.ctx.close()
            self.store.audit(action, self.plan.plan.name, outcome, journal=str(self.journal.path))
        return OperationResult(
            result.outcome,
            journal=self.journal.path,
            state=result.state,
            report=dict(self.ctx.facts["report"]),
            error=result.error,
        )

    def abort(self) -> None:
        """Stop between steps (resumable)."""
        if self.runner is not None:
            self.runner.request_abort()
