"""The lag pane of a hot standby with dual ingest: divergence between the two clusters, per topic.

Nothing is mirrored in a hot-standby plan, so the Mirror lag pane (:mod:`kdrtui.tui.screens.lag`) shows this
view instead: per application topic the records each cluster holds, the age of each side's newest record,
Δ records, Δ seconds and a health from the plan's lag thresholds (see :mod:`kdrtui.domain.divergence`).

Like the mirror-lag table it polls in a thread worker only while the pane is shown (the pane calls
:meth:`DivergenceView.resume` / :meth:`DivergenceView.suspend`), draws only the newest snapshot, and
updates its tables by diff. Keys: ``/`` filter, ``o`` sort, ``enter`` a topic's partitions, ``esc`` back,
``r`` refresh now. Tests inject a source with ``make_app(divergence_source_factory=...)``.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any, ClassVar

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.widgets import DataTable, Input, Static

from kdrtui.domain.divergence import DivergenceSnapshot, PartitionFacts, SideFacts, TopicDivergence
from kdrtui.domain.health import coarse_compact_age, compact_age
from kdrtui.domain.lag import SEVERITY
from kdrtui.domain.plan import Plan
from kdrtui.tui.factories import DivergenceSource
from kdrtui.tui.text import fit_names
from kdrtui.tui.widgets.live_tables import (
    HEALTH_COLOUR,
    Cell,
    LagTable,
    LiveTables,
    Refreshed,
    RefreshFailed,
    add_columns,
    compact,
)

HEADER = "hot standby (dual ingest): divergence between {primary} and {secondary}"
"""First line of the pane."""

SORTS = ("worst", "name", "Δ records", "Δ s")
"""The orders ``o`` cycles through."""


def short(alias: str) -> str:
    """A cluster alias cut to fit a column label."""
    return alias if len(alias) <= 3 else alias[:3]


def topic_columns(primary: str, secondary: str) -> tuple[tuple[str, str, int, str], ...]:
    """(key, label, width, justify) of the topic table; 78 columns wide at the narrowest."""
    p, s = short(primary), short(secondary)
    return (
        ("topic", "topic", 14, "left"),
        ("records_primary", f"{p} rec", 7, "right"),
        ("records_secondary", f"{s} rec", 7, "right"),
        ("delta_records", "Δ rec", 7, "right"),
        ("newest_primary", f"{p} age", 7, "right"),
        ("newest_secondary", f"{s} age", 7, "right"),
        ("delta_s", "Δ s", 7, "right"),
        ("health", "health", 7, "left"),
    )


def partition_columns(primary: str, secondary: str) -> tuple[tuple[str, str, int, str], ...]:
    """(key, label, width, justify) of a topic's partitions."""
    return (
        ("partition", "partition", 9, "right"),
        ("records_primary", f"{primary} records"[:14], 14, "right"),
        ("records_secondary", f"{secondary} records"[:14], 14, "right"),
        ("delta_records", "Δ records", 10, "right"),
        ("newest_primary", f"{primary} age"[:10], 10, "right"),
        ("newest_secondary", f"{secondary} age"[:10], 10, "right"),
    )


def signed(n: int) -> str:
    """``+250``, ``-1.2k``, ``0``."""
    return "0" if n == 0 else ("+" if n > 0 else "-") + compact(abs(n))


def age(now: float, newest: float | None) -> str:
    """Age of a newest record, coarse (``<5s``, ``40s``, ``3m``: an idle topic's age would otherwise
    change, and repaint its row, every refresh); ``-`` without one."""
    return "-" if newest is None else coarse_compact_age(max(0.0, now - newest))


def delta_seconds(topic: TopicDivergence) -> str:
    """Signed Δ s; ``≥gap`` when one side has no record to compare with."""
    if topic.seconds_delta is not None:
        gap = topic.seconds_delta
        if abs(gap) < 0.05:
            return "0"
        return ("+" if gap > 0 else "-") + compact_age(abs(gap))
    return f"≥{compact_age(topic.gap_s)}" if topic.gap_s > 0 else "-"


def sort_key(mode: str) -> Callable[[TopicDivergence], Any]:
    """Key function for one of :data:`SORTS`."""
    if mode == "name":
        return lambda t: t.topic
    if mode == "Δ records":
        return lambda t: (-abs(t.records_delta), t.topic)
    if mode == "Δ s":
        return lambda t: (-t.gap_s, t.topic)
    return lambda t: (-SEVERITY[t.health], -t.gap_s, -abs(t.records_delta), t.topic)


def topic_cells(snapshot: DivergenceSnapshot, topic: TopicDivergence) -> tuple[Cell, ...]:
    """One topic row. Numbers of a stale snapshot are muted and the health says so: never look fresh."""
    stale = snapshot.stale_s is not None
    muted = "text-muted" if stale else ""
    now = snapshot.taken_at if not stale else snapshot.taken_at - (snapshot.stale_s or 0.0)

    def records(side: SideFacts | None) -> Cell:
        return ("-", "error" if not stale else muted) if side is None else (compact(side.records), muted)

    differs = "warning" if topic.records_delta and not stale else muted
    return (
        (topic.topic, ""),
        records(topic.primary),
        records(topic.secondary),
        (signed(topic.records_delta), differs),
        (age(now, topic.primary.newest if topic.primary else None), muted),
        (age(now, topic.secondary.newest if topic.secondary else None), muted),
        (delta_seconds(topic), muted),
        (f"{topic.health}?" if stale else str(topic.health), muted or HEALTH_COLOUR[topic.health]),
    )


