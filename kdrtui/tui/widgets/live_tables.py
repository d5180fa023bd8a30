"""What the two live tables share: the mirror-lag pane (:mod:`kdrtui.tui.screens.lag`) and the
divergence view of a hot standby (:mod:`kdrtui.tui.widgets.divergence_view`).

Both poll a source in a thread worker only while shown, draw only the newest snapshot and update their
tables by diff; :class:`LiveTables` holds that machinery, plus the filter box, the sort order and the
way back from a detail table to the topic table.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any, ClassVar, Generic, Protocol, TypeVar

from rich.text import Text
from textual.message import Message
from textual.widgets import DataTable, Input, Static
from textual.widgets.data_table import ColumnKey, RowKey
from textual.worker import get_current_worker

from kdrtui.domain.lag import Health
from kdrtui.domain.plan import Plan
from kdrtui.tui.helpers import ConsoleNode
from kdrtui.tui.text import MiddleEllipsisText

if TYPE_CHECKING:
    from textual.widget import Widget

    _Base = Widget
else:
    _Base = object

HEALTH_COLOUR = {
    Health.OK: "success",
    Health.WARN: "warning",
    Health.CRIT: "error",
    Health.STALLED: "error",
    Health.STOPPED: "error",
    Health.IDLE: "success",
    Health.LOST: "secondary",
}
"""Theme colour of each health (LOST, data deleted before it was mirrored: a colour of its own)."""

Cell = tuple[str, str]
"""(text, theme colour name or ``""``): what a cell shows, compared to decide whether to rewrite it."""

Columns = Iterable[tuple[str, str, int, str]]
"""(key, label, width, justify) of each column of a table."""


def compact(n: float | None) -> str:
    """``987``, ``12.3k``, ``4.56M``, ``1.2G``: a count in at most six characters."""
    if n is None:
        return "-"
    value = float(n)
    for limit, suffix in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if abs(value) >= limit:
            scaled = value / limit
            return f"{scaled:.1f}{suffix}" if abs(scaled) < 100 else f"{scaled:.0f}{suffix}"
    return f"{value:.0f}" if float(value).is_integer() else f"{value:.1f}"


def add_columns(table: DataTable[Any], columns: Columns) -> None:
    """Give ``table`` its ``columns``; their labels are text, never markup (they carry cluster aliases)."""
    for key, label, width, _ in columns:
        table.add_column(Text(label), key=key, width=width)


class SortableText(MiddleEllipsisText):
    """A cell that knows its row key, so rows can be put in any computed order with ``DataTable.sort``.

    Drawn in one row: a name wider than its column (a 300-character topic) keeps its start and its end.
    """

    row_key: str = ""


ROW_REFRESH_LIMIT = 24
"""Changed rows a table repaints one by one; more, and it repaints as a whole (each row's region costs a
walk over the rows above it, and more rows than this do not fit an 80x24 terminal anyway)."""


class LagTable(DataTable[Text]):
    """A DataTable that can change many cells with one repaint, of only the rows that changed.

    ``DataTable.update_cell`` refreshes the whole widget on every call; with 1,000 topics changing
    each refresh that alone costs tens of milliseconds, and on a slow SSH link one changed cell rewrote
    every visible row. :meth:`update_cells` writes the same data and marks only the changed rows dirty
    (the whole table when more than :data:`ROW_REFRESH_LIMIT` rows changed). It relies on DataTable's
    cell store (pinned to Textual 8 in pyproject).
    """

    def update_cells(self, changes: list[tuple[str, str, Text]]) -> list[int] | None:
        """Set each (row key, column key, value); returns the row indexes repainted (None: all)."""
        if not changes:
            return []
        rows: set[RowKey] = set()
        for row_key, column_key, value in changes:
            key = RowKey(row_key)
            self._data[key][ColumnKey(column_key)] = value
            rows.add(key)
        self._update_count += 1  # every row's rendering cache is stale; only dirty rows are drawn again
        if len(rows) > ROW_REFRESH_LIMIT:
            self.refresh()
            return None
        indexes = sorted(self.get_row_index(key) for key in rows)
        for index in indexes:
            self.refresh_row(index)
        return indexes


T = TypeVar("T")


class Refreshed(Message, Generic[T]):
    """The source returned a snapshot; a newer pending one of the same kind replaces it unseen."""

    def __init__(self, snapshot: T) -> None:
        super().__init__()
        self.snapshot = snapshot
        """What the source saw."""

    def can_replace(self, message: Message) -> bool:
        return isinstance(message, type(self))


class RefreshFailed(Message):
    """The source raised; polling carries on."""

    def __init__(self, error: str) -> None:
        super().__init__()
        self.error = error
        """The exception, as text."""


class Source(Protocol):
    """Where a live table's snapshots come from."""

    def refresh(self) -> object:
        """Read the clusters now and return a snapshot (blocking; called from a thread)."""
        ...

    def close(self) -> None:
        """Release clients."""
        ...


