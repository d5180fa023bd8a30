"""Provisioning: the plan carried out in Azure step by step, with live progress, retry and resume.

Shown once the plan has an ``[azure]`` table. On first show a worker builds the provisioner (in a thread:
it imports the Azure SDKs) and asks for its dry run, which fills the step tree with what each step would
create or found already there; ``d`` asks again. ``P`` provisions after the plan's name is typed in full;
the runner's events (posted as messages, so any thread may send them) redraw only the step they touch,
and the log lines of the selected step are written in batches. ``r`` retries a failed run and ``R``
resumes an interrupted one (both resume the journal: finished steps are verified, the rest run), ``a``
aborts between steps. Under ``--read-only`` only the dry run is offered. The run itself is the shared
:class:`RunPane`'s.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, ClassVar

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.content import Content
from textual.reactive import var
from textual.widgets import Static, Tree

from kdrtui.domain.plan import PlanInvalid
from kdrtui.tui.messages import RunEnded, RunOutcome, RunTicket
from kdrtui.tui.screens.dialogs import TypedConfirmScreen
from kdrtui.tui.screens.provisioning_model import (
    InterruptedRun,
    LogLine,
    ProvisioningProgress,
    ProvisioningService,
    ProvisioningUnavailable,
    StepView,
    error_text,
)
from kdrtui.tui.screens.provisioning_texts import (
    dry_run_status,
    dry_run_text,
    empty_reason,
    interrupted_banner,
    run_status,
)
from kdrtui.tui.screens.run_pane import NotStarted, RunPane, running_text
from kdrtui.tui.widgets.run_widgets import RunBanner, RunLog
from kdrtui.tui.widgets.step_tree import NodeData, StepsBar, StepTree, expand_for

if TYPE_CHECKING:
    from kdrtui.services.runbook.runner import RunEvent


class ProvisioningScreen(RunPane[bool]):
    """The dry run, then the provisioning run: step tree, overall progress, the selected step's log.

    A run's request is whether it resumes the journal.
    """

    MODE = "provisioning"
    CSS_PATH = "provisioning.tcss"
    RUN_ID = "provisioning"
    PREFIX = "pv"
    PREVIEW_GROUP = "provisioning-dry-run"
    MUTATING = frozenset({"provision", "retry", "resume", "abort"})
    BINDINGS: ClassVar[list[Binding]] = [  # type: ignore[assignment]
        Binding("P", "provision", "Provision", key_display="P", id="provisioning.provision"),
        Binding("r", "retry", "Retry", id="provisioning.retry"),
        Binding("R", "resume", "Resume", key_display="R", id="provisioning.resume"),
        Binding("a", "abort", "Abort", id="provisioning.abort"),
        Binding("d", "dry_run", "Dry run", id="provisioning.dry-run"),
    ]

    unavailable: var[str] = var("", init=False, bindings=True)
    """Why provisioning cannot be offered (the provisioner is missing…); ``""`` when it can."""
    dry_reading: var[bool] = var(False, init=False, bindings=True)
    """Whether a dry run is being read."""
    dry_run_at: var[float | None] = var(None, init=False)
    """When the shown dry run was read (the app's clock)."""
    dry_run_error: var[str] = var("", init=False)
    """Why the last dry run failed."""
    interrupted_run: var[InterruptedRun | None] = var(None, init=False, bindings=True)
    """An unfinished provisioning journal found by the last dry run, or left by an aborted run."""
    last_run: var[InterruptedRun | None] = var(None, init=False)
    """The newest provisioning journal whose run completed (shown under the dry run)."""
    showing_run: var[bool] = var(False, init=False)
    """Whether the tree shows a run (rather than the dry run)."""

    def __init__(self) -> None:
        super().__init__()
        self.progress: ProvisioningProgress | None = None
        """The steps and where each is (None until the provisioner was built)."""
        self.selected: str | None = None
        """The step whose log is shown."""
        self._follow = True
        self._dry: RunTicket | None = None
        self._dry_run_started = False
        self._left: InterruptedRun | None = None
        self._count_text = ""

    # -- layout -------------------------------------------------------------------------------------

    def empty_reason(self) -> str | None:
        return empty_reason(self.plan)

    def compose_run(self) -> ComposeResult:
        yield RunBanner("", id="pv-banner")
        with Horizontal(id="pv-progress-row"):
            yield StepsBar(total=1, show_eta=False, id="pv-bar")
            yield Static("", id="pv-count")
        yield StepTree(id="pv-tree")
        yield RunLog(id="pv-log")
        yield Static(Text("dry run: building the provisioner…"), id="pv-status")

    def on_mount(self) -> None:
        if self.runnable:
            self.start_ticking()

    def on_screen_resume(self) -> None:
        if self.runnable and not self._dry_run_started and not self.running:
            self._dry_run_started = True
            self.dry_run_worker()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action not in {"provision", "retry", "resume", "abort", "dry_run"}:
            return super().check_action(action, parameters)
        if not self.runnable or self.unavailable:
            return False
        verdict = super().check_action(action, parameters)
        if verdict is not True or action == "abort":
            return verdict  # read-only, or abort (offered while a run goes)
        failed = self.result is not None and self.result.outcome == "failed"
        if action == "dry_run":
            return not self.running
        if action == "provision":
            return not self.running and self.interrupted_run is None and not failed
        if action == "retry":
            return not self.running and failed
        return not self.running and self.interrupted_run is not None and not failed  # resume

    # -- helpers --------------------------------------------------------------------------------------

    @property
    def step_tree(self) -> StepTree:
        """The step tree."""
        return self.query_one("#pv-tree", StepTree)

    @property
    def plan_name(self) -> str:
        """The plan's name (what the confirmation asks to type)."""
        plan = self.plan
        return plan.plan.name if plan is not None else ""

    def _build(self, ticket: RunTicket) -> ProvisioningService:
        """The provisioner whose events reach this pane under ``ticket`` (runs in a thread)."""
        plan = self.plan
        assert plan is not None
        factory = self.services.provisioning_factory
        return factory(plan, self.plan_path, self.sink(ticket), self.kdr_app.ask_host_key)

    def _adopt(self, service: ProvisioningService) -> ProvisioningProgress:
        """Use the service's steps (a new tree only when they differ from the shown ones)."""
        steps = [(step.key, step.title) for step in service.steps]
        progress = self.progress
        if progress is None or not progress.same_steps(steps):
            progress = self.progress = ProvisioningProgress(steps)
            self.step_tree.set_steps(list(progress.steps.values()), self.now(), self.colour)
            self.query_one("#pv-bar", StepsBar).update(total=len(steps), progress=0)
            if steps:
                self._select(steps[0][0], move=True)
        return progress

    def _draw_all(self, *, expand: bool | None = None) -> None:
        progress = self.progress
        if progress is None:
            return
        now = self.now()
        for view in progress.steps.values():
            self.step_tree.draw_step(view, now, self.colour, expand=expand_for(view, expand))
        self._draw_progress()

    # -- the dry run ----------------------------------------------------------------------------------

    def action_dry_run(self) -> None:
        """Ask the provisioner again what it would create (changes nothing)."""
        if not self.running and self.runnable:
            self.dry_run_worker()

    def _drop_dry_run(self) -> None:
        """No event of the dry run being read counts any more."""
        if self._dry is not None:
            self._dry.live = False
        self._dry = None
        self.dry_reading = False

    @work(exclusive=True, group="provisioning-dry-run", exit_on_error=False)
    async def dry_run_worker(self) -> None:
        """Build the provisioner, look for an interrupted run, then read the dry run into the tree."""
        self._drop_dry_run()
        ticket = self._dry = RunTicket("dry-run")
        self.dry_reading, self.dry_run_error = True, ""
        try:
            service = await asyncio.to_thread(self._build, ticket)
            progress = self._adopt(service)
            self.interrupted_run = await asyncio.to_thread(service.interrupted)
            self.last_run = await asyncio.to_thread(service.last_completed)
            lines = await service.dry_run()
        except asyncio.CancelledError:
            raise
        except ProvisioningUnavailable as exc:
            self.unavailable = str(exc)
        except Exception as exc:
            self.dry_run_error = f"dry run failed: {error_text(exc)}"
        else:
            if not self.running:
                # What the plan looks like now: an interrupted run's or the last run's steps, with the dry
                # run under them.
                journal = self.interrupted_run if self.interrupted_run is not None else self.last_run
                plan = {step.key: list(step_lines) for step, step_lines in lines}
                progress.show_dry_run(plan, journal.state() if journal is not None else None)
                self.showing_run = False
                self.dry_run_at = self.now()
                self._draw_all(expand=True)
                self._rewrite_log()
        finally:
            if self._dry is ticket:
                self._drop_dry_run()
            self.redraw()

    # -- running --------------------------------------------------------------------------------------

    def action_provision(self) -> None:
        """Provision the plan: confirm by typing its name."""

        def dialog() -> TypedConfirmScreen:
            name = self.plan_name
            warning = self.dry_run_error or ("The dry run is still being read." if self.dry_reading else "")
            return TypedConfirmScreen(
                f"provisioning {name} in Azure",
                dry_run_text(self.progress, self.dry_run_at),
                name,
                warning,
                what="the plan's name",
                placeholder="plan name",
            )

        self.confirm_typed("provision", dialog, lambda: self._start(resume=False))

    def action_retry(self) -> None:
        """Retry the failed run: finished steps are verified, the failed one runs again."""
        failed = not self.running and self.result is not None and self.result.outcome == "failed"
        if failed and not self.refused_by_lock("provision"):
            self._start(resume=True)

    def action_resume(self) -> None:
        """Resume the interrupted provisioning (asks first)."""
        if self.interrupted_run is not None:
            question = f"Resume the interrupted provisioning of {self.plan_name} where it stopped?"
            self.confirm("provision", question, lambda: self._start(resume=True))

    def _start(self, *, resume: bool) -> None:
        self._drop_dry_run()
        self.showing_run = True
        self._follow = True
        self.start_run(resume)
        if self.progress is not None:
            self.progress.start_run()
            self._draw_all(expand=False)

    def error_text(self, exc: Exception) -> str:
        if isinstance(exc, ProvisioningUnavailable):
            return str(exc)
        error = error_text(exc)
        return error if error.startswith("cannot start") else f"stopped by an error: {error}"

    async def execute(self, request: bool, ticket: RunTicket) -> RunOutcome:
        """Build the provisioner and run it (``request``: resume the journal)."""
        self.hold(ticket, f"provisioning {self.plan_name}")
        self._left = None
        try:
            service = await asyncio.to_thread(self._build, ticket)
            self._adopt(service)
            self.abortable(service.request_abort)
            result = await service.run(resume=request)
            self._left = await asyncio.to_thread(service.interrupted)
            # The bootstrap step wrote the provisioned brokers and edge nodes into the plan file.
            try:
                await self.kdr_app.reload_plan()
            except PlanInvalid as exc:
                self.note(f"the plan file no longer loads: {exc}", "error")
        except ProvisioningUnavailable as exc:
            raise NotStarted(str(exc)) from exc
        return result

    def run_ended(self, message: RunEnded) -> None:
        result = self.result
        if result is not None:
            self.interrupted_run = self._left
        if message.error:
            self.note(message.error, "error")
        # The pane shows how it ended; elsewhere in the console a notification says so (outside text:
        # never read as markup).
        if not self.is_current and (message.error or (result is not None and result.outcome != "completed")):
            why = message.error or f"{result.outcome} at {result.failed_step}: {result.error}"
            self.notify(f"provisioning {why}", severity="error", timeout=10, markup=False)
        elif not self.is_current:
            self.notify(f"provisioned {self.plan_name}", timeout=10, markup=False)
        self._draw_all()
        self.redraw()

    def apply_event(self, event: RunEvent, ticket: RunTicket) -> None:
        progress = self.progress
        if progress is None:
            return
        now = self.now()
        change = progress.apply(event, now, dry_run=ticket.kind == "dry-run")
        for key in change.steps:
            view = progress.steps[key]
            expand = expand_for(view, False if view.status.finished else None)
            self.step_tree.draw_step(view, now, self.colour, expand=expand)
        log = self.query_one("#pv-log", RunLog)
        for key, line in change.lines:
            if key == self.selected:
                log.queue(line.at, line.text, line.colour)
        if event.kind == "step-start" and self._follow and event.step in progress.steps:
            self._select(event.step, move=True)  # rewrites the log with the step's lines so far
        if change.steps:
            self._draw_progress()
        if event.kind in ("step-start", "step-end"):
            self._draw_status()

    # -- drawing --------------------------------------------------------------------------------------

    def watch_unavailable(self) -> None:
        self.redraw()

    def watch_interrupted_run(self) -> None:
        self.redraw()

    def watch_dry_run_error(self) -> None:
        self._draw_status()

    def watch_dry_reading(self) -> None:
        self._draw_status()

    def tick(self) -> None:
        """The running step's elapsed time and the total, once a second while a run goes."""
        progress = self.progress
        if progress is None or not self.running or progress.current is None:
            return
        self.step_tree.draw_elapsed(progress.steps[progress.current], self.now(), self.colour)
        self._draw_progress()

    def _draw_progress(self) -> None:
        progress = self.progress
        if progress is None:
            return
        self.query_one("#pv-bar", StepsBar).update(total=len(progress.steps), progress=progress.overall())
        count = progress.count_text(self.now() if self.showing_run else None)
        if count != self._count_text:
            self._count_text = count
            self.query_one("#pv-count", Static).update(Text(count))

    def redraw(self) -> None:
        if self.runnable and self.is_mounted:
            self.query_one("#pv-banner", RunBanner).say(*self._banner())
            self._draw_status()

    def _banner(self) -> tuple[str, str]:
        """(banner, theme colour): an interrupted run, while it waits to be resumed."""
        journal = self.interrupted_run
        failed = self.result is not None and self.result.outcome == "failed"
        if journal is None or self.running or failed:
            return "", ""
        total = len(self.progress.steps) if self.progress is not None else None
        return interrupted_banner(journal, total, self.resume_hint("press R to resume")), "warning"

    def _status_text(self) -> tuple[str, str]:
        """(status line, theme colour)."""
        progress = self.progress
        if self.unavailable:
            return self.unavailable, "error"
        if self.running and progress is not None:
            if self.aborting:
                return "aborting after the current step", "warning"
            current = progress.current
            title = progress.steps[current].title if current is not None else None
            return running_text(f"provisioning {self.plan_name}", progress.keys, current, title), "warning"
        if self.running:
            return f"provisioning {self.plan_name}: building the provisioner…", "warning"
        if self.dry_reading:
            return "dry run: asking Azure what exists…", ""
        result = self.result
        if self.showing_run and self.run_error:
            return self.run_error, "error"
        if self.showing_run and result is not None and progress is not None:
            took = progress.elapsed(self.now())
            return run_status(result, progress.finished, took, self.plan_name, self.read_only)
        if self.dry_run_error:
            return f"{self.dry_run_error} · d tries again", "error"
        if self.dry_run_at is not None:
            at, name, interrupted = self.dry_run_at, self.plan_name, self.interrupted_run
            return dry_run_status(at, name, self.read_only, interrupted, self.last_run)
        return "dry run: building the provisioner…", ""

    def _draw_status(self) -> None:
        if self.runnable and self.is_mounted:
            text, colour = self._status_text()
            self.query_one("#pv-status", Static).update(Text(text, style=self.colour(colour)))

    # -- the log ----------------------------------------------------------------------------------------

    def on_tree_node_highlighted(self, message: Tree.NodeHighlighted[NodeData]) -> None:
        data = message.node.data
        if data is None:
            return
        step = data[0]
        progress = self.progress
        if progress is not None and self.running:
            self._follow = step == progress.current
        if step != self.selected:
            self._select(step, move=False)

    def _select(self, step: str, *, move: bool) -> None:
        """Show ``step``'s log (and put the tree's cursor on it when ``move``)."""
        changed = step != self.selected
        self.selected = step
        if move:
            self.step_tree.move_to(step)
        if changed:
            self._rewrite_log()

    def _selected_view(self) -> StepView | None:
        progress = self.progress
        return progress.steps.get(self.selected or "") if progress is not None else None

    def _rewrite_log(self) -> None:
        log = self.query_one("#pv-log", RunLog)
        view = self._selected_view()
        log.border_title = Content(f"log · {view.title}" if view is not None else "log")  # never markup
        log.rewrite((line.at, line.text, line.colour) for line in (view.log if view is not None else ()))

    def note(self, text: str, colour: str = "") -> None:
        """A line of the pane's own (abort requested, a crash) in the selected step's log."""
        view = self._selected_view()
        line = LogLine(self.now(), text, colour)
        if view is not None:
            view.log.append(line)
        self.query_one("#pv-log", RunLog).queue(line.at, line.text, line.colour)
