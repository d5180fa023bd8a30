"""Edge nodes: MirrorMaker on each node — SSH reachability, state, uptime, drift, MM2's task states, its log.

Polls only while shown (every 3 s), over asyncssh in async workers; the selected deployment's log is
followed and drawn in batches about four times a second, so a chatty log costs little over a slow link.
A running MM2's connector and task states are read from its status topic on the target (one incremental
reader per flow): the ``tasks`` column counts the running tasks, and a line per deployment under the table
says their states, with the first line of a FAILED task's trace and its root cause.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, ClassVar

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.content import Content
from textual.widgets import DataTable, Log, Static

from kdrtui.domain.health import coarse_compact_age
from kdrtui.domain.mirrormaker import MirrorMakerStatus
from kdrtui.tui.screens.base import ModeScreen
from kdrtui.tui.screens.dialogs import ConfirmScreen
from kdrtui.tui.text import fit_line, fit_names, middle_ellipsis
from kdrtui.tui.widgets.edge_rows import NAME_WIDTH, state_text, task_block, task_lines, tasks_cell

if TYPE_CHECKING:
    from kdrtui.services.mirrormaker.connectors import TaskStateReaders
    from kdrtui.services.mirrormaker.manager import Deployment, MirrorMakerManager

POLL_INTERVAL_S = 3.0
LOG_FLUSH_S = 0.25
COLUMNS = ("node", "deployment", "ssh", "state", "pid", "uptime", "drift", "tasks")
LABELS = ("node", "deploy", "ssh", "state", "pid", "up", "drift", "tasks")
"""Column headers, short enough that the table fits 80 columns."""


class EdgeScreen(ModeScreen):
    """MirrorMaker on the plan's edge nodes, with start / stop / restart behind a confirmation."""

    MODE = "edge"
    MUTATING = frozenset({"mm_start", "mm_stop", "mm_restart"})
    BINDINGS: ClassVar[list[Binding]] = [  # type: ignore[assignment]
        Binding("r", "poll_now", "Refresh", id="edge.refresh"),
        Binding("s", "mm_start", "Start", id="edge.start"),
        Binding("x", "mm_stop", "Stop", id="edge.stop"),
        Binding("R", "mm_restart", "Restart", key_display="R", id="edge.restart"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self._deployments: dict[str, Deployment] = {}
        self._statuses: dict[str, MirrorMakerStatus] = {}
        self._wake = asyncio.Event()
        self._log_lines: list[str] = []
        self._followed: str | None = None
        self._busy = False
        self._task_readers: TaskStateReaders | None = None
        self._task_lines: dict[str, list[tuple[str, str]]] = {}
        self._tasks_drawn: list[tuple[str, str]] = []

    def compose_body(self) -> ComposeResult:
        plan = self.plan
        if plan is None or not plan.edge_nodes:
            yield Static(
                "[b]No edge nodes in the plan.[/b]\n\nMirrorMaker runs on edge nodes next to its target "
                "cluster; add [[edge_nodes]] to the plan (README: 'The DR plan file').",
                id="edge-empty",
            )
            return
        yield Static("MirrorMaker on edge nodes", id="edge-title")
        table: DataTable[str] = DataTable(id="edge-table", cursor_type="row", zebra_stripes=False)
        for column, label in zip(COLUMNS, LABELS, strict=True):
            table.add_column(label, key=column)
        yield table
        tasks = Static("", id="edge-tasks")
        tasks.display = False
        yield tasks
        yield Static("log: select a deployment", id="edge-log-title")
        yield Log(id="edge-log", max_lines=500, auto_scroll=True)

    @property
    def manager(self) -> MirrorMakerManager | None:
        """The app's MirrorMaker manager (None without edge nodes)."""
        return self.kdr_app.mm_manager

    def on_mount(self) -> None:
        self.set_interval(LOG_FLUSH_S, self._flush_log, name="log-flush")

    def on_unmount(self) -> None:
        readers, self._task_readers = self._task_readers, None
        if readers is not None:
            # Closing waits for a read in progress (up to its timeout): never on the UI thread.
            threading.Thread(target=readers.close, name="edge-task-readers-close", daemon=True).start()

    def on_screen_resume(self) -> None:
        if self.manager is not None and self.query("#edge-table"):
            self.poll_loop()

    def on_screen_suspend(self) -> None:
        # Hidden panes cost nothing: stop polling and following until shown again (a running
        # start/stop carries on).
        self.workers.cancel_group(self, "edge-poll")
        self.workers.cancel_group(self, "edge-log")
        self._followed = None

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if not super().check_action(action, parameters):
            return False  # read-only
        if action in self.MUTATING or action == "poll_now":
            if self.manager is None:
                return False
            return None if action in self.MUTATING and self._busy else True
        return True

    # -- polling ------------------------------------------------------------------------------------

    @work(exclusive=True, group="edge-poll", exit_on_error=False)
    async def poll_loop(self) -> None:
        """Read every deployment's state, then wait; repeat while the pane is shown."""
        manager = self.manager
        assert manager is not None
        while True:
            await self._poll_once(manager)
            self._wake.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=POLL_INTERVAL_S)

    async def _poll_once(self, manager: MirrorMakerManager) -> None:
        from kdrtui.services.mirrormaker.connectors import TaskStateReaders
        from kdrtui.services.ssh import KeyPassphraseNeeded

        if self._task_readers is None:
            self._task_readers = TaskStateReaders()
        readers = self._task_readers

        for node in manager.plan.edge_nodes:
            session = manager.session(node)
            try:
                deployments = await manager.deployments(node)
            except KeyPassphraseNeeded as exc:
                if await self.kdr_app.ask_passphrase(node, exc):
                    await manager.forget_session(node.name)
                    self._wake.set()
                continue
            except Exception as exc:  # SSH down: show it on the node's row, keep polling
                self._show_row(f"{node.name}/?", node.name, "-", session.state, None, str(exc))
                self.kdr_app.timeline_feed.edge(node.name, False, str(exc), ())
                continue
            polled = []
            for dep in deployments:
                key = f"{node.name}/{dep.name}"
                self._deployments[key] = dep
                status = await manager.status(dep)
                status = await readers.with_states(manager.plan, dep, status)
                self._statuses[key] = status
                polled.append(status)
                self._show_row(key, node.name, dep.name, session.state, status, status.error)
            self.kdr_app.timeline_feed.edge(node.name, True, None, polled)
        self._show_tasks()
        self._follow_selected()

    def _title_width(self) -> int:
        """Cells the one-line titles have (the terminal's width less the body's padding)."""
        return max(20, self.app.size.width - 2)

    def _show_row(
        self,
        key: str,
        node: str,
        deployment: str,
        ssh: str,
        status: MirrorMakerStatus | None,
        error: str | None,
    ) -> None:
        # DataTable cells are Rich renderables: Text never parses markup, so outside strings are safe.
        table = self.query_one("#edge-table", DataTable)
        ssh_cell = Text(ssh, style=self.colour("success" if ssh == "connected" else "warning"))
        if status is None:
            state, colour = "unknown", "warning"
            rest = ["-", "-", "-"]
            tasks, tasks_colour = "-", "foreground"
            self._task_lines.pop(key, None)
        else:
            state, colour = state_text(status)
            up = coarse_compact_age(status.uptime_s, fresh=0)  # by the minute: not a repaint every refresh
            rest = [str(status.pid or "-"), up, "yes" if status.drift else "no"]
            tasks, tasks_colour = tasks_cell(status)
            self._task_lines[key] = task_lines(status)
        names = [Text(middle_ellipsis(name, NAME_WIDTH)) for name in (node, deployment)]
        cells = [*names, ssh_cell, Text(state, style=self.colour(colour))]
        cells += [Text(value) for value in rest]
        cells.append(Text(tasks, style=self.colour(tasks_colour)))
        if key not in table.rows:
            table.add_row(*cells, key=key)
        else:
            with self.app.batch_update():
                for column, value in zip(COLUMNS, cells, strict=True):
                    if table.get_cell(key, column) != value:
                        table.update_cell(key, column, value)
        if error and key == self._selected_key():
            error = fit_line(" ".join(error.split()), self._title_width())
            # An SSH error carries the node's stderr: a template value, never read as markup.
            self.query_one("#edge-log-title", Static).update(
                Content.from_markup("[$warning]$error[/]", error=error)
            )

    def _show_tasks(self) -> None:
        """Draw the task lines of every deployment under the table, only when they changed."""
        lines = task_block(self._task_lines, self._title_width())
        if lines == self._tasks_drawn:
            return
        self._tasks_drawn = lines
        widget = self.query_one("#edge-tasks", Static)
        widget.display = bool(lines)
        # Text never parses markup: a trace holding "[b]" or "[/]" is drawn as it is.
        text = Text("\n").join(Text(line, style=self.colour(colour)) for line, colour in lines)
        widget.update(text)

    def action_poll_now(self) -> None:
        """Read every node's state now."""
        self._wake.set()

    # -- log follow ---------------------------------------------------------------------------------

    def _selected_key(self) -> str | None:
        table = self.query_one("#edge-table", DataTable)
        if table.row_count == 0:
            return None
        row_key, _ = table.coordinate_to_cell_key(table.cursor_coordinate)
        return str(row_key.value)

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        self._follow_selected()

    def _follow_selected(self) -> None:
        key = self._selected_key()
        if key is None or key == self._followed or key not in self._deployments:
            return
        self._followed = key
        self.query_one("#edge-log", Log).clear()
        self._log_lines.clear()
        status = self._statuses.get(key)
        title = fit_names(self._title_width(), "log of {}", key)
        if status is not None and status.drift:
            # The first line of each file's drift ("mm2.properties: 3 lines differ"), not the diff itself.
            drift = "; ".join(entry.splitlines()[0] for entry in status.drift if entry)
            title = fit_names(self._title_width(), "log of {} · drift: {}", key, drift)
        self.query_one("#edge-log-title", Static).update(Content(title))
        self.follow_log(self._deployments[key])

    @work(exclusive=True, group="edge-log", exit_on_error=False)
    async def follow_log(self, dep: Deployment) -> None:
        """Stream the deployment's log into a buffer that :meth:`_flush_log` draws."""
        manager = self.manager
        assert manager is not None
        while True:
            try:
                async for line in manager.logs(dep, lines=30, follow=True):
                    self._log_lines.append(line)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # the stream ends when SSH drops; resume after the next reconnect
                self._log_lines.append(f"[log stream interrupted: {exc}; retrying]")
            await asyncio.sleep(POLL_INTERVAL_S)

    def _flush_log(self) -> None:
        if self._log_lines:
            lines, self._log_lines = self._log_lines, []
            self.query_one("#edge-log", Log).write_lines(lines)

    # -- actions ------------------------------------------------------------------------------------

    def _confirm_then(self, verb: str, run: Callable[[Deployment], Any]) -> None:
        key = self._selected_key()
        if key is None or key not in self._deployments:
            self.notify("Select a deployment first.", severity="warning")
            return
        dep = self._deployments[key]
        if self.refused_by_lock(f"mm {verb}"):
            return

        def answered(yes: bool | None) -> None:
            if yes:
                self.run_action_worker(verb, dep, run)

        self.app.push_screen(ConfirmScreen(f"{verb.capitalize()} {dep.name} on {dep.node.name}?"), answered)

    def action_mm_start(self) -> None:
        """Start MirrorMaker on the selected node (asks first)."""
        manager = self.manager
        if manager is not None:
            self._confirm_then("start", lambda d: manager.start(d, self._progress))

    def action_mm_stop(self) -> None:
        """Stop MirrorMaker on the selected node (asks first)."""
        manager = self.manager
        if manager is not None:
            self._confirm_then("stop", lambda d: manager.stop(d, self._progress))

    def action_mm_restart(self) -> None:
        """Restart MirrorMaker on the selected node (asks first)."""
        manager = self.manager
        if manager is not None:
            self._confirm_then("restart", lambda d: manager.restart([d], self._progress))

    def _progress(self, message: str) -> None:
        self._log_lines.append(f"» {message}")

    @work(exclusive=True, group="edge-action", exit_on_error=False)
    async def run_action_worker(self, verb: str, dep: Deployment, run: Callable[[Deployment], Any]) -> None:
        """Carry out one action; the app asks before quitting while it runs."""
        from kdrtui.services.runbook.lock import PlanLocked
        from kdrtui.services.runbook.store import RunbookStore

        op = f"mm-{verb}-{dep.node.name}-{dep.name}"
        app = self.kdr_app
        plan = self.plan
        assert plan is not None
        lock = RunbookStore(plan.plan.name, self.plan_path).lock()
        try:
            lock.acquire(f"mm {verb}")  # one operation per plan, as `kdrtui mm` holds it
        except PlanLocked as exc:
            self.notify(str(exc), severity="error", timeout=15, markup=False)
            return
        app.begin_operation(op, f"{verb} {dep.name} on {dep.node.name}")
        self._busy = True
        self.refresh_bindings()
        try:
            await run(dep)
            self.notify(f"{dep.name} on {dep.node.name}: {verb} done", markup=False)
        except Exception as exc:
            self.notify(f"{verb} failed: {exc}", severity="error", timeout=15, markup=False)
            self._progress(f"{verb} failed: {exc}")
        finally:
            lock.release()
            app.end_operation(op)
            self._busy = False
            self.refresh_bindings()
            self._wake.set()
