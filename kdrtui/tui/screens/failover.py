"""Failover: the pre-flight forecast, then a guarded, journaled failover or failback with live progress.

While shown, an async worker asks an :class:`Operation` for the pre-flight forecast every
``FORECAST_INTERVAL_S`` seconds (never while hidden, never while a run is going). ``F`` opens a modal that
shows the forecast and starts only when the target cluster's name is typed in full; the run's events
fill the step list and the log as they come, and the app asks before quitting while it runs. ``a`` aborts
between steps, ``R`` resumes an interrupted run. Under ``--read-only`` only the forecast is offered.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Protocol

from rich.cells import cell_len
from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.widgets import DataTable, RichLog, Static

from kdrtui.domain.plan import Plan, Topology
from kdrtui.domain.runbook import StepStatus
from kdrtui.services.runbook import rollback
from kdrtui.services.runbook.failover import FAILBACK, FAILOVER, report_lines, steps
from kdrtui.services.runbook.operate import OperationRefused, interrupted, next_operation
from kdrtui.services.runbook.runner import RunEvent
from kdrtui.services.runbook.store import RunbookStore
from kdrtui.tui.screens.base import ModeScreen
from kdrtui.tui.screens.dialogs import ConfirmScreen
from kdrtui.tui.screens.typed_confirm import TypedConfirmScreen
from kdrtui.tui.text import fit_line, theme_colour

if TYPE_CHECKING:
    from kdrtui.services.runbook.operate import OperationResult

FORECAST_INTERVAL_S = 10.0
"""Seconds between two pre-flight forecasts while the pane is shown."""
LOG_LINES = 1000
"""Progress lines kept in the log."""


class RunbookOperation(Protocol):
    """What the pane drives (the real one is ``services.runbook.operate.Operation``)."""

    operation: str

    @property
    def source(self) -> str: ...

    @property
    def target(self) -> str: ...

    async def forecast(self) -> tuple[bool, list[str]]:
        """(GO?, lines) of the pre-flight now; changes nothing."""
        ...

    async def run(self, on_event: Callable[[RunEvent], None] | None = None) -> OperationResult:
        """Run (or resume) to the end, a failure or an abort; closes its clients."""
        ...

    def abort(self) -> None:
        """Stop between steps."""
        ...

    async def close(self) -> None:
        """Release the clients of an operation that will not run."""
        ...


OperationFactory = Callable[..., RunbookOperation]
"""Builds the operation for (plan, plan path, ``failover``/``failback``, resume?) and ``rollback=True`` for
a rollback of the interrupted one; tests inject fakes."""


def runbook_operation_factory(
    plan: Plan, plan_path: Path | None, operation: str, resume: bool, *, rollback: bool = False
) -> RunbookOperation:
    """The real runbook operation (``rollback``: undo the interrupted ``operation`` instead)."""
    from kdrtui.services.runbook.operate import Operation

    return Operation(plan, plan_path, operation, resume=resume, rollback=rollback)


STEPS: tuple[tuple[str, str], ...] = tuple((s.key, s.title) for s in steps())
"""(key, title) of every step, in order."""
ROLLBACK_STEPS: tuple[tuple[str, str], ...] = rollback.STEP_TITLES
"""(key, title) of a rollback's steps."""

MARKS: dict[StepStatus, tuple[str, str]] = {
    StepStatus.PENDING: ("·", "text-muted"),
    StepStatus.RUNNING: ("▶", "warning"),
    StepStatus.DONE: ("✓", "success"),
    StepStatus.SKIPPED: ("↷", "text-muted"),
    StepStatus.FAILED: ("✗", "error"),
    StepStatus.VERIFIED: ("✓", "success"),
}
"""Each status's mark and theme colour."""

STEP_COLUMNS = (("mark", "", 1), ("step", "step", 17), ("status", "status", 8), ("secs", "secs", 6))
"""(key, label, width) of the step list; the summary column takes the rest."""


def clock_text(at: float) -> str:
    """``HH:MM:SS`` local time."""
    return time.strftime("%H:%M:%S", time.localtime(at))


