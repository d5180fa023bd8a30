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
from textual.reactive import var
from textual.widgets import Static, Tree

from kdrtui.domain.runbook import StepStatus
from kdrtui.tui.helpers import clock_text
from kdrtui.tui.messages import RunEnded, RunOutcome, RunTicket
from kdrtui.tui.screens.dialogs import TypedConfirmScreen
from kdrtui.tui.screens.provisioning_model import (
    InterruptedRun,
    LogLine,
    ProvisioningProgress,
    ProvisioningService,
    ProvisioningUnavailable,
    StepView,
    duration_text,
    error_text,
)
from kdrtui.tui.screens.run_pane import NotStarted, RunPane
from kdrtui.tui.widgets.run_widgets import RunBanner, RunLog
from kdrtui.tui.widgets.step_tree import NodeData, StepsBar, StepTree

if TYPE_CHECKING:
    from kdrtui.services.runbook.runner import RunEvent

NO_AZURE = (
    "This plan has no [azure] table: there is nothing to provision from here.\n\n"
    "Add one to the plan file, and a [clusters.<alias>.hdinsight] table\n"
    "for each cluster to create:\n\n"
    "  [azure]\n"
    '  subscription_id = "<GUID>"   # or set AZURE_SUBSCRIPTION_ID\n'
    '  credential = "default"       # az login, a managed identity…\n\n'
    "To rehearse, `kdrtui lab up --azure` starts the lab's Azure emulator\n"
    "and writes such a plan; open it with `kdrtui --plan lab-azure`."
)
"""What the pane says for a plan without ``[azure]``."""


