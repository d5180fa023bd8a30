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
from kdrtui.services.runbook.lock import PlanLock, PlanLocked
from kdrtui.services.runbook.runner import EventSink, Runner
from kdrtui.services.runbook.store import Journal, RunbookStore, StateInvalid

OPERATIONS = (FAILOVER, FAILBACK)


class OperationRefused(RuntimeError):
    """The operation cannot start (bad plan for it, a journal to resume first, nothing to resume, another
    operation holds the plan, an unreadable DR state)."""


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
    :func:`~kdrtui.services.runbook.flows.effective_plan`.

    Raises:
        StateInvalid: the DR state cannot be read (state-changing commands refuse to go on).
    """
    from kdrtui.services.runbook.flows import effective_plan

    store = RunbookStore(plan.plan.name, plan_path, store_root)
    return effective_plan(plan, store.load_state(plan.primary_alias, plan.clusters).active)


def view_plan(plan: Plan, plan_path: Path | None, store_root: Path | None = None) -> tuple[Plan, str | None]:
    """What a read-only view watches: :func:`current_plan`, or — when the DR state cannot be read — the
    flows of both directions with the reason, so the view shows "DR state unreadable" instead of assuming
    which cluster is active."""
    from kdrtui.services.runbook.flows import both_directions

    try:
        return current_plan(plan, plan_path, store_root), None
    except StateInvalid as exc:
        return both_directions(plan), f"{exc} — {exc.repair}"


def next_operation(plan: Plan, plan_path: Path | None, store_root: Path | None = None) -> str:
    """``failover`` while the primary is active, ``failback`` after a failover.

    Raises:
        StateInvalid: the DR state cannot be read.
    """
    store = RunbookStore(plan.plan.name, plan_path, store_root)
    active = store.load_state(plan.primary_alias, plan.clusters).active
    return FAILOVER if active == plan.primary_alias else FAILBACK


def interrupted(
    plan: Plan, plan_path: Path | None, store_root: Path | None = None
) -> tuple[str, Path] | None:
    """(operation, journal) of an interrupted run to resume, if any (a run in progress in another
    process, which holds the plan's lock, is not interrupted)."""
    store = RunbookStore(plan.plan.name, plan_path, store_root)
    if store.lock().holder() is not None:
        return None
    journal = resumable(store)
    return None if journal is None else (journal.state().operation, journal.path)


def resumable(store: RunbookStore) -> Journal | None:
    """The failover or failback journal of a run that changed something and did not complete (a NO-GO
    pre-flight is not one); provisioning journals are not looked at."""
    journal = store.incomplete(OPERATIONS)
    if journal is None:
        return None
    state = journal.state()
    return journal if any(key != "preflight" for key in state.steps) else None


class OperationBusy(OperationRefused):
    """Another operation holds the plan's lock; :attr:`locked` says who."""

    def __init__(self, locked: PlanLocked) -> None:
        super().__init__(str(locked))
        self.locked = locked


class Operation:
    """A failover or failback being prepared or run; the console keeps one to abort it between steps.

    ``lock``: the plan's lock when the caller took it already (the CLI takes it before its forecast and
    question); otherwise :meth:`run` takes it for the run and lets it go after.

    Raises:
        OperationRefused: the operation cannot start (see the class); :class:`PlanLocked` when another
            process holds the plan.
    """

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
        lock: PlanLock | None = None,
        rollback: bool = False,
        divergent: str = "deliver",
        actor: str = "",
    ) -> None:
        if operation not in OPERATIONS:
            raise OperationRefused(f"unknown operation {operation!r}")
        self.plan = plan
        self.operation = operation
        self.store = RunbookStore(plan.plan.name, plan_path, store_root)
        self.resume = resume
        self.rollback = rollback
        """Roll back the interrupted ``operation`` instead of running it (see :mod:`.rollback`)."""
        self.rolled: Journal | None = None
        """The interrupted run a rollback undoes."""
        self.lock = lock if lock is not None else self.store.lock()
        holder = None if self.lock.held else self.lock.holder()
        if holder is not None and (resume or rollback):
            raise OperationBusy(PlanLocked(plan.plan.name, holder, operation))
        # While another process holds the plan its unfinished journal is a run in progress, not one to
        # resume: a dry run or a forecast may still be read; run() is refused by the lock.
        self._busy = holder is not None
        try:
            self.store.load_state(plan.primary_alias, plan.clusters)
        except StateInvalid as exc:
            raise OperationRefused(f"{exc}; {exc.repair}") from exc
        if divergent not in ("deliver", "skip"):
            raise OperationRefused(f"--divergent must be deliver or skip, not {divergent!r}")
        self.journal, confirmed_at, force = self._journal(force)
        if self.resume:  # a resumed run does what its first run was told
            divergent = str(self.journal.state().options.get("divergent") or divergent)
        self.force = force
        self.divergent = divergent
        try:
            self.ctx: DrContext = make_context(
                plan,
                self.store,
                operation,
                force=force,
                manager_factory=manager_factory,
                lag_factory=lag_factory,
                confirmed_at=confirmed_at,
                divergent=divergent,
            )
        except FlowError as exc:
            raise OperationRefused(str(exc)) from exc
        self.ctx.run_id = self.journal.run_id
        if self.resume and not actor:  # a resumed run is still the first run's
            actor = str(self.journal.state().options.get("actor") or "")
        self.actor = actor
        """``automation`` when ``kdrtui watch`` started it (audit, journal, report); empty for a person."""
        self.ctx.actor = actor
        self.runner: Runner[DrContext] | None = None

    def _journal(self, force: bool) -> tuple[Journal, float | None, bool]:
        """The journal to write (a new one, or the interrupted one to resume), when the operator confirmed,
        and ``force`` (a resumed run keeps the first run's)."""
        pending = None if self._busy else resumable(self.store)
        if self.rollback:
            if pending is None:
                raise OperationRefused(
                    "nothing to roll back: no interrupted failover or failback (a NO-GO changes nothing)"
                )
            previous = pending.state()
            if previous.operation != self.operation:
                raise OperationRefused(
                    f"the interrupted run is a {previous.operation}, not a {self.operation}: "
                    f"roll it back with `kdrtui {previous.operation} --rollback`"
                )
            self.rolled = pending
            return self.store.new_journal("rollback"), None, force
        if self.resume:
            if pending is None:
                raise OperationRefused("nothing to resume: no interrupted failover or failback journal")
            previous = pending.state()
            if previous.operation != self.operation:
                raise OperationRefused(
                    f"the interrupted run is a {previous.operation}, not a {self.operation}: "
                    f"resume it with `kdrtui {previous.operation} --resume`"
                )
            return pending, previous.confirmed_at, force or bool(previous.options.get("force"))
        if pending is not None:
            previous = pending.state()
            raise OperationRefused(
                f"a {previous.operation} was interrupted ({pending.path}): "
                f"resume it with `kdrtui {previous.operation} --resume` before starting another"
            )
        return self.store.new_journal(self.operation), None, force

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
        runner = Runner(self.kind, self.plan.plan.name, self._steps(), self.ctx, self.journal)
        try:
            planned = await runner.dry_run()
        finally:
            await self.ctx.close()
        return OperationResult("dry-run", dry_run=[(s.key, s.title, lines) for s, lines in planned])

    async def run(self, on_event: EventSink | None = None) -> OperationResult:
        """Run (or resume) under the plan's lock; closes the clients.

        Raises:
            OperationBusy: another operation holds the plan (nothing was done).
            OperationRefused: what was checked when this operation was built no longer holds (another
                run was interrupted, or completed the one to resume, in the meantime).
        """
        owned = not self.lock.held
        if owned:
            try:
                self.lock.acquire(self.kind)
            except PlanLocked as exc:
                await self.ctx.close()
                raise OperationBusy(exc) from exc
        try:
            self._recheck()
            return await self._run(on_event)
        finally:
            if owned:
                self.lock.release()

    def _steps(self) -> list[Any]:
        if self.rolled is not None:
            from kdrtui.services.runbook.rollback import rollback_steps

            return rollback_steps(self.rolled)
        return steps()

    @property
    def kind(self) -> str:
        """What runs: ``failover``, ``failback`` or ``rollback``."""
        return "rollback" if self.rollback else self.operation

    def _recheck(self) -> None:
        """Under the lock, the journals may have moved since this operation was built."""
        pending = resumable(self.store)
        if self.rolled is not None:
            if pending is None or pending.path != self.rolled.path:
                raise OperationRefused("nothing to roll back any more: the interrupted run ended meanwhile")
            return
        mine = pending is not None and pending.path == self.journal.path
        if self.resume and not mine:
            raise OperationRefused("nothing to resume any more: the interrupted run was finished meanwhile")
        if not self.resume and pending is not None and not mine:
            raise OperationRefused(
                f"a {pending.state().operation} was interrupted meanwhile ({pending.path}): resume it first"
            )

    async def _run(self, on_event: EventSink | None) -> OperationResult:
        self.runner = Runner(self.kind, self.plan.plan.name, self._steps(), self.ctx, self.journal, on_event)
        how = " --resume" if self.resume else " --rollback" if self.rollback else ""
        action = f"{self.operation}{how} {self.source}->{self.target}"
        by = {"actor": self.actor} if self.actor else {}
        self.store.audit(
            action, self.plan.plan.name, "started", journal=str(self.journal.path), force=self.force, **by
        )
        outcome = "error"
        options: dict[str, Any] = {"force": self.force, "source": self.source, "target": self.target, **by}
        if self.operation == "failback":
            options["divergent"] = self.divergent
        try:
            result = await self.runner.run(resume=self.resume, options=options)
            outcome = result.outcome
        finally:
            await self.ctx.close()
            self.store.audit(action, self.plan.plan.name, outcome, journal=str(self.journal.path), **by)
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
