"""Failover: the pre-flight forecast, then a guarded, journaled failover or failback with live progress.

While shown, an async worker asks an operation for the pre-flight forecast every ``FORECAST_INTERVAL_S``
seconds (never while hidden, never while a run is going). ``F`` opens a modal that shows the forecast and
starts only when the target cluster's name is typed in full; the run's events fill the step list and the
log as they come, and the app asks before quitting while it runs. ``a`` aborts between steps, ``R``
resumes an interrupted run and ``U`` rolls it back (a rollback lists its own steps). Under
``--read-only`` only the forecast is offered. The run itself is the shared :class:`RunPane`'s.
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.reactive import var
from textual.widgets import Static

from kdrtui.domain.runbook import StepStatus
from kdrtui.services.runbook import rollback
from kdrtui.services.runbook.failover import FAILBACK, FAILOVER, steps
from kdrtui.services.runbook.operate import OperationRefused
from kdrtui.services.runbook.runner import RunEvent
from kdrtui.tui.messages import RunEnded, RunOutcome, RunTicket
from kdrtui.tui.screens.dialogs import TypedConfirmScreen
from kdrtui.tui.screens.failover_forecast import (
    FORECAST_INTERVAL_S,
    DrView,
    Forecaster,
    ForecastView,
    forecast_text,
    header_text,
    read_dr_state,
)
from kdrtui.tui.screens.failover_texts import empty_reason, event_lines, report_text, start_warning
from kdrtui.tui.screens.run_pane import NotStarted, RunPane, running_text
from kdrtui.tui.widgets.run_widgets import RunBanner, RunLog, StepTable

if TYPE_CHECKING:
    from kdrtui.services.runbook.operate import OperationResult

__all__ = ["FORECAST_INTERVAL_S", "ROLLBACK_STEPS", "STEPS", "FailoverScreen", "TypedConfirmScreen"]

STEPS: tuple[tuple[str, str], ...] = tuple((s.key, s.title) for s in steps())
"""(key, title) of every step, in order."""
ROLLBACK_STEPS: tuple[tuple[str, str], ...] = rollback.STEP_TITLES
"""(key, title) of a rollback's steps."""


@dataclass(frozen=True)
class RunRequest:
    """What F, R or U starts."""

    operation: str
    """``failover`` or ``failback``."""
    resume: bool = False
    target: str | None = None
    """The cluster the operator typed (the run does not start when the target changed meanwhile)."""
    rollback: bool = False
    """Roll the interrupted ``operation`` back instead."""


