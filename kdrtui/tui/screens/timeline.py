"""Timeline: what changed when (newest first) and each flow's lag over the last hour or day.

Reads the plan's timeline store (:mod:`kdrtui.services.timeline.store`, written by every long-running
kdrtui process) in a thread worker every ``timeline_interval`` seconds (5 s), only while the pane is
shown. The worker posts a reading only when it differs from the last one, and the pane then rewrites only
what changed: the event table when its events changed, the chart's rows whose text changed. A store
where nothing new arrives costs the terminal nothing ("quiet on a slow link").

Keys: ``f`` cycles the flows, ``k`` the kinds of event, ``h`` / ``d`` show the last hour / day, ``u``
switches the chart between records and seconds, ``r`` reads now. The chart is a block chart of text
(:mod:`kdrtui.tui.widgets.lag_chart` says why, against a plotting widget).
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, ClassVar

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.message import Message
from textual.widgets import DataTable, Static
from textual.worker import get_current_worker

from kdrtui.tui.screens.base import ModeScreen
from kdrtui.tui.text import MiddleEllipsisText
from kdrtui.tui.widgets.lag_chart import STEPS, UNITS, WINDOW_TEXT, LagChart, buckets, chart_lines
from kdrtui.tui.widgets.timeline_rows import (
    EVENT_COLUMNS,
    KINDS,
    MAX_CHARTS,
    TimelineQuery,
    TimelineReader,
    TimelineReading,
    event_rows,
    plan_flows,
    read_timeline,
)

if TYPE_CHECKING:
    from kdrtui.domain.timeline import EventKind

CHART_ROWS = {1: 5, 2: 3}
"""Rows of bars per chart by the number of charts shown."""


class TimelineRead(Message):
    """The store held something new for the query; a newer pending reading replaces it unseen."""

    def __init__(self, reading: TimelineReading) -> None:
        super().__init__()
        self.reading = reading
        """What the store held."""

    def can_replace(self, message: Message) -> bool:
        return isinstance(message, TimelineRead)


class TimelineFailed(Message):
    """The store could not be opened or read; the worker tries again at the next interval."""

    def __init__(self, error: str) -> None:
        super().__init__()
        self.error = error
        """Why, as text."""


class TimelineScreen(ModeScreen):
    """The incident timeline: events newest first, filtered by flow and kind, and lag charts per flow."""

    MODE = "timeline"
    CSS_PATH = "timeline.tcss"
    AUTO_FOCUS = "#tl-events"
    BINDINGS: ClassVar[list[Binding]] = [  # type: ignore[assignment]
        Binding("f", "cycle_flow", "Flow", id="timeline.flow"),
        Binding("k", "cycle_kind", "Kind", id="timeline.kind"),
        Binding("h", "window('hour')", "Hour", id="timeline.hour"),
        Binding("d", "window('day')", "Day", id="timeline.day"),
        Binding("u", "toggle_unit", "Rec/sec", id="timeline.unit"),
        Binding("r", "read_now", "Refresh", id="timeline.refresh"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.query_now = TimelineQuery()
        """The flow, kind and window shown."""
        self.unit = UNITS[0]
        """What the chart's y axis counts: ``records`` or ``seconds``."""
        self.reading: TimelineReading | None = None
        """The newest reading of the store (drawn when it matches :attr:`query_now`)."""
        self.error: str | None = None
        """Why the store could not be read; None after a good read."""
        self.drawn = 0
        """Readings drawn so far (tests check a quiet store draws nothing new)."""
        self._wake = threading.Event()
        self._event_keys: list[str] = []

    # -- layout -------------------------------------------------------------------------------------

    def compose_body(self) -> ComposeResult:
        if self.plan is None:
            yield Static(
                Text(
                    "No plan: no timeline. Open one with `kdrtui --plan PATH` (or --plan lab); the console, "
                    "`kdrtui status --watch` and `kdrtui exporter` record its events and lag minutes."
                ),
                id="tl-empty",
            )
            return
        yield Static(Text(self._header_text()), id="tl-header")
        yield Static("", id="tl-note")
        yield LagChart(id="tl-chart")
        table: DataTable[Text] = DataTable(id="tl-events", cursor_type="row", zebra_stripes=False)
        for key, label, width in EVENT_COLUMNS:
            table.add_column(Text(label), key=key, width=width or self._text_width())
        yield table

    def _text_width(self) -> int:
        """Cells of the event text column: what the body's padding, the other columns, the cells' padding
        and a vertical scrollbar leave (the table never scrolls sideways)."""
        fixed = sum(width for _, _, width in EVENT_COLUMNS) + 2 * len(EVENT_COLUMNS)
        return max(16, self.app.size.width - 2 - fixed - 2)

    def _header_text(self) -> str:
        query = self.query_now
        return (
            f"flow: {query.flow or 'all'} (f) · kind: {query.kind or 'all'} (k)"
            f" · {WINDOW_TEXT[query.window]} (h/d) · in {self.unit} (u)"
        )

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in {"cycle_flow", "cycle_kind", "window", "toggle_unit", "read_now"}:
            return self.plan is not None
        return True

    # -- reading ------------------------------------------------------------------------------------

    def on_screen_resume(self) -> None:
        if self.plan is None:
            return
        self._wake = threading.Event()  # each loop has its own, so a dying one never steals a wake
        self.read_loop(self._wake)

    def on_screen_suspend(self) -> None:
        # Hidden panes cost nothing: stop reading until shown again.
        self.workers.cancel_group(self, "timeline-read")
        self._wake.set()

    def on_unmount(self) -> None:
        self.workers.cancel_group(self, "timeline-read")
        self._wake.set()

    @work(thread=True, exclusive=True, group="timeline-read", exit_on_error=False)
    def read_loop(self, wake: threading.Event) -> None:
        """Thread worker: read the store, post the reading when it changed, wait; until cancelled."""
        worker = get_current_worker()
        plan = self.plan
        assert plan is not None
        store: TimelineReader | None = None
        last: TimelineReading | None = None
        try:
            while not worker.is_cancelled:
                try:
                    if store is None:
                        store = self.services.timeline_store_factory(plan, self.plan_path)
                    reading = read_timeline(store, self.query_now, self.now(), plan_flows(plan))
                except Exception as exc:  # shown in the header; tried again at the next interval
                    if not worker.is_cancelled:
                        self.post_message(TimelineFailed(f"{type(exc).__name__}: {exc}"))
                    last = None
                else:
                    if reading != last and not worker.is_cancelled:
                        self.post_message(TimelineRead(reading))
                    last = reading
                wake.wait(self.services.timeline_interval)
                wake.clear()
        finally:
            if store is not None:
                store.close()

    def on_timeline_read(self, message: TimelineRead) -> None:
        self.reading = message.reading
        if self.error is not None:
            self.error = None
            self._draw_header()
        if message.reading.query == self.query_now:
            self._draw()

    def on_timeline_failed(self, message: TimelineFailed) -> None:
        if message.error != self.error:
            self.notify(f"Timeline: {message.error}", severity="error", timeout=8, markup=False)
        self.error = message.error
        self._draw_header()

    # -- drawing ------------------------------------------------------------------------------------

    def _draw_header(self) -> None:
        header = self.query_one("#tl-header", Static)
        if self.error is not None:
            header.update(Text(f"timeline unreadable: {self.error} (retrying)", style=self.colour("error")))
        else:
            header.update(Text(self._header_text()))

    def _draw(self) -> None:
        reading = self.reading
        if reading is None:
            return
        self.drawn += 1
        with self.app.batch_update():
            self._draw_note(reading)
            self._draw_chart(reading)
            self._draw_events(reading)

    def _draw_note(self, reading: TimelineReading) -> None:
        note = ""
        if reading.empty:
            note = (
                "Nothing recorded for this view yet: the console, `kdrtui status --watch` and "
                "`kdrtui exporter` record events and per-minute lag while they run."
            )
        elif reading.query.flow is None and len(reading.flows) > MAX_CHARTS:
            rest = len(reading.flows) - MAX_CHARTS
            note = f"charts of the first {MAX_CHARTS} flows; {rest} more: f picks one"
        widget = self.query_one("#tl-note", Static)
        if str(widget.render()) != note or widget.display != bool(note):
            widget.display = bool(note)
            widget.update(Text(note, style=self.colour("text-muted")))

    def _draw_chart(self, reading: TimelineReading) -> None:
        height = CHART_ROWS.get(len(reading.lag), 2)
        step = STEPS[reading.query.window]
        lines: list[Text] = []
        for flow, minutes in reading.lag:
            columns = buckets(minutes, reading.end, step, self.unit)
            lines += chart_lines(
                flow, columns, unit=self.unit, window=reading.query.window, height=height, colour=self.colour
            )
        self.query_one("#tl-chart", LagChart).show(lines)

    def _draw_events(self, reading: TimelineReading) -> None:
        rows = event_rows(reading.events, self.now())
        keys = [key for key, _ in rows]
        table = self.query_one("#tl-events", DataTable)
        if keys == self._event_keys:
            return
        selected = self._selected_key()
        self._event_keys = keys
        table.clear()
        for key, cells in rows:
            table.add_row(*self._cells(cells), key=key)
        if selected in keys:
            table.move_cursor(row=keys.index(selected), animate=False)

    def _cells(self, cells: tuple[tuple[str, str], ...]) -> list[Text]:
        # Rich Text never parses markup: an event's text is drawn as it was recorded. One line, cut.
        out: list[Text] = []
        for key, (text, colour) in zip((k for k, _, _ in EVENT_COLUMNS), cells, strict=True):
            cls = MiddleEllipsisText if key == "subject" else Text
            out.append(cls(text, style=self.colour(colour), no_wrap=True, overflow="ellipsis"))
        return out

    def _selected_key(self) -> str | None:
        table = self.query_one("#tl-events", DataTable)
        if table.row_count == 0:
            return None
        key, _ = table.coordinate_to_cell_key(table.cursor_coordinate)
        return None if key.value is None else str(key.value)

    # -- keys ---------------------------------------------------------------------------------------

    def _ask(self, query: TimelineQuery) -> None:
        """Show ``query`` from now on: the header at once, the rest when the worker has read it."""
        self.query_now = query
        self._draw_header()
        self._wake.set()

    def action_cycle_flow(self) -> None:
        """Show one flow after the other, then every flow."""
        flows: list[str | None] = [None]
        flows += list(self.reading.flows) if self.reading is not None else plan_flows(self.plan)
        current = self.query_now.flow
        index = flows.index(current) if current in flows else 0
        flow = flows[(index + 1) % len(flows)]
        self._ask(TimelineQuery(flow, self.query_now.kind, self.query_now.window))

    def action_cycle_kind(self) -> None:
        """Show one kind of event after the other, then every kind."""
        kind: EventKind | None = KINDS[(KINDS.index(self.query_now.kind) + 1) % len(KINDS)]
        self._ask(TimelineQuery(self.query_now.flow, kind, self.query_now.window))

    def action_window(self, window: str) -> None:
        """Chart the last hour (``h``) or the last day (``d``)."""
        if window != self.query_now.window:
            self._ask(TimelineQuery(self.query_now.flow, self.query_now.kind, window))

    def action_toggle_unit(self) -> None:
        """Chart lag in records or in seconds."""
        self.unit = UNITS[(UNITS.index(self.unit) + 1) % len(UNITS)]
        self._draw_header()
        if self.reading is not None and self.reading.query == self.query_now:
            with self.app.batch_update():
                self._draw_chart(self.reading)

    def action_read_now(self) -> None:
        """Read the timeline now instead of waiting for the next interval."""
        self._wake.set()