class FailoverScreen(ModeScreen):
    """The pre-flight forecast, the failover / failback run with its steps and log, and the report."""

    MODE = "failover"
    MUTATING = frozenset({"start", "resume", "abort", "rollback"})
    DEFAULT_CSS = """
    FailoverScreen #body {
        padding: 0 1;
    }
    #fo-header {
        height: 1;
        text-wrap: nowrap;
        text-overflow: ellipsis;
    }
    #fo-banner {
        height: auto;
        max-height: 2;
    }
    #fo-report {
        height: auto;
        max-height: 4;
    }
    #fo-forecast-box {
        height: auto;
        max-height: 10;
    }
    FailoverScreen.-compact #fo-forecast-box {
        max-height: 3;
    }
    #fo-steps {
        height: auto;
        max-height: 9;
    }
    #fo-log {
        height: 1fr;
        min-height: 2;
        background: $surface;
        overflow-x: hidden;
    }
    #fo-empty {
        margin: 1 2;
    }
    #fo-banner, #fo-report {
        display: none;
    }
    """
    BINDINGS: ClassVar[list[Binding]] = [  # type: ignore[assignment]
        Binding("F", "start", "Start", key_display="F", id="failover.start"),
        Binding("R", "resume", "Resume", key_display="R", id="failover.resume"),
        Binding("U", "rollback", "Roll back", key_display="U", id="failover.rollback"),
        Binding("a", "abort", "Abort", id="failover.abort"),
        Binding("r", "forecast_now", "Forecast", id="failover.forecast"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.next_op: str | None = None
        """``failover`` or ``failback``: what F would start (None until the store was read)."""
        self.active: str | None = None
        """The cluster clients use now, per the DR state."""
        self.pending: tuple[str, Path] | None = None
        """(operation, journal) of an interrupted run to resume."""
        self._forecaster: RunbookOperation | None = None
        self._forecaster_op: str | None = None
        self.forecast: tuple[bool, list[str]] | None = None
        """The newest forecast (GO?, lines)."""
        self.forecast_at: float | None = None
        """When it was read (the app's clock)."""
        self.refused: str | None = None
        """Why the next operation cannot start (e.g. an interrupted journal), instead of a forecast."""
        self.forecast_error: str | None = None
        """Why the last forecast failed."""
        self.state_error: str | None = None
        """Why the DR state cannot be read (nothing is assumed then: no run is offered)."""
        self.busy: str | None = None
        """Who holds the plan's lock (another operation in progress), per its lock file."""
        self.direction: tuple[str, str] | None = None
        """(source, target) of the newest forecast's operation."""
        self.running = False
        """Whether a run is going (F/R hidden, a offered)."""
        self.aborting = False
        """Whether an abort was requested."""
        self.run_label = ""
        """``failover primary -> dr`` of the current or last run."""
        self.result: OperationResult | None = None
        """How the last run of this session ended."""
        self.run_error = ""
        """Why the last run could not start or crashed."""
        self.failed_step: str | None = None
        """The step the last run failed at."""
        self.current_step: str | None = None
        """The step running now."""
        self.events: list[RunEvent] = []
        """Every event of the current or last run (tests, debugging)."""
        self.run_steps: tuple[tuple[str, str], ...] = STEPS
        """(key, title) of the steps the step list shows: the runbook's, or a rollback's."""
        self._operation: RunbookOperation | None = None
        self._step_started: dict[str, float] = {}
        self._wake = asyncio.Event()

    # -- layout -------------------------------------------------------------------------------------

    @property
    def plan_path(self) -> Path | None:
        """Where the plan was read from."""
        path: Path | None = getattr(self.app, "plan_path", None)
        return path

    def _empty_reason(self) -> str | None:
        plan = self.plan
        if plan is None:
            return "No plan: nothing to fail over. Open one with `kdrtui --plan PATH` (or --plan lab)."
        if len(plan.clusters) < 2:
            return "The plan has fewer than two clusters: there is nowhere to fail over to."
        if not plan.flows:
            if plan.plan.topology is Topology.HOT_STANDBY:
                return (
                    "Hot standby with dual ingest: nothing is mirrored, so there is no failover runbook; "
                    "switch clients to the other cluster."
                )
            return "The plan has no flows: nothing is mirrored, so there is no failover runbook to run."
        return None

    @property
    def has_runbook(self) -> bool:
        """Whether the plan can be failed over at all."""
        return self._empty_reason() is None

    def compose_body(self) -> ComposeResult:
        reason = self._empty_reason()
        if reason is not None:
            yield Static(Text(reason), id="fo-empty")
            return
        yield Static(Text("reading the DR state…"), id="fo-header")
        yield Static("", id="fo-banner")
        yield Static("", id="fo-report")
        with VerticalScroll(id="fo-forecast-box"):
            yield Static(Text("pre-flight: forecasting…"), id="fo-forecast")
        table: DataTable[Text] = DataTable(id="fo-steps", cursor_type="none", zebra_stripes=False)
        yield table
        yield RichLog(id="fo-log", max_lines=LOG_LINES, wrap=True, markup=False, highlight=False)

    def on_mount(self) -> None:
        if not self.has_runbook:
            return
        table = self.query_one("#fo-steps", DataTable)
        fixed = sum(width + 2 for _, _, width in STEP_COLUMNS)
        for key, label, width in STEP_COLUMNS:
            table.add_column(label, key=key, width=width)
        table.add_column("summary", key="summary", width=max(20, self.app.size.width - 4 - fixed - 2))
        for key, title in STEPS:
            table.add_row(*self._step_cells(key, StepStatus.PENDING, None, title), key=key)
        self.set_interval(1.0, self._tick, name="failover-elapsed")

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if not super().check_action(action, parameters):
            return False  # read-only
        if action == "forecast_now":
            return self.has_runbook
        if action == "start":
            return self.has_runbook and not self.running and self.pending is None and not self.state_error
        if action in ("resume", "rollback"):
            return self.has_runbook and not self.running and self.pending is not None
        if action == "abort":
            if not self.running:
                return False
            return None if self.aborting else True
        return True

    # -- forecast -----------------------------------------------------------------------------------

    def on_screen_resume(self) -> None:
        if self.has_runbook and not self.running:
            self.forecast_loop()

    def on_screen_suspend(self) -> None:
        # Hidden panes cost nothing: no forecasts until shown again (a running operation carries on).
        self.workers.cancel_group(self, "failover-forecast")

    def action_forecast_now(self) -> None:
        """Read the pre-flight forecast now."""
        self._wake.set()

    @property
    def factory(self) -> OperationFactory:
        """The app's operation factory (the real runbook unless a test injects one)."""
        factory: OperationFactory | None = getattr(self.app, "operation_factory", None)
        return factory or runbook_operation_factory

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
            await self._drop_forecaster()

    async def _drop_forecaster(self) -> None:
        forecaster, self._forecaster = self._forecaster, None
        if forecaster is not None:
            with contextlib.suppress(Exception):
                await forecaster.close()

    def _forecaster_for(self, plan: Plan, operation: str) -> RunbookOperation:
        """One operation kept for every forecast of ``operation`` while the pane is shown: its lag engine
        tails MirrorMaker's internal topics incrementally instead of re-reading them every 10 s."""
        if self._forecaster is None or self._forecaster_op != operation:
            self._forecaster = self.factory(plan, self.plan_path, operation, False)
            self._forecaster_op = operation
        return self._forecaster

    def _read_store(self) -> tuple[str | None, str | None, tuple[str, Path] | None, str | None, str | None]:
        """(next operation, active cluster, interrupted run, why the DR state is unreadable, who holds
        the plan's lock)."""
        from kdrtui.services.runbook.store import StateInvalid

        plan = self.plan
        assert plan is not None
        store = RunbookStore(plan.plan.name, self.plan_path)
        holder = store.lock().holder()
        busy = holder.describe() if holder is not None else None
        try:
            active = store.load_state(plan.primary_alias, plan.clusters).active
        except StateInvalid as exc:
            return None, None, None, f"{exc} — {exc.repair}", busy
        nxt = next_operation(plan, self.plan_path)
        return nxt, active, interrupted(plan, self.plan_path), None, busy

    async def _refresh_store(self) -> None:
        """Read which operation comes next, the active cluster, any interrupted run and who holds the
        plan's lock (in a thread)."""
        try:
            read = await asyncio.to_thread(self._read_store)
        except Exception as exc:  # an unexpected failure: said, never assumed away
            self.state_error = f"cannot read the DR state: {type(exc).__name__}: {exc}"
        else:
            self.next_op, self.active, self.pending, self.state_error, self.busy = read
        self.refresh_bindings()
        self._draw_header()
        self._draw_banner()

    async def _forecast_once(self) -> None:
        plan = self.plan
        assert plan is not None
        await self._refresh_store()
        if self.next_op is None or self.state_error is not None:
            self._draw_forecast()
            return
        if self._forecaster is not None and self._forecaster_op != self.next_op:
            await self._drop_forecaster()
        try:
            operation = self._forecaster_for(plan, self.next_op)
        except OperationRefused as exc:
            self.refused, self.forecast_error = str(exc), None
            self.forecast_at = self._now()
            self._draw_forecast()
            return
        except Exception as exc:
            self.refused, self.forecast_error = None, f"{type(exc).__name__}: {exc}"
            self._draw_forecast()
            return
        try:
            self.direction = (operation.source, operation.target)
            self._draw_header()
            go, lines = await operation.forecast()
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            self.forecast_error = f"forecast failed: {type(exc).__name__}: {exc}"
            await self._drop_forecaster()  # start afresh next time
        else:
            self.forecast, self.refused, self.forecast_error = (go, lines), None, None
            self.forecast_at = self._now()
        self._draw_forecast()

    # -- drawing ------------------------------------------------------------------------------------

    def _now(self) -> float:
        clock: Callable[[], float] = getattr(self.app, "clock", time.time)
        return clock()

    def _colour(self, name: str) -> str:
        return theme_colour(self.app, name)

    def _planned_direction(self, operation: str) -> tuple[str, str]:
        """(source, target) of ``operation`` as the plan says (before any Operation was built)."""
        plan = self.plan
        assert plan is not None
        primary, secondary = plan.primary_alias, plan.secondary_alias
        return (primary, secondary) if operation == FAILOVER else (secondary, primary)

    def _next_label(self) -> str:
        operation = self.next_op or FAILOVER
        source, target = self.direction or self._planned_direction(operation)
        return f"{operation} {source} -> {target}"

    def _draw_header(self) -> None:
        header = Text()
        if self.state_error is not None:
            header.append(
                "DR state unreadable: active cluster unknown", style=f"bold {self._colour('error')}"
            )
        elif self.next_op is None:
            header.append("reading the DR state…")
        else:
            after = " (after a failover)" if self.next_op == FAILBACK else ""
            header.append("next: ", style=self._colour("text-muted"))
            header.append(self._next_label(), style="bold")
            header.append(after)
            header.append(" · active: ", style=self._colour("text-muted"))
            header.append(self.active or "?", style="bold")
        self.query_one("#fo-header", Static).update(header)

    def _set_banner(self, text: str, colour: str) -> None:
        banner = self.query_one("#fo-banner", Static)
        banner.display = bool(text)
        banner.update(Text(text, style=f"bold {self._colour(colour)}".strip()))

    def _resume_hint(self) -> str:
        if getattr(self.app, "read_only", False):
            return " — resume it without --read-only"
        return " — R resumes it, U rolls it back"

    def _draw_banner(self) -> None:
        if self.running:
            if self.aborting:
                self._set_banner(f"{self.run_label}: aborting after the current step", "warning")
                return
            where = ""
            if self.current_step is not None:
                keys = [key for key, _ in self.run_steps]
                if self.current_step in keys:
                    index = keys.index(self.current_step) + 1
                    where = f" · step {index}/{len(keys)} {self.current_step}"
            self._set_banner(f"running {self.run_label}{where} · a aborts", "warning")
            return
        hint = self._resume_hint() if self.pending is not None else ""
        result = self.result
        if self.state_error is not None:
            self._set_banner(self.state_error, "error")
        elif self.busy is not None:
            self._set_banner(f"busy: {self.busy} (one operation per plan at a time)", "warning")
        elif self.run_error:
            self._set_banner(f"{self.run_label}: {self.run_error}{hint}", "error")
        elif result is not None and result.outcome == "completed":
            self._set_banner(f"✓ {self.run_label} completed", "success")
        elif result is not None and result.outcome == "failed":
            at = f" at {self.failed_step}" if self.failed_step else ""
            self._set_banner(f"✗ {self.run_label} failed{at}: {result.error}{hint}", "error")
        elif result is not None and result.outcome == "aborted":
            self._set_banner(f"{self.run_label} aborted between steps{hint}", "warning")
        elif self.pending is not None:
            self._set_banner(f"interrupted {self.pending[0]}{hint}", "warning")
        else:
            self._set_banner("", "")

    def _forecast_text(self) -> Text:
        """The newest forecast: the verdict first (GO in $success, NO-GO in $error), then the details.

        Each forecast line is one row, never wrapped: in a line wider than the pane, the long name (a
        300-character group) keeps its start and its end around a ``…`` and the words around it stay, so
        it cannot push the lines after it out of the box. A NO-GO with reasons too many for one row puts
        each reason on a row of its own.
        """
        width = max(20, self.app.size.width - 4)  # the body's padding and the box's scrollbar
        text = Text()

        def row(line: str, style: str, indent: int = 0) -> None:
            text.append(fit_line(line, width - indent), style=style)

        at = f" {clock_text(self.forecast_at)}" if self.forecast_at is not None else ""
        lead = f"pre-flight{at} (paused during the run): " if self.running else f"pre-flight{at}: "
        text.append(lead, style="bold")
        if self.refused is not None:
            text.append(f"cannot start: {self.refused}", style=self._colour("warning"))
            return text
        if self.forecast is None:
            text.append(self.forecast_error or "forecasting…", style=self._colour("error"))
            return text
        go, lines = self.forecast
        verdicts = [line for line in lines if line.startswith(("GO", "NO-GO"))]
        verdict = verdicts[-1] if verdicts else ("GO" if go else "NO-GO")
        style = f"bold {self._colour('success' if go else 'error')}"
        reasons = verdict.split("; ")
        if cell_len(lead) + cell_len(verdict) <= width or len(reasons) == 1:
            row(verdict, style, cell_len(lead))
        else:
            for index, reason in enumerate(reasons):
                last = index == len(reasons) - 1
                if index:
                    text.append("\n  ")
                row(reason + ("" if last else ";"), style, cell_len(lead) if index == 0 else 2)
        if self.forecast_error:
            text.append("\n")
            row(f"{self.forecast_error} (showing the previous one)", self._colour("error"))
        for line in lines:
            if line == verdict:
                continue
            colour = "error" if "UNREACHABLE" in line else ""
            text.append("\n")
            row(line, self._colour(colour))
        return text

    def _draw_forecast(self) -> None:
        self.query_one("#fo-forecast", Static).update(self._forecast_text())

    def _step_cells(self, key: str, status: StepStatus, seconds: float | None, summary: str) -> list[Text]:
        mark, colour = MARKS[status]
        style = self._colour(colour)
        secs = "" if seconds is None else f"{seconds:.1f}"
        return [
            Text(mark, style=style),
            Text(key, no_wrap=True, overflow="ellipsis"),
            Text(str(status), style=style),
            Text(secs, justify="right"),
            Text(summary, no_wrap=True, overflow="ellipsis"),
        ]

    def _set_step(self, key: str, status: StepStatus, seconds: float | None, summary: str) -> None:
        table = self.query_one("#fo-steps", DataTable)
        if key not in table.rows:
            return
        cells = self._step_cells(key, status, seconds, summary)
        for column, value in zip(("mark", "step", "status", "secs", "summary"), cells, strict=True):
            table.update_cell(key, column, value)

    def _tick(self) -> None:
        """Show the running step's elapsed seconds."""
        key = self.current_step
        if not self.running or key is None or key not in self._step_started:
            return
        table = self.query_one("#fo-steps", DataTable)
        elapsed = time.monotonic() - self._step_started[key]
        table.update_cell(key, "secs", Text(f"{elapsed:.0f}", justify="right"))

    def _log(self, line: str) -> None:
        # Text, never markup: progress lines carry topic names, brackets and error messages.
        self.query_one("#fo-log", RichLog).write(Text(f"{clock_text(self._now())} {line}"))

    def _draw_report(self) -> None:
        report = self.query_one("#fo-report", Static)
        result = self.result
        if result is None or result.outcome != "completed" or not result.report:
            report.display = False
            self.set_class(self.running, "-compact")
            return
        text = Text()
        try:
            lines = report_lines(result.report)
        except (KeyError, TypeError, ValueError) as exc:
            lines = [f"report unreadable: {exc}"]
        for line in lines[1:] or lines:  # the first line ("... complete") is the banner
            if text:
                text.append("\n")
            prominent = line.startswith(("RPO", "RTO"))
            text.append(line, style=f"bold {self._colour('success')}" if prominent else "")
        report.update(text)
        report.display = True
        self.add_class("-compact")

    # -- running ------------------------------------------------------------------------------------

    def _forecast_for_modal(self) -> tuple[Text, str]:
        """The forecast as the confirmation shows it, and a warning when it says NO-GO."""
        warning = ""
        if self.refused is not None:
            warning = f"cannot start: {self.refused}"
        elif self.forecast is not None and not self.forecast[0]:
            warning = "The pre-flight says NO-GO: the run will stop at the pre-flight step."
        elif self.forecast is None:
            warning = "No forecast yet: the pre-flight step checks again before anything changes."
        return self._forecast_text(), warning

    def action_start(self) -> None:
        """Fail over (or back): confirm by typing the target cluster's name."""
        if self.running or not self.has_runbook or self.state_error is not None:
            return
        operation = self.next_op or FAILOVER
        if self.refused_by_lock(operation):
            return
        _, target = self.direction or self._planned_direction(operation)
        forecast, warning = self._forecast_for_modal()
        label = self._next_label()

        def answered(confirmed: bool | None) -> None:
            if confirmed:
                self._start(operation, resume=False, target=target)

        self.app.push_screen(TypedConfirmScreen(label, forecast, target, warning), answered)

    def action_resume(self) -> None:
        """Resume the interrupted failover or failback (asks first)."""
        if self.running or self.pending is None:
            return
        operation = self.pending[0]
        if self.refused_by_lock(operation):
            return

        def answered(yes: bool | None) -> None:
            if yes and not self.running:
                self._start(operation, resume=True, target=None)

        self.app.push_screen(
            ConfirmScreen(f"Resume the interrupted {operation} from where it stopped?"), answered
        )

    def action_rollback(self) -> None:
        """Roll back the interrupted run: its fence down, MirrorMaker started again (asks first)."""
        if self.running or self.pending is None:
            return
        operation = self.pending[0]
        if self.refused_by_lock("rollback"):
            return

        def answered(yes: bool | None) -> None:
            if yes and not self.running:
                self._start(operation, resume=False, target=None, rollback=True)

        self.app.push_screen(
            ConfirmScreen(
                f"Roll back the interrupted {operation}: take its fence down and start MirrorMaker again, "
                "so the old side takes writes as before?"
            ),
            answered,
        )

    def action_abort(self) -> None:
        """Abort between steps (the current step finishes; resume later with R)."""
        if not self.running or self._operation is None or self.aborting:
            return
        self._operation.abort()
        self.aborting = True
        self._log("abort requested: stopping after the current step")
        self._draw_banner()
        self.refresh_bindings()

    def _start(self, operation: str, *, resume: bool, target: str | None, rollback: bool = False) -> None:
        self.running = True
        self.aborting = False
        self.workers.cancel_group(self, "failover-forecast")
        self.refresh_bindings()
        self.run_operation(operation, resume, target, rollback)

    def _show_steps(self, rows: tuple[tuple[str, str], ...]) -> None:
        """The step list for a run of ``rows`` (the runbook's steps, or a rollback's)."""
        table = self.query_one("#fo-steps", DataTable)
        if rows != self.run_steps:
            table.clear()
            for key, title in rows:
                table.add_row(*self._step_cells(key, StepStatus.PENDING, None, title), key=key)
            self.run_steps = rows
        for key, title in rows:
            self._set_step(key, StepStatus.PENDING, None, title)

    @work(exclusive=True, group="failover-run", exit_on_error=False)
    async def run_operation(
        self, operation: str, resume: bool, target: str | None, rollback: bool = False
    ) -> None:
        """Build the operation, run it with live events; the app asks before quitting meanwhile."""
        plan = self.plan
        assert plan is not None
        app: Any = self.app
        self.result, self.run_error, self.failed_step, self.current_step = None, "", None, None
        self.events = []
        self._step_started.clear()
        self._draw_report()
        op_id = "runbook"
        began = cancelled = False
        try:
            try:
                if rollback:
                    op = self.factory(plan, self.plan_path, operation, False, rollback=True)
                else:
                    op = self.factory(plan, self.plan_path, operation, resume)
            except OperationRefused as exc:
                self.run_label = f"{operation} rollback" if rollback else operation
                self.run_error = f"cannot start: {exc}"
                return
            self.run_label = f"{op.operation} {op.source} -> {op.target}"
            if rollback:
                self.run_label = f"rollback of the {self.run_label}"
            if target is not None and op.target != target:
                with contextlib.suppress(Exception):
                    await op.close()
                self.run_error = f"not started: the target is now {op.target}, not {target}"
                return
            self._operation = op
            self._show_steps(ROLLBACK_STEPS if rollback else STEPS)
            self._log(f"{'resuming' if resume else 'starting'} {self.run_label}")
            app.begin_operation(op_id, self.run_label)
            began = True
            self.add_class("-compact")
            self._draw_banner()
            self._draw_forecast()
            try:
                self.result = await op.run(self._on_event)
            except asyncio.CancelledError:
                raise
            except OperationRefused as exc:  # another operation holds the plan, or the journals moved
                self.run_error = f"refused: {exc}"
                self._log(self.run_error)
            except Exception as exc:
                self.run_error = f"stopped by an error: {type(exc).__name__}: {exc}"
                self._log(self.run_error)
        except asyncio.CancelledError:
            cancelled = True  # the app is closing: nothing left to draw
            raise
        finally:
            if began:
                app.end_operation(op_id)
            self._operation = None
            self.running = False
            self.aborting = False
            self.current_step = None
            if not cancelled:
                with contextlib.suppress(Exception):
                    await self._refresh_store()
                self._finish()

    def _finish(self) -> None:
        """Show how the run ended, then forecast again (the next operation) if the pane is shown."""
        result = self.result
        if self.run_error:
            self.notify(self.run_error, severity="error", timeout=10)
        elif result is not None:
            if not any(event.kind == "run-end" for event in self.events):
                self._log(f"run ended: {result.outcome}" + (f": {result.error}" if result.error else ""))
            if result.outcome == "failed":
                self.notify(f"{self.run_label} failed: {result.error}", severity="error", timeout=10)
        self._draw_banner()
        self._draw_report()
        self._draw_forecast()
        self.refresh_bindings()
        # The report took room from the log: keep its newest lines in view.
        self.call_after_refresh(self.query_one("#fo-log", RichLog).scroll_end, animate=False)
        if self.is_current:
            self.forecast_loop()

    def _on_event(self, event: RunEvent) -> None:
        """One runner event: update the step list, the log and the banner."""
        self.events.append(event)
        title = dict(self.run_steps).get(event.step, event.title)
        if event.kind == "run-start":
            self._log(event.text or "starting")
        elif event.kind == "step-start":
            self.current_step = event.step
            self._step_started[event.step] = time.monotonic()
            self._set_step(event.step, StepStatus.RUNNING, None, title)
            self._log(f"▶ {event.step}: {title}")
            self._draw_banner()
        elif event.kind == "progress":
            for line in (event.text or "").splitlines() or [""]:
                self._log(f"  {line}")
        elif event.kind == "step-end":
            status = event.status or StepStatus.DONE
            if status is StepStatus.FAILED:
                self.failed_step = event.step
            self._set_step(event.step, status, event.seconds, event.text or title)
            mark = MARKS.get(status, ("?", ""))[0]
            self._log(f"{mark} {event.step} {status}: {event.text}")
            if self.current_step == event.step:
                self.current_step = None
        elif event.kind == "run-end":
            self._log(f"run ended: {event.text}")
