"""Game day: the lab's incident scenarios (``kdrtui gameday list``), what each proves and needs, and a run of
one with its live progress and, at the end, its report (``kdrtui gameday run NAME --plan lab``).

The list comes from :data:`kdrtui.services.gameday.scenarios.SCENARIOS`; whether this plan's lab can run
each is read from the lab's ``lab.json`` (only the lab's own plan runs game days: the pane says so for any
other). Enter asks first (a scenario kills parts of the lab), then runs the scenario in a thread worker with
a cancel event: its events (seconds since the start, phase, text) fill the log as they come, ``c`` or Esc
cancels (the scenario then restores the lab and still reports), and the end shows the report's summary —
verdict, each check, detection time, RPO and RTO, records lost / duplicated / out of order — and where the
Markdown and JSON report were written (:func:`gameday_model.report_paths`). The app asks before quitting
while a game day runs.

Quiet when idle: nothing ticks or reads while no game day runs; the lab is read again when the pane is
shown (``r`` reads it now), and lines that did not change are not repainted (:class:`LineStatic`).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar

from rich.text import Text
from textual import work
from textual.app import App, ComposeResult, SystemCommand
from textual.binding import Binding
from textual.content import Content
from textual.message import Message
from textual.reactive import var
from textual.timer import Timer
from textual.widgets import DataTable

from kdrtui.tui.screens import gameday_model as model
from kdrtui.tui.screens.base import ModeScreen
from kdrtui.tui.screens.dialogs import ConfirmScreen
from kdrtui.tui.widgets.line_static import LineStatic
from kdrtui.tui.widgets.run_widgets import RunBanner, RunLog

if TYPE_CHECKING:
    from kdrtui.services.gameday.scenario import Scenario

RUN_ID = "gameday"
"""The id a running game day holds the console under (quitting asks first)."""
COLUMNS = (("mark", "", 1), ("name", "scenario", 14), ("kind", "", 4))
"""(key, label, width) of the scenario list; the summary column takes the rest."""


class LabRead(Message):
    """The scenarios and what the plan's lab offers, read in a thread."""

    def __init__(self, scenarios: list[Scenario], facts: model.LabFacts) -> None:
        super().__init__()
        self.scenarios = scenarios
        """Every scenario, in the registry's order."""
        self.facts = facts
        """The lab behind the plan."""


class GamedayProgress(Message):
    """One event of the running game day (posted from its thread)."""

    def __init__(self, ticket: object, elapsed: float, phase: str, text: str) -> None:
        super().__init__()
        self.ticket = ticket
        """Which run sent it."""
        self.elapsed = elapsed
        """Seconds since the run started."""
        self.phase = phase
        """The run's phase."""
        self.text = text
        """What happened."""


class GamedayDone(Message):
    """The game day ended: its report's summary, or why it stopped without one."""

    def __init__(self, ticket: object, verdict: str, lines: list[model.Line], error: str) -> None:
        super().__init__()
        self.ticket = ticket
        """Which run ended."""
        self.verdict = verdict
        """``pass``, ``fail`` or ``error``; ``""`` without a report."""
        self.lines = lines
        """The report's summary (:func:`gameday_model.report_lines`)."""
        self.error = error
        """Why the run stopped without a report; ``""`` when it reported."""


@dataclass(frozen=True)
class GamedayRun:
    """What Enter started."""

    scenario: str
    lab_home: Path
    plan_path: Path
    cancel: threading.Event
    """Set by ``c`` / Esc (and when the console closes): the scenario restores the lab and reports."""
    ticket: object
    """This run (late messages of an older one are dropped)."""