class ProvisioningScreen(RunPane[bool]):
    """The dry run, then the provisioning run: step tree, overall progress, the selected step's log.

    A run's request is whether it resumes the journal.
    """

    MODE = "provisioning"
    CSS_PATH = "provisioning.tcss"
    RUN_ID = "provisioning"
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
        self._echoes: list[str] = []
        self._service: ProvisioningService | None = None
        self._dry: RunTicket | None = None
        self._dry_run_started = False
        self._left: InterruptedRun | None = None
        self._count_text = ""

    # -- layout -------------------------------------------------------------------------------------

    def _empty_reason(self) -> str | None:
        plan = self.plan
        if plan is None:
            return (
                "No plan: nothing to provision. Open one with `kdrtui --plan PATH`, or write one with the "
                "Wizard (key 2)."
            )
        if plan.azure is None:
            return NO_AZURE
        return None

    @property
    def has_azure(self) -> bool:
        """Whether the plan can be provisioned from here at all."""
        return self._empty_reason() is None

    def compose_body(self) -> ComposeResult:
        reason = self._empty_reason()
        if reason is not None:
            yield Static(Text(reason), id="pv-empty")
            return
        yield RunBanner("", id="pv-banner")
        with Horizontal(id="pv-progress-row"):
            yield StepsBar(total=1, show_eta=False, id="pv-bar")
            yield Static("", id="pv-count")
        yield StepTree(id="pv-tree")
        yield RunLog(id="pv-log")
        yield Static(Text("dry run: building the provisioner…"), id="pv-status")

    def on_mount(self) -> None:
        if self.has_azure:
            self.start_ticking()

    def on_screen_resume(self) -> None:
        if self.has_azure and not self._dry_run_started and not self.running:
            self._dry_run_started = True
            self.dry_run_worker()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action not in {"provision", "retry", "resume", "abort", "dry_run"}:
            return super().check_action(action, parameters)
        if not self.has_azure or self.unavailable:
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
            self.step_tree.draw_step(view, now, self.colour, expand=self._expand_for(view, expand))
        self._draw_progress()

    @staticmethod
    def _expand_for(view: StepView, default: bool | None) -> bool | None:
        if view.status in (StepStatus.RUNNING, StepStatus.FAILED):
            return True
        return default

    # -- the dry run ----------------------------------------------------------------------------------

    def action_dry_run(self) -> None:
        """Ask the provisioner again what it would create (changes nothing)."""
        if not self.running and self.has_azure:
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
                progress.start_run()
                progress.set_plan({step.key: list(step_lines) for step, step_lines in lines})
                if self.interrupted_run is not None:
                    progress.show_journal(self.interrupted_run.state())
                elif self.last_run is not None:
                    # What the plan looks like now: the last run's steps, with the dry run under them.
                    progress.show_journal(self.last_run.state())
                self.showing_run = False
                self.dry_run_at = self.now()
                self._draw_all(expand=True)
                self._rewrite_log()
        finally:
            if self._dry is ticket:
                self._drop_dry_run()
            self.redraw()

    # -- running --------------------------------------------------------------------------------------

    def _dry_run_text(self) -> Text:
        """The dry run as the confirmation shows it: each step and what it would do."""
        text = Text()
        progress = self.progress
        if progress is None or self.dry_run_at is None:
            return Text("No dry run yet: every step looks before it creates anything.")
        text.append(f"dry run {clock_text(self.dry_run_at)}", style="bold")
        for view in progress.steps.values():
            text.append(f"\n{view.title}", style="bold")
            for line in view.plan:
                text.append(f"\n  {line}")
        return text

    def action_provision(self) -> None:
        """Provision the plan: confirm by typing its name."""
        if self.running or not self.has_azure or self.refused_by_lock("provision"):
            return
        name = self.plan_name
        warning = self.dry_run_error or ("The dry run is still being read." if self.dry_reading else "")
        dialog = TypedConfirmScreen(
            f"provisioning {name} in Azure",
            self._dry_run_text(),
            name,
            warning,
            what="the plan's name",
            placeholder="plan name",
        )
        self.confirm_typed(dialog, lambda: self._start(resume=False))

    def action_retry(self) -> None:
        """Retry the failed run: finished steps are verified, the failed one runs again."""
        failed = not self.running and self.result is not None and self.result.outcome == "failed"
        if failed and not self.refused_by_lock("provision"):
            self._start(resume=True)

    def action_resume(self) -> None:
        """Resume the interrupted provisioning (asks first)."""
        if self.running or self.interrupted_run is None or self.refused_by_lock("provision"):
            return
        question = f"Resume the interrupted provisioning of {self.plan_name} where it stopped?"
        self.confirm(question, lambda: self._start(resume=True))

    def abort_run(self) -> None:
        if self._service is not None:
            self._service.request_abort()

    def _start(self, *, resume: bool) -> None:
        self.workers.cancel_group(self, "provisioning-dry-run")
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
            self._service = service
            self._adopt(service)
            if self.aborting:
                service.request_abort()
            result = await service.run(resume=request)
            self._left = await asyncio.to_thread(service.interrupted)
            await self._reload_plan()
        except ProvisioningUnavailable as exc:
            raise NotStarted(str(exc)) from exc
        finally:
            self._service = None
        return result

    async def _reload_plan(self) -> None:
        """Read the plan file again (its bootstrap step writes the provisioned brokers and edge nodes into
        it) and give it to the whole console."""
        from kdrtui.domain.plan import PlanInvalid
        from kdrtui.services.plan_files import load_plan

        path = self.plan_path
        if path is None:
            return
        try:
            plan = await asyncio.to_thread(load_plan, path)
        except PlanInvalid as exc:
            self.note(f"the plan file no longer loads: {exc}", "error")
            return
        self.kdr_app.adopt_plan(plan)

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
            expand = self._expand_for(view, False if view.status.finished else None)
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
        total = len(progress.steps)
        self.query_one("#pv-bar", StepsBar).update(total=total, progress=progress.overall())
        elapsed = progress.elapsed(self.now()) if self.showing_run else None
        count = f"{progress.finished}/{total} steps"
        if elapsed is not None:
            count += f" · {duration_text(elapsed)}"
        if count != self._count_text:
            self._count_text = count
            self.query_one("#pv-count", Static).update(Text(count))

    def redraw(self) -> None:
        if self.has_azure and self.is_mounted:
            self.query_one("#pv-banner", RunBanner).say(*self._banner())
            self._draw_status()

    def _banner(self) -> tuple[str, str]:
        """(banner, theme colour): an interrupted run, while it waits to be resumed."""
        journal = self.interrupted_run
        failed = self.result is not None and self.result.outcome == "failed"
        if journal is None or self.running or failed:
            return "", ""
        state = journal.state()
        done = sum(1 for record in state.steps.values() if record.status.finished)
        total = len(self.progress.steps) if self.progress is not None else len(state.steps)
        hint = " — resume it without --read-only" if self.read_only else " — press R to resume"
        text = f"interrupted provisioning ({journal.path.name}, {done}/{total} steps finished){hint}"
        return text, "warning"

    def _status_text(self) -> tuple[str, str]:
        """(status line, theme colour)."""
        progress = self.progress
        if self.unavailable:
            return self.unavailable, "error"
        if self.running and progress is not None:
            if self.aborting:
                return "aborting after the current step", "warning"
            where = ""
            if progress.current is not None:
                index = progress.keys.index(progress.current) + 1
                where = f" · step {index}/{len(progress.steps)} {progress.steps[progress.current].title}"
            return f"provisioning {self.plan_name}{where} · a aborts", "warning"
        if self.running:
            return f"provisioning {self.plan_name}: building the provisioner…", "warning"
        if self.dry_reading:
            return "dry run: asking Azure what exists…", ""
        result = self.result
        if self.showing_run and self.run_error:
            return self.run_error, "error"
        if self.showing_run and result is not None and progress is not None:
            took = duration_text(progress.elapsed(self.now()))
            if result.outcome == "completed":
                return f"✓ provisioned {self.plan_name}: {progress.finished} steps in {took}", "success"
            if result.outcome == "failed":
                retry = "" if self.read_only else " (r retries)"
                return f"✗ failed at {result.failed_step}{retry}: {result.error}", "error"
            resume = "" if self.read_only else " · R resumes"
            return f"aborted before {result.failed_step}{resume}", "warning"
        if self.dry_run_error:
            return f"{self.dry_run_error} · d tries again", "error"
        if self.dry_run_at is not None:
            then = f"dry run {clock_text(self.dry_run_at)}"
            if self.read_only:
                return f"{then} · read-only: provisioning is not offered", ""
            if self.interrupted_run is not None:
                return f"{then} · R resumes the interrupted run", ""
            if self.last_run is not None:
                state = self.last_run.state()
                at = clock_text(state.confirmed_at) if state.confirmed_at is not None else "earlier"
                return f"provisioned ({at}) · {then} · P runs it again (creates only what is missing)", ""
            return f"{then} · P provisions (type {self.plan_name})", ""
        return "dry run: building the provisioner…", ""

    def _draw_status(self) -> None:
        if self.has_azure and self.is_mounted:
            text, colour = self._status_text()
            self.query_one("#pv-status", Static).update(Text(text, style=self.colour(colour)))

    # -- the log ----------------------------------------------------------------------------------------

    def on_tree_node_highlighted(self, message: Tree.NodeHighlighted[NodeData]) -> None:
        data = message.node.data
        if data is None:
            return
        step = data[0]
        if step in self._echoes:  # the pane moved the cursor there itself
            self._echoes.remove(step)
            return
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
            self.step_tree.call_after_refresh(self._move_cursor, step)
        if changed:
            self._rewrite_log()

    def _move_cursor(self, step: str) -> None:
        """Put the tree's cursor on ``step`` (after a refresh, when the tree's lines are laid out)."""
        tree = self.step_tree
        node = tree.step_node(step)
        if node is None or tree.cursor_node is node or step != self.selected:
            return
        self._echoes.append(step)
        tree.move_cursor(node)

    def _selected_view(self) -> StepView | None:
        progress = self.progress
        return progress.steps.get(self.selected or "") if progress is not None else None

    def _rewrite_log(self) -> None:
        log = self.query_one("#pv-log", RunLog)
        view = self._selected_view()
        log.border_title = f"log · {view.title}" if view is not None else "log"
        log.rewrite((line.at, line.text, line.colour) for line in (view.log if view is not None else ()))

    def note(self, text: str, colour: str = "") -> None:
        """A line of the pane's own (abort requested, a crash) in the selected step's log."""
        view = self._selected_view()
        line = LogLine(self.now(), text, colour)
        if view is not None:
            view.log.append(line)
        self.query_one("#pv-log", RunLog).queue(line.at, line.text, line.colour)
