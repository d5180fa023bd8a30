"""The widgets every journaled run's pane shows (:mod:`kdrtui.tui.screens.run_pane`): a banner that says
how the run stands, its log, and the step list of a runbook (the Provisioning pane shows a tree instead,
:mod:`kdrtui.tui.widgets.step_tree`)."""

from __future__ import annotations

import time
from collections.abc import Iterable

from rich.text import Text
from textual.timer import Timer
from textual.widgets import DataTable, RichLog, Static

from kdrtui.domain.runbook import StepStatus
from kdrtui.tui.helpers import ConsoleNode, clock_text
from kdrtui.tui.screens.provisioning_model import STATUS_MARKS, STEP_COLOURS

LOG_LINES = 1000
"""Lines a run's log keeps."""
LOG_BATCH_S = 0.25
"""Seconds queued log lines are gathered before they are written (one repaint for a burst)."""

STEP_COLUMNS = (("mark", "", 1), ("step", "step", 17), ("status", "status", 8), ("secs", "secs", 6))
"""(key, label, width) of the step list; the summary column takes the rest."""


class RunBanner(ConsoleNode, Static):
    """One bold line (two at most) in a theme colour; hidden while it has nothing to say."""

    def say(self, text: str, colour: str = "") -> None:
        """Show ``text`` (plain text, never markup) in theme colour ``colour``; hide the banner for ``""``."""
        self.display = bool(text)
        self.update(Text(text, style=f"bold {self.colour(colour)}".strip()))


class RunLog(ConsoleNode, RichLog):
    """A run's log: each line after the time it was received, as text (never markup: lines carry topic
    names, brackets and error messages). :meth:`queue` gathers a burst into one write."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id, max_lines=LOG_LINES, wrap=True, markup=False, highlight=False)
        self._queued: list[Text] = []
        self._flush_timer: Timer | None = None

    def line(self, at: float, text: str, colour: str = "") -> Text:
        """The log line ``text`` received at ``at``."""
        return Text(f"{clock_text(at)} {text}", style=self.colour(colour))

    def add(self, at: float, text: str, colour: str = "") -> None:
        """Write one line now."""
        self.write(self.line(at, text, colour))

    def queue(self, at: float, text: str, colour: str = "") -> None:
        """Write one line with the others of its burst, within :data:`LOG_BATCH_S`."""
        self._queued.append(self.line(at, text, colour))
        if self._flush_timer is None:
            self._flush_timer = self.set_timer(LOG_BATCH_S, self._flush, name="run-log")

    def rewrite(self, lines: Iterable[tuple[float, str, str]]) -> None:
        """Show only ``lines`` ((at, text, colour) each), dropping what was queued."""
        self.clear()
        self._queued.clear()
        for at, text, colour in lines:
            self.add(at, text, colour)

    def _flush(self) -> None:
        self._flush_timer = None
        lines, self._queued = self._queued, []
        for line in lines:
            self.write(line)


class StepTable(ConsoleNode, DataTable[Text]):
    """A runbook's steps, one row each: mark, key, status, seconds and the summary (the title until the
    step ends). A running step's seconds count up with :meth:`tick`."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id, cursor_type="none", zebra_stripes=False)
        self.steps: tuple[tuple[str, str], ...] = ()
        """(key, title) of the steps shown."""
        self._started: dict[str, float] = {}

    def add_columns_for(self, width: int) -> None:
        """The columns, the summary taking what ``width`` leaves."""
        fixed = sum(column_width + 2 for _, _, column_width in STEP_COLUMNS)
        for key, label, column_width in STEP_COLUMNS:
            self.add_column(label, key=key, width=column_width)
        self.add_column("summary", key="summary", width=max(20, width - fixed - 2))

    def show_steps(self, steps: tuple[tuple[str, str], ...]) -> None:
        """List ``steps``, every one pending (rows are rebuilt only when the steps differ)."""
        if steps != self.steps:
            self.clear()
            for key, title in steps:
                self.add_row(*self._cells(key, StepStatus.PENDING, None, title), key=key)
            self.steps = steps
        for key, title in steps:
            self.set_step(key, StepStatus.PENDING, None, title)

    def title_of(self, key: str, default: str = "") -> str:
        """The title of step ``key``."""
        return dict(self.steps).get(key, default)

    def _cells(self, key: str, status: StepStatus, seconds: float | None, summary: str) -> list[Text]:
        style = self.colour(STEP_COLOURS[status])
        secs = "" if seconds is None else f"{seconds:.1f}"
        return [
            Text(STATUS_MARKS[status], style=style),
            Text(key, no_wrap=True, overflow="ellipsis"),
            Text(str(status), style=style),
            Text(secs, justify="right"),
            Text(summary, no_wrap=True, overflow="ellipsis"),
        ]

    def set_step(self, key: str, status: StepStatus, seconds: float | None, summary: str) -> None:
        """Show where step ``key`` is."""
        if key not in self.rows:
            return
        if status is StepStatus.RUNNING:
            self._started[key] = time.monotonic()
        elif status is StepStatus.PENDING:
            self._started.pop(key, None)
        cells = self._cells(key, status, seconds, summary)
        for column, value in zip(("mark", "step", "status", "secs", "summary"), cells, strict=True):
            self.update_cell(key, column, value)

    def tick(self, key: str) -> None:
        """Show the whole seconds running step ``key`` has taken so far."""
        if key in self.rows and key in self._started:
            seconds = time.monotonic() - self._started[key]
            self.update_cell(key, "secs", Text(f"{seconds:.0f}", justify="right"))
