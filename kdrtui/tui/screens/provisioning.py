"""Provisioning: the plan carried out in Azure step by step, with live progress, retry and resume.

Shown once the plan has an ``[azure]`` table. On first show a worker builds the provisioner (in a thread:
it imports the Azure SDKs) and asks for its dry run, which fills the step tree with what each step would
create or found already there; ``d`` asks again. ``P`` provisions after the plan's name is typed in full;
the runner's events (posted as messages, so any thread may send them) redraw only the step they touch,
and the log lines of the selected step are written in batches. ``r`` retries a failed run and ``R``
resumes an interrupted one (both resume the journal: finished steps are verified, the rest run), ``a``
aborts between steps. Under ``--read-only`` only the dry run is offered.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.message import Message
from textual.timer import Timer
from textual.widgets import RichLog, Static, Tree

from kdrtui.domain.runbook import StepStatus
from kdrtui.tui.screens.base import ModeScreen
from kdrtui.tui.screens.dialogs import ConfirmScreen
from kdrtui.tui.screens.provisioning_model import (
    InterruptedRun,
    LogLine,
    ProvisioningFactory,
    ProvisioningProgress,
    ProvisioningService,
    ProvisioningUnavailable,
    StepView,
    azure_provisioning_factory,
    duration_text,
    error_text,
)
from kdrtui.tui.screens.provisioning_tree import NodeData, StepsBar, StepTree
from kdrtui.tui.screens.typed_confirm import TypedConfirmScreen
from kdrtui.tui.text import theme_colour

if TYPE_CHECKING:
    from kdrtui.services.runbook.runner import RunEvent, RunResult

LOG_BATCH_S = 0.25
"""Seconds log lines are gathered before they are written (one repaint for a burst)."""

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


class ProvisionEvent(Message):
    """A runner event from the provisioner built as ``generation`` (post it from any thread)."""

    def __init__(self, generation: int, event: RunEvent) -> None:
        super().__init__()
        self.generation = generation
        """Which dry run or run sent it (events of older ones are dropped)."""
        self.event = event


class ProvisionEnded(Message):
    """A run ended (after all its events, which were posted before it)."""

    def __init__(
        self, generation: int, result: RunResult | None, error: str, interrupted: InterruptedRun | None
    ) -> None:
        super().__init__()
        self.generation = generation
        self.result = result
        """How it ended, or None when it could not start or crashed."""
        self.error = error
        """Why it could not start or crashed."""
        self.interrupted = interrupted
        """The unfinished journal it left (failed, aborted, crashed), if any."""


def clock_text(at: float) -> str:
    """``HH:MM:SS`` local time."""
    return time.strftime("%H:%M:%S", time.localtime(at))


class ProvisioningScreen(ModeScreen):
    """The dry run, then the provisioning run: step tree, overall progress, the selected step's log."""

    MODE = "provisioning"
    MUTATING = frozenset({"provision", "retry", "resume", "abort"})
    DEFAULT_CSS = """
    ProvisioningScreen #body {
        padding: 0 1;
    }
    #pv-banner {
        height: auto;
        max-height: 2;
        display: none;
    }
    #pv-progress-row {
        height: 1;
    }
    #pv-bar {
        width: auto;
    }
    #pv-bar Bar {
        width: 40;
    }
    #pv-count {
        width: 1fr;
        padding: 0 0 0 1;
        text-wrap: nowrap;
        text-overflow: ellipsis;
    }
    #pv-tree {
        overflow-x: hidden;
        height: 2fr;
        min-height: 6;
    }
    #pv-log {
        height: 1fr;
        min-height: 4;
        background: $surface;
        border-top: solid $panel-lighten-2;
        border-title-color: $text-muted;
        overflow-x: hidden;
    }
    #pv-status {
        height: auto;
        max-height: 2;
    }
    #pv-empty {
        margin: 1 2;
    }
    """
    BINDINGS: ClassVar[list[Binding]] = [  # type: ignore[assignment]
        Binding("P", "provision", "Provision", key_display="P", id="provisioning.provision"),
        Binding("r", "retry", "Retry", id="provisioning.retry"),
        Binding("R", "resume", "Resume", key_display="R", id="provisioning.resume"),
        Binding("a", "abort", "Abort", id="provisioning.abort"),
        Binding("d", "dry_run", "Dry run", id="provisioning.dry-run"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.progress: ProvisioningProgress | None = None
        """The steps and where each is (None until the provisioner was built)."""
        self.unavailable = ""
        """Why provisioning cannot be offered (the provisioner is missing…); ``""`` when it can."""
        self.dry_reading = False
        """Whether a dry run is being read."""
        self.dry_run_at: float | None = None
        """When the shown dry run was read (the app's clock)."""
        self.dry_run_error = ""
        """Why the last dry run failed."""
        self.interrupted_run: InterruptedRun | None = None
        """An unfinished provisioning journal found by the last dry run, or left by an aborted run."""
        self.last_run: InterruptedRun | None = None
        """The newest provisioning journal whose run completed (shown under the dry run)."""
        self.running = False
        """Whether a provisioning run is going."""
        self.aborting = False
        """Whether an abort was requested."""
        self.showing_run = False
        """Whether the tree shows a run (rather than the dry run)."""
        self.result: RunResult | None = None
        """How the last run of this session ended."""
        self.run_error = ""
        """Why the last run could not start or crashed."""
        self.selected: str | None = None
        """The step whose log is shown."""
        self._follow = True
        self._echoes: list[str] = []
        self._service: ProvisioningService | None = None
        self._generation = 0
        self._dry_generation: int | None = None
        self._run_generation: int | None = None
        self._dry_run_started = False
        self._queued: list[LogLine] = []
        self._flush_timer: Timer | None = None
        self._ticker: Timer | None = None
        self._count_text = ""

    # -- layout -------------------------------------------------------------------------------------

    @property
    def plan_path(self) -> Path | None:
        """Where the plan was read from."""
        path: Path | None = getattr(self.app, "plan_path", None)
        return path

    @property
    def factory(self) -> ProvisioningFactory:
        """The app's provisioner factory (the real one unless a test injects one)."""
        factory: ProvisioningFactory | None = getattr(self.app, "provisioning_factory", None)
        return factory or azure_provisioning_factory

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
        yield Static("", id="pv-banner")
        with Horizontal(id="pv-progress-row"):
            yield StepsBar(total=1, show_eta=False, id="pv-bar")
            yield Static("", id="pv-count")
        yield StepTree(id="pv-tree")
        yield RichLog(id="pv-log", max_lines=1000, wrap=True, markup=False, highlight=False)
        yield Static(Text("dry run: building the provisioner…"), id="pv-status")

    def on_mount(self) -> None:
        if self.has_azure:
            self._ticker = self.set_interval(1.0, self._tick, pause=True, name="provisioning-elapsed")

    def on_screen_resume(self) -> None:
        if self.has_azure and not self._dry_run_started and not self.running:
            self._dry_run_started = True
            self.dry_run_worker()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if not super().check_action(action, parameters):
            return False  # read-only
        if action not in {"provision", "retry", "resume", "abort", "dry_run"}:
            return True
        if not self.has_azure or self.unavailable:
            return False
        failed = self.result is not None and self.result.outcome == "failed"
        if action == "dry_run":
            return not self.running
        if action == "provision":
            return not self.running and self.interrupted_run is None and not failed
        if action == "retry":
            return not self.running and failed
        if action == "resume":
            return not self.running and self.interrupted_run is not None and not failed
        if not self.running:  # abort
            return False
        return None if self.aborting else True

    # -- helpers --------------------------------------------------------------------------------------

    def _now(self) -> float:
        clock: Callable[[], float] = getattr(self.app, "clock", time.time)
        return clock()

    def _colour(self, name: str) -> str:
        return theme_colour(self.app, name)

    @property
    def step_tree(self) -> StepTree:
        """The step tree."""
        return self.query_one("#pv-tree", StepTree)

    @property
    def plan_name(self) -> str:
        """The plan's name (what the confirmation asks to type)."""
        plan = self.plan
        return plan.plan.name if plan is not None else ""

    def _build(self, generation: int) -> ProvisioningService:
        """The provisioner whose events reach this pane as ``generation`` (runs in a thread)."""
        plan = self.plan
        assert plan is not None

        def sink(event: RunEvent) -> None:
            self.post_message(ProvisionEvent(generation, event))

        return self.factory(plan, self.plan_path, sink, self._ask_host_key)

    async def _ask_host_key(self, host: str, port: int, key_type: str, fingerprint: str) -> bool:
        """An edge node's unknown host key, asked in a modal (called inside the run's worker)."""
        from kdrtui.tui.screens.ssh_prompts import HostKeyScreen

        screen = HostKeyScreen(host, port, key_type, fingerprint)
        return bool(await self.app.push_screen_wait(screen))  # type: ignore[arg-type]

    def _adopt(self, service: ProvisioningService) -> ProvisioningProgress:
        """Use the service's steps (a new tree only when they differ from the shown ones)."""
        steps = [(step.key, step.title) for step in service.steps]
        progress = self.progress
        if progress is None or not progress.same_steps(steps):
            progress = self.progress = ProvisioningProgress(steps)
            self.step_tree.set_steps(list(progress.steps.values()), self._now(), self._colour)
            self.query_one("#pv-bar", StepsBar).update(total=len(steps), progress=0)
            if steps:
                self._select(steps[0][0], move=True)
        return progress

    def _draw_all(self, *, expand: bool | None = None) -> None:
        progress = self.progress
        if progress is None:
            return
        now = self._now()
        for view in progress.steps.values():
            self.step_tree.draw_step(view, now, self._colour, expand=self._expand_for(view, expand))
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

    @work(exclusive=True, group="provisioning-dry-run", exit_on_error=False)
    async def dry_run_worker(self) -> None:
        """Build the provisioner, look for an interrupted run, then read the dry run into the tree."""
        self._generation += 1
        generation = self._dry_generation = self._generation
        self.dry_reading, self.dry_run_error = True, ""
        self._draw_status()
        try:
            service = await asyncio.to_thread(self._build, generation)
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
                self.dry_run_at = self._now()
                self._draw_all(expand=True)
                self._rewrite_log()
        finally:
            if self._dry_generation == generation:
                self._dry_generation = None
                self.dry_reading = False
            self._draw_banner()
            self._draw_status()
            self.refresh_bindings()

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

        def answered(confirmed: bool | None) -> None:
            if confirmed:
                self._start(resume=False)

        self.app.push_screen(
            TypedConfirmScreen(
                f"provisioning {name} in Azure",
                self._dry_run_text(),
                name,
                warning,
                what="the plan's name",
                placeholder="plan name",
            ),
            answered,
        )

    def action_retry(self) -> None:
        """Retry the failed run: finished steps are verified, the failed one runs again."""
        failed = not self.running and self.result is not None and self.result.outcome == "failed"
        if failed and not self.refused_by_lock("provision"):
            self._start(resume=True)

    def action_resume(self) -> None:
        """Resume the interrupted provisioning (asks first)."""
        if self.running or self.interrupted_run is None or self.refused_by_lock("provision"):
            return

        def answered(yes: bool | None) -> None:
            if yes and not self.running:
                self._start(resume=True)

        self.app.push_screen(
            ConfirmScreen(f"Resume the interrupted provisioning of {self.plan_name} where it stopped?"),
            answered,
        )

    def action_abort(self) -> None:
        """Abort between steps (the running step finishes; R resumes later)."""
        if not self.running or self.aborting:
            return
        self.aborting = True
        if self._service is not None:
            self._service.request_abort()
        self._log_selected("abort requested: stopping after the current step", "warning")
        self._draw_status()
        self.refresh_bindings()

    def _start(self, *, resume: bool) -> None:
        self.workers.cancel_group(self, "provisioning-dry-run")
        self._dry_generation, self.dry_reading = None, False
        self.running, self.aborting, self.showing_run = True, False, True
        self.result, self.run_error = None, ""
        self._follow = True
        if self.progress is not None:
            self.progress.start_run()
            self._draw_all(expand=False)
        if self._ticker is not None:
            self._ticker.resume()
        self._draw_banner()
        self._draw_status()
        self.refresh_bindings()
        self.provision_worker(resume)

    @work(exclusive=True, group="provisioning-run", exit_on_error=False)
    async def provision_worker(self, resume: bool) -> None:
        """Build the provisioner and run it; the app asks before quitting meanwhile."""
        app: Any = self.app
        self._generation += 1
        generation = self._run_generation = self._generation
        result: RunResult | None = None
        interrupted: InterruptedRun | None = None
        error = ""
        app.begin_operation("provisioning", f"provisioning {self.plan_name}")
        try:
            service = await asyncio.to_thread(self._build, generation)
            self._service = service
            self._adopt(service)
            if self.aborting:
                service.request_abort()
            result = await service.run(resume=resume)
            interrupted = await asyncio.to_thread(service.interrupted)
            await self._reload_plan()
        except asyncio.CancelledError:
            raise
        except ProvisioningUnavailable as exc:
            error = str(exc)
        except Exception as exc:
            error = error_text(exc)
            if not error.startswith("cannot start"):
                error = f"stopped by an error: {error}"
        finally:
            app.end_operation("provisioning")
            self._service = None
        self.post_message(ProvisionEnded(generation, result, error, interrupted))

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
            self._log_selected(f"the plan file no longer loads: {exc}", "error")
            return
        adopt = getattr(self.app, "adopt_plan", None)
        if adopt is not None:
            adopt(plan)

    def on_provision_ended(self, message: ProvisionEnded) -> None:
        if message.generation != self._run_generation:
            return
        self.running, self.aborting = False, False
        self.result, self.run_error = message.result, message.error
        if self._ticker is not None:
            self._ticker.pause()
        result = message.result
        if result is not None:
            self.interrupted_run = message.interrupted
        if message.error:
            self._log_selected(message.error, "error")
        # The pane shows how it ended; elsewhere in the console a notification says so.
        if not self.is_current and (message.error or (result is not None and result.outcome != "completed")):
            why = message.error or f"{result.outcome} at {result.failed_step}: {result.error}"  # type: ignore[union-attr]
            self.notify(f"provisioning {why}", severity="error", timeout=10, markup=False)
        elif not self.is_current:
            self.notify(f"provisioned {self.plan_name}", timeout=10, markup=False)
        self._draw_all()
        self._draw_banner()
        self._draw_status()
        self.refresh_bindings()

    def on_provision_event(self, message: ProvisionEvent) -> None:
        progress = self.progress
        dry_run = message.generation == self._dry_generation
        if progress is None or not (dry_run or message.generation == self._run_generation):
            return  # a stale dry run's or run's event
        event, now = message.event, self._now()
        change = progress.apply(event, now, dry_run=dry_run)
        for key in change.steps:
            view = progress.steps[key]
            expand = self._expand_for(view, False if view.status.finished else None)
            self.step_tree.draw_step(view, now, self._colour, expand=expand)
        for key, line in change.lines:
            if key == self.selected:
                self._queue(line)
        if event.kind == "step-start" and self._follow and event.step in progress.steps:
            self._select(event.step, move=True)  # rewrites the log with the step's lines so far
        if change.steps:
            self._draw_progress()
        if event.kind in ("step-start", "step-end"):
            self._draw_status()

    # -- drawing --------------------------------------------------------------------------------------

    def _tick(self) -> None:
        """The running step's elapsed time and the total, once a second while a run goes."""
        progress = self.progress
        if progress is None or not self.running or progress.current is None:
            return
        self.step_tree.draw_elapsed(progress.steps[progress.current], self._now(), self._colour)
        self._draw_progress()

    def _draw_progress(self) -> None:
        progress = self.progress
        if progress is None:
            return
        total = len(progress.steps)
        self.query_one("#pv-bar", StepsBar).update(total=total, progress=progress.overall())
        elapsed = progress.elapsed(self._now()) if self.showing_run else None
        count = f"{progress.finished}/{total} steps"
        if elapsed is not None:
            count += f" · {duration_text(elapsed)}"
        if count != self._count_text:
            self._count_text = count
            self.query_one("#pv-count", Static).update(Text(count))

    def _draw_banner(self) -> None:
        banner = self.query_one("#pv-banner", Static)
        journal = self.interrupted_run
        failed = self.result is not None and self.result.outcome == "failed"
        if journal is None or self.running or failed:
            banner.display = False
            return
        state = journal.state()
        done = sum(1 for record in state.steps.values() if record.status.finished)
        total = len(self.progress.steps) if self.progress is not None else len(state.steps)
        if getattr(self.app, "read_only", False):
            hint = " — resume it without --read-only"
        else:
            hint = " — press R to resume"
        banner.update(
            Text(
                f"interrupted provisioning ({journal.path.name}, {done}/{total} steps finished){hint}",
                style=f"bold {self._colour('warning')}",
            )
        )
        banner.display = True

    def _status_text(self) -> tuple[str, str]:
        """(status line, theme colour)."""
        progress = self.progress
        read_only = bool(getattr(self.app, "read_only", False))
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
            took = duration_text(progress.elapsed(self._now()))
            if result.outcome == "completed":
                return f"✓ provisioned {self.plan_name}: {progress.finished} steps in {took}", "success"
            if result.outcome == "failed":
                retry = "" if read_only else " (r retries)"
                return f"✗ failed at {result.failed_step}{retry}: {result.error}", "error"
            resume = "" if read_only else " · R resumes"
            return f"aborted before {result.failed_step}{resume}", "warning"
        if self.dry_run_error:
            return f"{self.dry_run_error} · d tries again", "error"
        if self.dry_run_at is not None:
            then = f"dry run {clock_text(self.dry_run_at)}"
            if read_only:
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
        text, colour = self._status_text()
        self.query_one("#pv-status", Static).update(Text(text, style=self._colour(colour)))

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

    def _line_text(self, line: LogLine) -> Text:
        # Text, never markup: resource names and ARM errors may hold brackets.
        return Text(f"{clock_text(line.at)} {line.text}", style=self._colour(line.colour))

    def _rewrite_log(self) -> None:
        log = self.query_one("#pv-log", RichLog)
        log.clear()
        self._queued.clear()
        progress = self.progress
        view = progress.steps.get(self.selected or "") if progress is not None else None
        log.border_title = f"log · {view.title}" if view is not None else "log"
        if view is not None:
            for line in view.log:
                log.write(self._line_text(line))

    def _log_selected(self, text: str, colour: str = "") -> None:
        """A line of the pane's own (abort requested, a crash) in the selected step's log."""
        progress = self.progress
        view = progress.steps.get(self.selected or "") if progress is not None else None
        line = LogLine(self._now(), text, colour)
        if view is not None:
            view.log.append(line)
        self._queue(line)

    def _queue(self, line: LogLine) -> None:
        self._queued.append(line)
        if self._flush_timer is None:
            self._flush_timer = self.set_timer(LOG_BATCH_S, self._flush, name="provisioning-log")

    def _flush(self) -> None:
        self._flush_timer = None
        lines, self._queued = self._queued, []
        log = self.query_one("#pv-log", RichLog)
        for line in lines:
            log.write(self._line_text(line))