S = TypeVar("S", bound=Source)


class LiveTables(ConsoleNode, Generic[S], _Base):
    """Mixed into the screen or widget that shows a live topic table and a detail table.

    The ids of its widgets are ``<PREFIX>-table``, ``<PREFIX>-filter``, ``<PREFIX>-detail`` and
    ``<PREFIX>-detail-title``; it orders topics by one of :attr:`SORTS`.
    """

    PREFIX = ""
    """First part of the ids of the widgets."""
    SORTS: tuple[str, ...] = ()
    """The orders ``o`` cycles through."""
    REFRESHED: ClassVar[type[Refreshed[Any]]] = Refreshed
    """The message the poll loop posts with each snapshot."""
    REFRESH_FAILED: ClassVar[type[RefreshFailed]] = RefreshFailed
    """The message the poll loop posts when the source raises."""

    snapshot: object | None

    def _init_live(self) -> None:
        """Set the state this mixin keeps; called from the host's ``__init__``."""
        self.error: str | None = None
        """Why the last refresh failed; None after a good one."""
        self.sort_mode = self.SORTS[0]
        """How the topic table is ordered."""
        self.filter_text = ""
        """Substring topics must contain to be listed."""
        self.view = "topics"
        """``topics``, or the detail table shown instead (``partitions``, ``groups``)."""
        self.drilled: str | None = None
        """Row key of the topic whose partitions are shown."""
        self._cells: dict[str, dict[str, tuple[Cell, ...]]] = {}
        self._texts: dict[str, tuple[str, str]] = {}
        self._wake = threading.Event()
        self._source: S | None = None
        self._source_plan: Plan | None = None
        self._source_lock = threading.Lock()

    def _get_source(self) -> S:
        """The source for the plan as it runs now (the host implements it with :meth:`_source_for`)."""
        raise NotImplementedError

    def _draw_summary(self) -> None:
        """Draw the summary lines (the host implements it)."""
        raise NotImplementedError

    def _draw_banner(self) -> None:
        """Draw the banner of stale data and failed refreshes (the host implements it)."""
        raise NotImplementedError

    def _draw_topics(self) -> None:
        """Draw the topic table (the host implements it)."""
        raise NotImplementedError

    def _draw_detail(self) -> None:
        """Draw the detail table shown instead of the topic table (the host implements it)."""
        raise NotImplementedError

    # -- source and polling -------------------------------------------------------------------------

    def _source_for(self, plan: Plan, factory: Callable[[Plan], S]) -> S:
        """The source for ``plan``: rebuilt when the plan as it runs changed (a failover or failback)."""
        with self._source_lock:
            if self._source is not None and plan != self._source_plan:
                self._source.close()
                self._source = None
            if self._source is None:
                self._source = factory(plan)
                self._source_plan = plan
            return self._source

    def _close_source(self) -> None:
        with self._source_lock:
            source, self._source = self._source, None
        if source is not None:
            source.close()

    def _poll(self, wake: threading.Event, seen: Callable[[Any], None] | None = None) -> None:
        """Body of a thread worker: refresh, let ``seen`` look at the snapshot, post it (or the error),
        wait; until cancelled."""
        worker = get_current_worker()
        interval = self.services.lag_interval
        while not worker.is_cancelled:
            try:
                snapshot = self._get_source().refresh()
            except Exception as exc:  # shown on the pane; polling carries on
                if worker.is_cancelled:
                    break
                self.post_message(self.REFRESH_FAILED(f"{type(exc).__name__}: {exc}"))
            else:
                if worker.is_cancelled:
                    break
                if seen is not None:
                    seen(snapshot)
                self.post_message(self.REFRESHED(snapshot))
            wake.wait(interval)
            wake.clear()

    def action_refresh_now(self) -> None:
        """Read the clusters now instead of waiting for the next interval."""
        self._wake.set()

    def _received(self, snapshot: object, shown: bool) -> None:
        """A good refresh: keep the snapshot, and draw it if the table is on screen."""
        self.snapshot = snapshot
        self.error = None
        if shown:
            self._draw()

    def _failed(self, what: str, error: str, shown: bool) -> None:
        """A failed refresh: say so once per new error, and in the banner while it lasts."""
        if error != self.error:
            self.notify(f"{what} refresh failed: {error}", severity="error", timeout=8, markup=False)
        self.error = error
        if shown:
            self._draw_banner()

    # -- drawing ------------------------------------------------------------------------------------

    def _draw(self) -> None:
        with self.app.batch_update():
            self._draw_summary()
            self._draw_banner()
            self._draw_topics()
            if self.view != "topics":
                self._draw_detail()

    def _widen_topics(self) -> None:
        """Give a wide terminal's spare columns to the topic names."""
        spare = max(0, min(30, self.app.size.width - 82))
        if spare:
            table = self.query_one(f"#{self.PREFIX}-table", DataTable)
            for column in table.columns.values():
                if column.key.value == "topic":
                    column.width += spare
                    column.auto_width = False

    def _title_width(self) -> int:
        """Cells a one-line title has (the terminal's width less its padding)."""
        return max(20, self.app.size.width - 2)

    def _set_text(self, widget_id: str, text: str, colour: str = "") -> None:
        """Update a one-widget text only when it changed; hide it when empty."""
        if self._texts.get(widget_id) == (text, colour):
            return
        self._texts[widget_id] = (text, colour)
        widget = self.query_one(f"#{widget_id}", Static)
        widget.display = bool(text)
        widget.update(Text(text, style=self.colour(colour)))

    def _sync(self, table_id: str, columns: Columns, rows: list[tuple[str, tuple[Cell, ...]]]) -> None:
        """Make a table show ``rows`` (in that order) by touching only what differs."""
        table = self.query_one(f"#{table_id}", LagTable)
        justify = {key: just for key, _, _, just in columns}
        column_keys = list(justify)
        cache = self._cells.setdefault(table_id, {})
        wanted = {key for key, _ in rows}
        for key in [k for k in cache if k not in wanted]:
            table.remove_row(key)
            del cache[key]
        changes: list[tuple[str, str, Text]] = []
        for key, cells in rows:
            old = cache.get(key)
            if old is None:
                texts = [self._text(key, c, justify[k]) for k, c in zip(column_keys, cells, strict=True)]
                table.add_row(*texts, key=key)
            elif old != cells:
                changes += [
                    (key, column, self._text(key, after, justify[column]))
                    for column, before, after in zip(column_keys, old, cells, strict=True)
                    if before != after
                ]
            cache[key] = cells
        table.update_cells(changes)
        order = [key for key, _ in rows]
        if [str(r.key.value) for r in table.ordered_rows] != order:
            rank = {key: i for i, key in enumerate(order)}
            first: ColumnKey | str = column_keys[0]
            table.sort(first, key=lambda cell: rank[cell.row_key])

    def _text(self, key: str, cell: Cell, justify: str) -> SortableText:
        text = SortableText(
            cell[0],
            style=self.colour(cell[1]),
            justify=justify,  # type: ignore[arg-type]
            overflow="ellipsis",
            no_wrap=True,
        )
        text.row_key = key
        return text

    # -- keys ---------------------------------------------------------------------------------------

    def _open_filter(self) -> None:
        box = self.query_one(f"#{self.PREFIX}-filter", Input)
        box.display = True
        box.focus()

    def _filter_changed(self, value: str) -> None:
        self.filter_text = value
        with self.app.batch_update():
            self._draw_topics()

    def _filter_submitted(self, box: Input) -> None:
        if not box.value:
            box.display = False
        self.query_one(f"#{self.PREFIX}-table").focus()

    def _cycle_sort(self) -> None:
        self.sort_mode = self.SORTS[(self.SORTS.index(self.sort_mode) + 1) % len(self.SORTS)]
        self.notify(f"Sorted by {self.sort_mode}", timeout=2)
        with self.app.batch_update():
            self._draw_topics()

    def _back(self) -> None:
        """Clear the filter, or leave the detail table for the topic table."""
        box = self.query_one(f"#{self.PREFIX}-filter", Input)
        table = self.query_one(f"#{self.PREFIX}-table")
        if self.view == "topics":
            if box.display or self.filter_text:
                box.value = ""
                self.filter_text = ""
                box.display = False
                with self.app.batch_update():
                    self._draw_topics()
            table.focus()
            return
        self.view, self.drilled = "topics", None
        self.query_one(f"#{self.PREFIX}-detail").display = False
        self._texts.pop(f"{self.PREFIX}-detail-title", None)
        self.query_one(f"#{self.PREFIX}-detail-title").display = False
        table.display = True
        box.display = bool(self.filter_text)
        table.focus()