class DivergenceRefreshed(Refreshed[DivergenceSnapshot]):
    """The source returned a snapshot; a newer pending one replaces it unseen."""


class DivergenceRefreshFailed(RefreshFailed):
    """The source raised; polling carries on."""


class DivergenceView(LiveTables[DivergenceSource], Vertical):
    """Divergence between the primary and the secondary of a hot-standby plan, worst topic first."""

    PREFIX = "div"
    SORTS = SORTS
    REFRESHED = DivergenceRefreshed
    REFRESH_FAILED = DivergenceRefreshFailed
    BINDINGS: ClassVar[list[Binding]] = [  # type: ignore[assignment]
        Binding("slash", "filter", "Filter", key_display="/", id="divergence.filter"),
        Binding("o", "cycle_sort", "Sort", id="divergence.sort"),
        Binding("enter", "drill", "Partitions", id="divergence.partitions"),
        Binding("escape", "back", "Back", id="divergence.back"),
        Binding("r", "refresh_now", "Refresh", id="divergence.refresh"),
    ]

    def __init__(self, plan: Plan, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.plan = plan
        """The plan as loaded (the roles of a failover come from the runbook state when polling)."""
        self.snapshot: DivergenceSnapshot | None = None
        """The newest snapshot received."""
        self.shown = False
        """Whether the pane is on screen (polling)."""
        self._init_live()

    # -- layout -------------------------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        primary, secondary = self.plan.primary_alias, self.plan.secondary_alias
        header = HEADER.format(primary=primary, secondary=secondary)
        yield Static(Text(f"{header}\nwaiting for the first reading…"), id="div-summary")
        yield Static("", id="div-banner")
        yield Input(placeholder="filter topics (Esc clears)", id="div-filter")
        table = LagTable(id="div-table", cursor_type="row", zebra_stripes=False)
        add_columns(table, topic_columns(primary, secondary))
        yield table
        yield Static("", id="div-detail-title")
        detail = LagTable(id="div-detail", cursor_type="row", zebra_stripes=False)
        add_columns(detail, partition_columns(primary, secondary))
        yield detail

    def on_mount(self) -> None:
        self._widen_topics()

    # -- polling ------------------------------------------------------------------------------------

    def resume(self) -> None:
        """The pane is shown: poll, and draw what is known."""
        self.shown = True
        self._wake = threading.Event()  # each poll loop has its own, so a dying one never steals a wake
        self.poll_loop(self._wake)
        if self.screen.focused is None:
            self.query_one("#div-detail" if self.view == "partitions" else "#div-table").focus()
        if self.snapshot is not None:
            self._draw()

    def suspend(self) -> None:
        """The pane is hidden: stop polling until shown again."""
        self.shown = False
        self.workers.cancel_group(self, "divergence-poll")
        self._wake.set()

    def on_unmount(self) -> None:
        self.suspend()
        self._close_source()

    def _get_source(self) -> DivergenceSource:
        """The source for the plan as it runs now (after a failover the roles are swapped)."""
        from kdrtui.services.runbook.operate import view_plan

        plan, unreadable = view_plan(self.plan, self.kdr_app.plan_path)
        if unreadable is not None:
            raise RuntimeError(f"DR state unreadable, so which cluster is primary is unknown: {unreadable}")
        return self._source_for(plan, self.services.divergence_source_factory)

    @work(thread=True, exclusive=True, group="divergence-poll", exit_on_error=False)
    def poll_loop(self, wake: threading.Event) -> None:
        """Thread worker: refresh, post the snapshot, wait; until cancelled."""
        self._poll(wake)

    def on_divergence_refreshed(self, message: DivergenceRefreshed) -> None:
        self._received(message.snapshot, self.shown)

    def on_divergence_refresh_failed(self, message: DivergenceRefreshFailed) -> None:
        self._failed("Divergence", message.error, self.shown)

    # -- drawing ------------------------------------------------------------------------------------

    def _draw_detail(self) -> None:
        self._draw_partitions()

    def _draw_summary(self) -> None:
        snapshot = self.snapshot
        if snapshot is None:
            return
        header = HEADER.format(primary=snapshot.primary, secondary=snapshot.secondary)
        apart = [t for t in snapshot.topics if t.records_delta or t.gap_s or t.reason]
        line = (
            f"active: {snapshot.primary} · {len(snapshot.topics)} topics, {len(apart)} apart"
            f" · Δ {snapshot.records_delta:+,} records · worst gap {compact_age(snapshot.gap_s)}"
            f" · {snapshot.health}"
        )
        if snapshot.stale_s is not None:
            line += " (stale)"
        self._set_text("div-summary", f"{header}\n{line}", HEALTH_COLOUR[snapshot.health])

    def _draw_banner(self) -> None:
        parts: list[str] = []
        snapshot = self.snapshot
        colour = "warning"
        if snapshot is not None:
            if snapshot.stale_s is not None:
                down = ", ".join(sorted(snapshot.unreachable)) or "a cluster"
                parts.append(f"[{down} unreachable — data {int(snapshot.stale_s)} s old]")
            elif snapshot.error:
                parts.append(snapshot.error)
        if self.error is not None:
            parts.append(f"refresh failed: {self.error} (retrying)")
            colour = "error"
        self._set_text("div-banner", " ".join(parts), colour)

    def _topic_rows(self) -> list[TopicDivergence]:
        if self.snapshot is None:
            return []
        needle = self.filter_text.lower()
        rows = [t for t in self.snapshot.topics if needle in t.topic.lower()]
        rows.sort(key=sort_key(self.sort_mode))
        return rows

    def _draw_topics(self) -> None:
        snapshot = self.snapshot
        if snapshot is None:
            return
        columns = topic_columns(snapshot.primary, snapshot.secondary)
        rows = [(t.topic, topic_cells(snapshot, t)) for t in self._topic_rows()]
        self._sync("div-table", columns, rows)

    def _draw_partitions(self) -> None:
        snapshot = self.snapshot
        if snapshot is None or self.drilled is None:
            return
        columns = partition_columns(snapshot.primary, snapshot.secondary)
        found = next((t for t in snapshot.topics if t.topic == self.drilled), None)
        if found is None:
            gone = fit_names(self._title_width(), "{}: no longer on either cluster (Esc: back)", self.drilled)
            self._set_text("div-detail-title", gone, "warning")
            self._sync("div-detail", columns, [])
            return
        names = (found.topic, found.reason) if found.reason else (found.topic,)
        template = f"{{}}: partitions · {found.health}{' · {}' if found.reason else ''} · Esc: back"
        title = fit_names(self._title_width(), template, *names)
        self._set_text("div-detail-title", title, HEALTH_COLOUR[found.health])
        stale = snapshot.stale_s is not None
        muted = "text-muted" if stale else ""
        now = snapshot.taken_at - (snapshot.stale_s or 0.0)

        def by_partition(side: SideFacts | None) -> dict[int, PartitionFacts]:
            return {} if side is None else {p.partition: p for p in side.partitions}

        primary, secondary = by_partition(found.primary), by_partition(found.secondary)
        rows: list[tuple[str, tuple[Cell, ...]]] = []
        for n in sorted(set(primary) | set(secondary)):
            p, s = primary.get(n), secondary.get(n)
            delta = (p.records if p else 0) - (s.records if s else 0)
            rows.append(
                (
                    str(n),
                    (
                        (str(n), ""),
                        ("-" if p is None else f"{p.records:,}", muted),
                        ("-" if s is None else f"{s.records:,}", muted),
                        (f"{delta:+,}" if delta else "0", "warning" if delta and not stale else muted),
                        (age(now, None if p is None or p.newest_ms is None else p.newest_ms / 1000), muted),
                        (age(now, None if s is None or s.newest_ms is None else s.newest_ms / 1000), muted),
                    ),
                )
            )
        self._sync("div-detail", columns, rows)

    # -- keys ---------------------------------------------------------------------------------------

    def action_filter(self) -> None:
        """Filter topics by a substring (Esc clears)."""
        if self.view != "topics":
            return
        self._open_filter()

    def on_input_changed(self, event: Input.Changed) -> None:
        if event.input.id == "div-filter":
            event.stop()
            self._filter_changed(event.value)

    def on_input_submitted(self, event: Input.Submitted) -> None:
        if event.input.id == "div-filter":
            event.stop()
            self._filter_submitted(event.input)

    def action_cycle_sort(self) -> None:
        """Order topics by: worst, name, Δ records, Δ s."""
        self._cycle_sort()

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        if event.data_table.id == "div-table":
            event.stop()
            self.action_drill()
        elif event.data_table.id == "div-detail":
            event.stop()

    def action_drill(self) -> None:
        """Show the selected topic's partitions on both clusters."""
        if self.view != "topics":
            return
        table = self.query_one("#div-table", DataTable)
        if table.row_count == 0:
            self.notify("No topic to drill into yet.", severity="warning", timeout=3)
            return
        key, _ = table.coordinate_to_cell_key(table.cursor_coordinate)
        if key.value is None:
            return
        self.view, self.drilled = "partitions", str(key.value)
        detail = self.query_one("#div-detail", LagTable)
        detail.clear()
        self._cells.pop("div-detail", None)
        table.display = False
        self.query_one("#div-filter").display = False
        detail.display = True
        with self.app.batch_update():
            self._draw_partitions()
        detail.focus()

    def action_back(self) -> None:
        """Back: clear the filter, or leave a topic's partitions for the topic table."""
        self._back()