class GamedayScreen(ModeScreen):
    """The scenarios, and the run of one: its progress, then its report."""

    MODE = "gameday"
    CSS_PATH = "gameday.tcss"
    AUTO_FOCUS = "#gd-table"
    MUTATING = frozenset({"run", "cancel"})
    BINDINGS: ClassVar[list[Binding]] = [  # type: ignore[assignment]
        Binding("enter", "run", "Run", key_display="⏎", priority=True, id="gameday.run"),
        Binding("c,escape", "cancel", "Cancel run", id="gameday.cancel"),
        Binding("r", "read_lab", "Read lab", id="gameday.read"),
    ]

    running: var[bool] = var(False, init=False, bindings=True)
    """Whether a game day is running."""
    cancelling: var[bool] = var(False, init=False, bindings=True)
    """Whether its cancel was asked (the scenario is restoring the lab)."""

    def __init__(self) -> None:
        super().__init__()
        self.scenarios: list[Scenario] | None = None
        """Every scenario (None until read)."""
        self.facts: model.LabFacts | None = None
        """The lab behind the plan (None until read)."""
        self.current_run: GamedayRun | None = None
        """The current or last run."""
        self.phase = ""
        """The running game day's phase."""
        self.verdict = ""
        """How the last run ended (``pass``, ``fail``, ``error``; ``""`` while none ended)."""
        self.events: list[tuple[float, str, str]] = []
        """(elapsed, phase, text) of every event of the current or last run (tests, debugging)."""
        self._started = 0.0
        self._pending: str | None = None
        self._ticker: Timer | None = None
        self._rows: list[tuple[str, bool]] = []

    # -- layout -------------------------------------------------------------------------------------

    def compose_body(self) -> ComposeResult:
        yield LineStatic(Content("reading the scenarios and the lab…"), id="gd-header")
        table: DataTable[Text] = DataTable(id="gd-table", cursor_type="row", zebra_stripes=False)
        fixed = sum(width + 2 for _, _, width in COLUMNS)
        for key, label, width in COLUMNS:
            table.add_column(Text(label), key=key, width=width)
        table.add_column(Text("summary"), key="summary", width=max(16, self.app.size.width - 4 - fixed - 2))
        yield table
        yield LineStatic(id="gd-detail")
        yield RunBanner("", id="gd-banner")
        yield LineStatic(id="gd-report")
        yield RunLog(id="gd-log")

    def on_mount(self) -> None:
        self._ticker = self.set_interval(1.0, self._tick, pause=True, name="gameday-tick")

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if not super().check_action(action, parameters):
            return False  # read-only
        if action in ("run", "read_lab"):
            return not self.running
        if action == "cancel":
            return (None if self.cancelling else True) if self.running else False
        return True

    def _line(self, text: str, colour: str = "") -> Content:
        """One line in theme colour ``colour`` (``text-muted`` dims it); ``text`` is never markup."""
        if not colour:
            return Content(text)
        style = "dim" if colour == "text-muted" else f"${colour}"
        return Content.from_markup(f"[{style}]$text[/]", text=text)

    # -- the scenarios and the lab ------------------------------------------------------------------

    def on_screen_resume(self) -> None:
        if not self.running:
            self.read_lab()

    def action_read_lab(self) -> None:
        """Read the scenarios and the lab again (after a ``kdrtui lab up`` with other options)."""
        self.read_lab()

    @work(thread=True, exclusive=True, group="gameday-lab", exit_on_error=False)
    def read_lab(self) -> None:
        """Thread worker: the scenarios and the lab's ``lab.json``."""
        try:
            listed = model.scenarios()
        except Exception as exc:  # the registry failed to import: said, never hidden
            listed = []
            facts = model.LabFacts(refusal=f"the scenarios cannot be read: {type(exc).__name__}: {exc}")
        else:
            facts = model.read_lab(self.plan, self.plan_path)
        self.post_message(LabRead(listed, facts))

    def on_lab_read(self, message: LabRead) -> None:
        self.scenarios, self.facts = message.scenarios, message.facts
        facts = message.facts
        if facts.refusal is not None:
            header = self._line(facts.refusal, "warning")
        else:
            name = self.plan.plan.name if self.plan is not None else ""
            header = self._line(f"plan {name} · lab: {facts.shape}")
        self.query_one("#gd-header", LineStatic).paint([header])
        self._fill_table(message.scenarios)
        self._draw_detail()
        if self._pending is not None:
            name, self._pending = self._pending, None
            self.request_run(name)

    def _fill_table(self, scenarios: list[Scenario]) -> None:
        rows = [(s.name, model.why_not(s, self.facts) is None) for s in scenarios]
        if rows == self._rows:
            return
        self._rows = rows
        table = self.query_one("#gd-table", DataTable)
        selected = self._selected_name()
        table.clear()
        for scenario, (_, can) in zip(scenarios, rows, strict=True):
            mark = (
                Text("✓", style=self.colour("success")) if can else Text("·", style=self.colour("text-muted"))
            )
            table.add_row(
                mark,
                Text(scenario.name, no_wrap=True, overflow="ellipsis"),
                Text("long" if scenario.long else "", style=self.colour("text-muted")),
                Text(scenario.summary, no_wrap=True, overflow="ellipsis"),
                key=scenario.name,
            )
        names = [name for name, _ in rows]
        if selected in names:
            table.move_cursor(row=names.index(selected), animate=False)

    def _selected_name(self) -> str | None:
        table = self.query_one("#gd-table", DataTable)
        if table.row_count == 0:
            return None
        key, _ = table.coordinate_to_cell_key(table.cursor_coordinate)
        return None if key.value is None else str(key.value)

    def selected(self) -> Scenario | None:
        """The scenario under the cursor."""
        name = self._selected_name()
        return next((s for s in self.scenarios or () if s.name == name), None)

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        event.stop()
        self._draw_detail()

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
        if self.check_action("run", ()):
            self.action_run()

    def _draw_detail(self) -> None:
        scenario = self.selected()
        if scenario is None:
            self.query_one("#gd-detail", LineStatic).paint([])
            return
        reason = model.why_not(scenario, self.facts)
        if reason is not None:
            can = self._line(f"✗ not here: {reason}", "text-muted")
        elif scenario.needs:
            can = self._line(
                f"✓ this lab has {model.needs_text(scenario)}: ⏎ runs it (asks first)", "success"
            )
        else:
            can = self._line("✓ this lab can run it: ⏎ runs it (asks first)", "success")
        long = " (long: `make gameday` runs it, not the default suite)" if scenario.long else ""
        lines = [can, self._line(f"{scenario.summary}{long}"), self._line(f"proves: {scenario.proves}")]
        self.query_one("#gd-detail", LineStatic).paint(lines)

    # -- running ------------------------------------------------------------------------------------

    def request_run(self, name: str) -> None:
        """Select scenario ``name`` and ask to run it (the palette's "Game day: run NAME")."""
        if self.scenarios is None:
            self._pending = name
            return
        names = [s.name for s in self.scenarios]
        if name in names and not self.running:
            self.query_one("#gd-table", DataTable).move_cursor(row=names.index(name), animate=False)
            self.action_run()

    def action_run(self) -> None:
        """Run the selected scenario on the lab (asks first: it kills parts of the lab)."""
        scenario = self.selected()
        if self.running or scenario is None or self.read_only:
            return
        reason = model.why_not(scenario, self.facts)
        if reason is not None:
            self.notify(f"{scenario.name}: {reason}", severity="warning", timeout=10, markup=False)
            return
        if self.refused_by_lock("gameday"):
            return
        summary = scenario.summary.rstrip(".")
        question = (
            f"Run the game day {scenario.name} on the lab? {summary}. It kills parts of the lab and runs its "
            "own traffic; at its end, or when cancelled (c or Esc), it restores the lab."
        )

        def answered(yes: bool | None) -> None:
            if yes and not self.running:
                self._start(scenario)

        self.app.push_screen(ConfirmScreen(question), answered)

    def _start(self, scenario: Scenario) -> None:
        facts, plan_path = self.facts, self.plan_path
        assert facts is not None and facts.home is not None and plan_path is not None
        self.current_run = GamedayRun(scenario.name, facts.home, plan_path, threading.Event(), object())
        self.events, self.phase, self.verdict = [], "starting", ""
        self._started = time.monotonic()
        self.query_one("#gd-log", RunLog).rewrite(
            [(self.now(), f"starting the game day {scenario.name}", "")]
        )
        self.query_one("#gd-report", LineStatic).display = False
        self.add_class("-run", "-ran")
        self.call_after_refresh(self._show_cursor)
        self.cancelling = False
        self.running = True
        self.kdr_app.begin_operation(RUN_ID, f"game day {scenario.name}")
        self.run_job(self.current_run, self.app.size.width - 4)

    @work(thread=True, exclusive=True, group="gameday-run", exit_on_error=False)
    def run_job(self, run: GamedayRun, width: int) -> None:
        """Thread worker: run the scenario, write its report, post the summary (or why it stopped)."""

        def on_event(event: model.ProgressEvent) -> None:
            self.post_message(
                GamedayProgress(run.ticket, float(event.elapsed), str(event.phase), str(event.text))
            )

        try:
            report = model.run_gameday(
                run.scenario,
                lab_home=run.lab_home,
                plan_path=run.plan_path,
                on_event=on_event,
                cancel=run.cancel,
            )
        except model.GamedayRefused as exc:
            self.post_message(GamedayDone(run.ticket, "", [], f"not started: {exc}"))
            return
        except Exception as exc:  # the runner broke: said as it is
            self.post_message(GamedayDone(run.ticket, "", [], f"{type(exc).__name__}: {exc}"))
            return
        plan = self.plan
        paths: tuple[Path, ...] = ()
        write_error = ""
        if plan is not None:
            try:
                paths = model.report_paths(plan, run.plan_path, run.scenario, report.started_at)
                model.write_report(report, paths)
            except OSError as exc:
                paths, write_error = (), f"{type(exc).__name__}: {exc}"
        lines = model.report_lines(report, paths, width, write_error)
        self.post_message(GamedayDone(run.ticket, report.verdict, lines, ""))

    def on_gameday_progress(self, message: GamedayProgress) -> None:
        if self.current_run is None or message.ticket is not self.current_run.ticket:
            return
        self.events.append((message.elapsed, message.phase, message.text))
        self.phase = message.phase
        self.query_one("#gd-log", RunLog).queue(
            self.now(), f"{message.elapsed:6.1f}s {message.phase:<8} {message.text}"
        )
        self._draw_banner()

    def on_gameday_done(self, message: GamedayDone) -> None:
        if self.current_run is None or message.ticket is not self.current_run.ticket:
            return
        self.kdr_app.end_operation(RUN_ID)
        self.verdict = message.verdict
        self.cancelling = False
        self.running = False
        self.remove_class("-run")
        log = self.query_one("#gd-log", RunLog)
        if message.error:
            log.queue(self.now(), f"stopped: {message.error}")
            self.notify(
                f"game day {self.current_run.scenario}: {message.error}",
                severity="error",
                timeout=10,
                markup=False,
            )
            return
        log.queue(self.now(), f"ended: {message.verdict}")
        report = self.query_one("#gd-report", LineStatic)
        report.display = True
        report.paint([self._line(text, colour) for text, colour in message.lines])
        self.add_class("-run")  # the report takes the scenario details' room
        self.call_after_refresh(self._show_cursor)

    def _show_cursor(self) -> None:
        """Keep the run's scenario in view in the list, shorter while a run or its report shows."""
        table = self.query_one("#gd-table", DataTable)
        table.move_cursor(row=table.cursor_row, animate=False, scroll=True)

    def action_cancel(self) -> None:
        """Cancel the running game day: the scenario stops, restores the lab and reports."""
        if self.current_run is None or not self.running or self.cancelling:
            return
        self.current_run.cancel.set()
        self.cancelling = True
        self.query_one("#gd-log", RunLog).queue(self.now(), "cancel asked: the scenario restores the lab")

    def watch_running(self, running: bool) -> None:
        if self._ticker is not None:
            (self._ticker.resume if running else self._ticker.pause)()
        self._draw_banner()

    def watch_cancelling(self) -> None:
        self._draw_banner()

    def _tick(self) -> None:
        self._draw_banner()

    def _draw_banner(self) -> None:
        if not self.is_mounted or self.current_run is None:
            return
        banner = self.query_one("#gd-banner", RunBanner)
        name = self.current_run.scenario
        seconds = int(time.monotonic() - self._started)
        if self.cancelling:
            banner.say(f"cancelling {name}: restoring the lab… · {seconds} s", "warning")
        elif self.running:
            banner.say(f"running {name} · {self.phase} · {seconds} s · c cancels", "warning")
        elif self.verdict:
            banner.say("")
        else:
            banner.say(f"game day {name} stopped without a report (see the log)", "error")

    def on_unmount(self) -> None:
        # The console is closing: the scenario stops and restores the lab.
        if self.current_run is not None and self.running:
            self.current_run.cancel.set()


def gameday_commands(app: App[None], read_only: bool) -> Iterable[SystemCommand]:
    """The palette's "Game day: run NAME", one per scenario (none under ``--read-only``)."""
    if read_only:
        return
    try:
        listed = model.scenarios()
    except Exception:  # the pane says why when shown
        return
    for scenario in listed:
        yield SystemCommand(
            f"Game day: run {scenario.name}",
            f"{scenario.summary} (key 8; asks first)",
            partial(_run_from_palette, app, scenario.name),
        )


async def _run_from_palette(app: App[None], name: str) -> None:
    await app.run_action("goto('gameday')")
    screen = app.screen
    if isinstance(screen, GamedayScreen):
        screen.request_run(name)