class FailoverScreen(RunPane[RunRequest]):
    """The pre-flight forecast, the failover / failback run with its steps and log, and the report."""

    MODE = "failover"
    CSS_PATH = "failover.tcss"
    RUN_ID = "runbook"
    PREFIX = "fo"
    PREVIEW_GROUP = "failover-forecast"
    MUTATING = frozenset({"start", "resume", "abort", "rollback"})
    BINDINGS: ClassVar[list[Binding]] = [  # type: ignore[assignment]
        Binding("F", "start", "Start", key_display="F", id="failover.start"),
        Binding("R", "resume", "Resume", key_display="R", id="failover.resume"),
        Binding("U", "rollback", "Roll back", key_display="U", id="failover.rollback"),
        Binding("a", "abort", "Abort", id="failover.abort"),
        Binding("r", "forecast_now", "Forecast", id="failover.forecast"),
    ]

    dr: var[DrView] = var(DrView(), init=False, bindings=True)
    """The DR state as last read: what comes next, the active cluster, an interrupted run, the lock."""
    forecast: var[ForecastView] = var(ForecastView(), init=False)
    """The newest pre-flight forecast, or why there is none."""
    direction: var[tuple[str, str] | None] = var(None, init=False)
    """(source, target) of the newest forecast's operation."""
    current_step: var[str | None] = var(None, init=False)
    """The step running now."""
    run_label: var[str] = var("", init=False)
    """``failover primary -> dr`` of the current or last run."""

    def __init__(self) -> None:
        super().__init__()
        self.failed_step: str | None = None
        """The step the last run failed at."""
        self.events: list[RunEvent] = []
        """Every event of the current or last run (tests, debugging)."""
        self._forecaster = Forecaster()
        self._wake = asyncio.Event()

    @property
    def pending(self) -> tuple[str, Path] | None:
        """(operation, journal) of an interrupted run to resume."""
        return self.dr.pending

    @property
    def run_steps(self) -> tuple[tuple[str, str], ...]:
        """(key, title) of the steps the step list shows: the runbook's, or a rollback's."""
        return self.query_one("#fo-steps", StepTable).steps

    # -- layout -------------------------------------------------------------------------------------

    def empty_reason(self) -> str | None:
        return empty_reason(self.plan)

    def compose_run(self) -> ComposeResult:
        yield Static(Text("reading the DR state…"), id="fo-header")
        yield RunBanner("", id="fo-banner")
        yield Static("", id="fo-report")
        with VerticalScroll(id="fo-forecast-box"):
            yield Static(Text("pre-flight: forecasting…"), id="fo-forecast")
        yield StepTable(id="fo-steps")
        yield RunLog(id="fo-log")

    def on_mount(self) -> None:
        if not self.runnable:
            return
        table = self.query_one("#fo-steps", StepTable)
        table.add_columns_for(self.app.size.width - 4)
        table.show_steps(STEPS)
        self.start_ticking()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        verdict = super().check_action(action, parameters)
        if verdict is not True or action == "abort":
            return verdict  # read-only, or abort (offered while a run goes)
        if action == "forecast_now":
            return self.runnable
        if action == "start":
            return self.runnable and not self.running and self.pending is None and not self.dr.state_error
        if action in ("resume", "rollback"):
            return self.runnable and not self.running and self.pending is not None
        return True

    # -- forecast -----------------------------------------------------------------------------------

    def on_screen_resume(self) -> None:
        if self.runnable and not self.running:
            self.forecast_loop()

    def on_screen_suspend(self) -> None:
        # Hidden panes cost nothing: no forecasts until shown again (a running operation carries on).
        self.workers.cancel_group(self, self.PREVIEW_GROUP)

    def action_forecast_now(self) -> None:
        """Read the pre-flight forecast now."""
        self._wake.set()

    @work(exclusive=True, group="failover-forecast", exit_on_error=False)
    async def forecast_loop(self) -> None:
        """Forecast, then wait; repeat while the pane is shown and nothing runs."""
        try:
            while not self.running:
                await self._forecast_once()
                self._wake.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), timeout=FORECAST_INTERVAL_S)
        finally:  # hidden, or a run starts: release the forecast's clients
            await self._forecaster.drop()

    async def _refresh_store(self) -> None:
        """Read which operation comes next, the active cluster, any interrupted run and who holds the
        plan's lock (in a thread)."""
        plan = self.plan
        assert plan is not None
        try:
            self.dr = await asyncio.to_thread(read_dr_state, plan, self.plan_path)
        except Exception as exc:  # an unexpected failure: said, never assumed away
            error = f"cannot read the DR state: {type(exc).__name__}: {exc}"
            self.dr = replace(self.dr, state_error=error)

    async def _forecast_once(self) -> None:
        plan = self.plan
        assert plan is not None
        await self._refresh_store()
        if self.dr.next_op is None or self.dr.state_error is not None:
            self._draw_forecast()
            return
        factory = self.services.operation_factory
        try:
            operation = await self._forecaster.operation(factory, plan, self.plan_path, self.dr.next_op)
        except OperationRefused as exc:
            self.forecast = ForecastView(self.forecast.result, self.now(), str(exc), None)
            return
        except Exception as exc:
            error = f"{type(exc).__name__}: {exc}"
            self.forecast = ForecastView(self.forecast.result, self.forecast.at, None, error)
            return
        try:
            self.direction = (operation.source, operation.target)
            go, lines = await operation.forecast()
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            error = f"forecast failed: {type(exc).__name__}: {exc}"
            self.forecast = ForecastView(self.forecast.result, self.forecast.at, self.forecast.refused, error)
            await self._forecaster.drop()  # start afresh next time
        else:
            self.forecast = ForecastView((go, lines), self.now(), None, None)

    # -- drawing ------------------------------------------------------------------------------------

    def watch_dr(self) -> None:
        self._draw_header()
        self.redraw()

    def watch_direction(self) -> None:
        self._draw_header()

    def watch_forecast(self) -> None:
        self._draw_forecast()

    def watch_current_step(self) -> None:
        self.redraw()

    def _planned_direction(self, operation: str) -> tuple[str, str]:
        """(source, target) of ``operation`` as the plan says (before any Operation was built)."""
        plan = self.plan
        assert plan is not None
        primary, secondary = plan.primary_alias, plan.secondary_alias
        return (primary, secondary) if operation == FAILOVER else (secondary, primary)

    def _next_label(self) -> str:
        operation = self.dr.next_op or FAILOVER
        source, target = self.direction or self._planned_direction(operation)
        return f"{operation} {source} -> {target}"

    def _draw_header(self) -> None:
        if self.runnable and self.is_mounted:
            label = self._next_label() if self.dr.next_op is not None else ""
            header = header_text(self.dr, label, self.dr.next_op == FAILBACK, self.colour)
            self.query_one("#fo-header", Static).update(header)

    def _banner(self) -> tuple[str, str]:
        """(banner, theme colour) for the run's state."""
        label = self.run_label
        if self.running:
            if self.aborting:
                return f"{label}: aborting after the current step", "warning"
            keys = [key for key, _ in self.run_steps]
            return running_text(f"running {label}", keys, self.current_step), "warning"
        hint = "" if self.pending is None else self.resume_hint("R resumes it, U rolls it back")
        result, dr = self.result, self.dr
        if dr.state_error is not None:
            return dr.state_error, "error"
        if dr.busy is not None:
            return f"busy: {dr.busy} (one operation per plan at a time)", "warning"
        if self.run_error:
            return f"{label}: {self.run_error}{hint}", "error"
        if result is not None and result.outcome == "completed":
            return f"✓ {label} completed", "success"
        if result is not None and result.outcome == "failed":
            at = f" at {self.failed_step}" if self.failed_step else ""
            return f"✗ {label} failed{at}: {result.error}{hint}", "error"
        if result is not None and result.outcome == "aborted":
            return f"{label} aborted between steps{hint}", "warning"
        if self.pending is not None:
            return f"interrupted {self.pending[0]}{hint}", "warning"
        return "", ""

    def redraw(self) -> None:
        if self.runnable and self.is_mounted:
            self.query_one("#fo-banner", RunBanner).say(*self._banner())

    def _forecast_text(self) -> Text:
        width = max(20, self.app.size.width - 4)  # the body's padding and the box's scrollbar
        return forecast_text(self.forecast, width, self.running, self.colour)

    def _draw_forecast(self) -> None:
        if self.is_mounted:
            self.query_one("#fo-forecast", Static).update(self._forecast_text())

    def tick(self) -> None:
        """Show the running step's elapsed seconds."""
        if self.running and self.current_step is not None:
            self.query_one("#fo-steps", StepTable).tick(self.current_step)

    def _log(self, line: str) -> None:
        self.query_one("#fo-log", RunLog).add(self.now(), line)

    def note(self, text: str, colour: str = "") -> None:
        self._log(text)  # the log is plain: its lines carry no colour

    def _draw_report(self) -> None:
        report = self.query_one("#fo-report", Static)
        result: OperationResult | None = self.result
        if result is None or result.outcome != "completed" or not result.report:
            report.display = False
            self.set_class(self.running, "-compact")
            return
        report.update(report_text(result.report, self.colour))
        report.display = True
        self.add_class("-compact")

    # -- running ------------------------------------------------------------------------------------

    def action_start(self) -> None:
        """Fail over (or back): confirm by typing the target cluster's name."""
        if self.dr.state_error is not None:
            return
        operation = self.dr.next_op or FAILOVER
        _, target = self.direction or self._planned_direction(operation)

        def dialog() -> TypedConfirmScreen:
            forecast = self._forecast_text()
            return TypedConfirmScreen(self._next_label(), forecast, target, start_warning(self.forecast))

        self.confirm_typed(operation, dialog, lambda: self._start(RunRequest(operation, target=target)))

    def action_resume(self) -> None:
        """Resume the interrupted failover or failback (asks first)."""
        if self.pending is not None:
            operation = self.pending[0]
            question = f"Resume the interrupted {operation} from where it stopped?"
            self.confirm(operation, question, lambda: self._start(RunRequest(operation, resume=True)))

    def action_rollback(self) -> None:
        """Roll back the interrupted run: its fence down, MirrorMaker started again (asks first)."""
        if self.pending is not None:
            operation = self.pending[0]
            question = (
                f"Roll back the interrupted {operation}: take its fence down and start MirrorMaker again, "
                "so the old side takes writes as before?"
            )
            self.confirm("rollback", question, lambda: self._start(RunRequest(operation, rollback=True)))

    def _start(self, request: RunRequest) -> None:
        self.failed_step, self.current_step, self.events = None, None, []
        self.start_run(request)
        self._draw_report()

    def error_text(self, exc: Exception) -> str:
        if isinstance(exc, OperationRefused):  # another operation holds the plan, or the journals moved
            return f"refused: {exc}"
        return super().error_text(exc)

    async def execute(self, request: RunRequest, ticket: RunTicket) -> RunOutcome:
        """Build the operation and run it with live events."""
        plan = self.plan
        assert plan is not None
        operation, factory = request.operation, self.services.operation_factory
        try:
            if request.rollback:
                op = factory(plan, self.plan_path, operation, False, rollback=True)
            else:
                op = factory(plan, self.plan_path, operation, request.resume)
        except OperationRefused as exc:
            self.run_label = f"{operation} rollback" if request.rollback else operation
            raise NotStarted(f"cannot start: {exc}") from exc
        label = f"{op.operation} {op.source} -> {op.target}"
        self.run_label = f"rollback of the {label}" if request.rollback else label
        if request.target is not None and op.target != request.target:
            with contextlib.suppress(Exception):
                await op.close()
            raise NotStarted(f"not started: the target is now {op.target}, not {request.target}")
        self.abortable(op.abort)
        self.query_one("#fo-steps", StepTable).show_steps(ROLLBACK_STEPS if request.rollback else STEPS)
        self._log(f"{'resuming' if request.resume else 'starting'} {self.run_label}")
        self.hold(ticket, self.run_label)
        self.add_class("-compact")
        self.redraw()
        self._draw_forecast()
        return await op.run(self.sink(ticket))

    async def settle(self, message: RunEnded) -> None:
        self.current_step = None
        if message.error and message.ticket.held:
            self._log(message.error)
        with contextlib.suppress(Exception):
            await self._refresh_store()

    def run_ended(self, message: RunEnded) -> None:
        """Show how the run ended, then forecast again (the next operation) if the pane is shown."""
        result = self.result
        # Outside text (a Kafka error, an exception) is never read as markup.
        if self.run_error:
            self.notify(self.run_error, severity="error", timeout=10, markup=False)
        elif result is not None:
            if not any(event.kind == "run-end" for event in self.events):
                self._log(f"run ended: {result.outcome}" + (f": {result.error}" if result.error else ""))
            if result.outcome == "failed":
                error = f"{self.run_label} failed: {result.error}"
                self.notify(error, severity="error", timeout=10, markup=False)
        self.redraw()
        self._draw_report()
        self._draw_forecast()
        # The report took room from the log: keep its newest lines in view.
        self.call_after_refresh(self.query_one("#fo-log", RunLog).scroll_end, animate=False)
        if self.is_current:
            self.forecast_loop()

    def apply_event(self, event: RunEvent, ticket: RunTicket) -> None:
        """One runner event: update the step list, the log and the banner."""
        self.events.append(event)
        table = self.query_one("#fo-steps", StepTable)
        title = table.title_of(event.step, event.title)
        if event.kind == "step-start":
            self.current_step = event.step
            table.set_step(event.step, StepStatus.RUNNING, None, title)
        elif event.kind == "step-end":
            status = event.status or StepStatus.DONE
            if status is StepStatus.FAILED:
                self.failed_step = event.step
            table.set_step(event.step, status, event.seconds, event.text or title)
        for line in event_lines(event, title):
            self._log(line)
        if event.kind == "step-end" and self.current_step == event.step:
            self.current_step = None
