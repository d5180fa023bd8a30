"""Mirror lag: per-topic lag of every flow, the RPO of failing over now, partitions and consumer groups.

A thread worker calls the lag source every ``lag_interval`` seconds, only while the pane is shown, runs
the alert hook and posts the snapshot; only the newest pending snapshot is drawn (``can_replace``). Tables
are keyed and updated by diff: a cell is written only when its value changed and rows are re-sorted only
when their order changed, so an unchanged snapshot repaints nothing.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from typing import TYPE_CHECKING, ClassVar

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import DataTable, Input, Static

from kdrtui.domain.health import coarse_compact_age
from kdrtui.domain.lag import FlowLag, LagSnapshot, TopicLag, worst_seconds
from kdrtui.domain.plan import Topology
from kdrtui.services.alerts import AlertHook
from kdrtui.tui.factories import LagSource
from kdrtui.tui.screens.base import ModeScreen
from kdrtui.tui.text import fit_names
from kdrtui.tui.widgets.lag_rows import (
    GROUP_COLUMNS,
    PARTITION_COLUMNS,
    SORTS,
    TOPIC_COLUMNS,
    flow_name,
    row_key,
    schedule_line,
    seconds_text,
    sort_key,
    topic_cells,
)
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

if TYPE_CHECKING:
    from kdrtui.tui.widgets.divergence_view import DivergenceView


class LagRefreshed(Refreshed[LagSnapshot]):
    """The lag source returned a snapshot; a newer pending one replaces it unseen."""


class LagRefreshFailed(RefreshFailed):
    """The lag source raised; polling carries on."""


class LagScreen(LiveTables[LagSource], ModeScreen):
    """Per-topic mirror lag of every flow, worst first, with partitions and consumer groups."""

    MODE = "lag"
    PREFIX = "lag"
    SORTS = SORTS
    REFRESHED = LagRefreshed
    REFRESH_FAILED = LagRefreshFailed
    AUTO_FOCUS = "#lag-table"
    BINDINGS: ClassVar[list[Binding]] = [  # type: ignore[assignment]
        Binding("slash", "filter", "Filter", key_display="/", id="lag.filter"),
        Binding("o", "cycle_sort", "Sort", id="lag.sort"),
        Binding("enter", "drill", "Partitions", id="lag.partitions"),
        Binding("g", "groups", "Groups", id="lag.groups"),
        Binding("escape", "back", "Back", id="lag.back"),
        Binding("r", "refresh_now", "Refresh", id="lag.refresh"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.snapshot: LagSnapshot | None = None
        """The newest snapshot received (drawn when shown)."""
        self._init_live()
        self._previous: LagSnapshot | None = None
        self.state_error: str | None = None
        """Why the DR state cannot be read (both directions are watched; the active cluster is unknown)."""

    # -- layout -------------------------------------------------------------------------------------

    def _empty_reason(self) -> str | None:
        plan = self.plan
        if plan is None:
            return "No plan: nothing to watch. Open one with `kdrtui --plan PATH` (or --plan lab)."
        if not plan.flows:
            if plan.plan.topology is Topology.HOT_STANDBY:
                return "Hot standby with dual ingest: nothing is mirrored (the divergence view is shown)."
            return "The plan has no flows: nothing is mirrored, so there is no mirror lag to show."
        return None

    @property
    def divergence(self) -> bool:
        """Hot standby with dual ingest: the pane shows the divergence view instead of mirror lag."""
        plan = self.plan
        return plan is not None and not plan.flows and plan.plan.topology is Topology.HOT_STANDBY

    def _divergence_view(self) -> DivergenceView:
        from kdrtui.tui.widgets.divergence_view import DivergenceView

        return self.query_one("#divergence", DivergenceView)

    def compose_body(self) -> ComposeResult:
        if self.divergence:
            from kdrtui.tui.widgets.divergence_view import DivergenceView

            assert self.plan is not None
            yield DivergenceView(self.plan, id="divergence")
            return
        reason = self._empty_reason()
        if reason is not None:
            yield Static(Text(reason), id="lag-empty")
            return
        yield Static(Text("waiting for the first lag reading…"), id="lag-summary")
        yield Static("", id="lag-banner")
        yield Input(placeholder="filter topics (Esc clears)", id="lag-filter")
        table = LagTable(id="lag-table", cursor_type="row", zebra_stripes=False)
        add_columns(table, TOPIC_COLUMNS)
        yield table
        yield Static("", id="lag-detail-title")
        yield LagTable(id="lag-detail", cursor_type="row", zebra_stripes=False)

    def on_mount(self) -> None:
        if self._empty_reason() is not None:
            return
        self._widen_topics()

    @property
    def has_flows(self) -> bool:
        """Whether there is anything to poll."""
        return self._empty_reason() is None

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in {"filter", "cycle_sort", "drill", "groups", "refresh_now", "back"}:
            return self.has_flows
        return True

    # -- polling ------------------------------------------------------------------------------------

    def on_screen_resume(self) -> None:
        if self.divergence:
            self._divergence_view().resume()
            return
        if not self.has_flows:
            return
        self._wake = threading.Event()  # each poll loop has its own, so a dying one never steals a wake
        self.poll_loop(self._wake)
        if self.snapshot is not None:
            self._draw()

    def on_screen_suspend(self) -> None:
        if self.divergence:
            self._divergence_view().suspend()
        # Hidden panes cost nothing: stop polling until shown again.
        self.workers.cancel_group(self, "lag-poll")
        self._wake.set()

    def on_unmount(self) -> None:
        self.workers.cancel_group(self, "lag-poll")
        self._wake.set()
        self._close_source()

    def _get_source(self) -> LagSource:
        """The lag source for the plan as it runs now: rebuilt when a failover or failback changed which
        flows run (the DR state file says so)."""
        from kdrtui.services.runbook.operate import view_plan

        assert self.plan is not None
        plan, self.state_error = view_plan(self.plan, self.plan_path)
        return self._source_for(plan, self.services.lag_source_factory)

    @work(thread=True, exclusive=True, group="lag-poll", exit_on_error=False)
    def poll_loop(self, wake: threading.Event) -> None:
        """Thread worker: refresh, run the alert hook, post the snapshot, wait; until cancelled."""
        from kdrtui.services.runbook.lag_memory import remember
        from kdrtui.services.runbook.store import RunbookStore

        hook = AlertHook(self.services.alert_command)
        assert self.plan is not None
        store = RunbookStore(self.plan.plan.name, self.plan_path)

        def alert(snapshot: LagSnapshot) -> None:
            hook(self._previous, snapshot)
            self._previous = snapshot
            remember(store, snapshot)  # the bound a failover reports if the source goes away
            self.kdr_app.timeline_feed.lag(snapshot)

        self._poll(wake, alert)

    def on_lag_refreshed(self, message: LagRefreshed) -> None:
        self._received(message.snapshot, self.is_current)

    def on_lag_refresh_failed(self, message: LagRefreshFailed) -> None:
        self._failed("Lag", message.error, self.is_current)

    # -- drawing ------------------------------------------------------------------------------------

    def _draw_detail(self) -> None:
        if self.view == "partitions":
            self._draw_partitions()
        elif self.view == "groups":
            self._draw_groups()

    def _draw_summary(self) -> None:
        snapshot = self.snapshot
        if snapshot is None:
            return
        lines = [f"active: {snapshot.active or '?'}"]
        for flow in snapshot.flows:
            if flow.schedule is not None:
                lines.append(schedule_line(flow, snapshot.taken_at))
                continue
            beat = (
                "no heartbeat"
                if flow.heartbeat_age_s is None
                else f"heartbeat {coarse_compact_age(flow.heartbeat_age_s)}"
            )
            stale = " (stale)" if flow.stale_s is not None else ""
            lost = f" · {compact(flow.lost_records)} rec lost" if flow.lost_records else ""
            if flow.failed_tasks:
                lost += f" · {len(flow.failed_tasks)} task FAILED"
            lines.append(
                f"{flow.source}→{flow.target} {beat} · lag {compact(flow.lag_records)} rec"
                f" · worst {seconds_text(flow.lag_seconds, flow.lag_seconds_source)}{lost}"
                f" · {flow.health}{stale}"
            )
        if self.state_error is not None:
            lines[0] = "active: unknown (DR state unreadable)"
            self._set_text("lag-summary", "\n".join(lines), "error")
            return
        at_risk = [f for f in snapshot.flows if f.source == snapshot.active]
        rpo_records = sum(f.lag_records for f in at_risk)
        rpo_seconds = worst_seconds([(f.lag_seconds, f.lag_seconds_source) for f in at_risk])
        rpo_stale = any(f.stale_s is not None for f in at_risk)
        rpo = f"RPO if you fail over now: {rpo_records:,} records / {seconds_text(*rpo_seconds)}"
        lines[0] += " · " + rpo + (" (stale)" if rpo_stale else "")
        self._set_text("lag-summary", "\n".join(lines), HEALTH_COLOUR[snapshot.health])

    def _draw_banner(self) -> None:
        parts: list[str] = []
        snapshot = self.snapshot
        if snapshot is not None:
            for flow in snapshot.flows:
                if flow.stale_s is None:
                    continue
                down = [a for a in (flow.source, flow.target) if a in snapshot.unreachable]
                who = ", ".join(down) or flow_name(flow)
                parts.append(f"[{who} unreachable — data {int(flow.stale_s)} s old]")
            # Why, once per cluster: a wrong password or CA reads as plainly here as on its Overview card.
            parts.extend(why for _, why in sorted(snapshot.errors.items()))
        failing = [f for f in snapshot.flows if f.failed_tasks] if snapshot is not None else []
        for flow in failing:
            parts.append(f"{flow_name(flow)}: task failed: {flow.failed_tasks[0]}")
        if self.state_error is not None:
            parts.append(self.state_error)
        if self.error is not None:
            parts.append(f"refresh failed: {self.error} (retrying)")
        if self.error is not None or self.state_error is not None or failing:
            self._set_text("lag-banner", " ".join(parts), "error")
        else:
            self._set_text("lag-banner", " ".join(parts), "warning")

    def _topic_rows(self) -> list[tuple[FlowLag, TopicLag]]:
        snapshot = self.snapshot
        if snapshot is None:
            return []
        needle = self.filter_text.lower()
        pairs = [(f, t) for f in snapshot.flows for t in f.topics if needle in t.topic.lower()]
        pairs.sort(key=sort_key(self.sort_mode))
        return pairs

    def _draw_topics(self) -> None:
        rows = [(row_key(f, t), topic_cells(f, t)) for f, t in self._topic_rows()]
        self._sync("lag-table", TOPIC_COLUMNS, rows)

    def _drilled_topic(self) -> tuple[FlowLag, TopicLag] | None:
        if self.snapshot is None or self.drilled is None:
            return None
        for flow in self.snapshot.flows:
            for topic in flow.topics:
                if row_key(flow, topic) == self.drilled:
                    return flow, topic
        return None

    def _draw_partitions(self) -> None:
        found = self._drilled_topic()
        if found is None:
            gone = fit_names(self._title_width(), "{}: no longer mirrored (Esc: back)", self.drilled or "")
            self._set_text("lag-detail-title", gone, "warning")
            self._sync("lag-detail", PARTITION_COLUMNS, [])
            return
        flow, topic = found
        muted = "text-muted" if flow.stale_s is not None else ""
        title = fit_names(
            self._title_width(),
            "{} → {} ({}): partitions · Esc: back",
            topic.topic,
            topic.target_topic,
            flow_name(flow),
        )
        self._set_text("lag-detail-title", title)
        rows: list[tuple[str, tuple[Cell, ...]]] = [
            (
                str(p.partition),
                (
                    (str(p.partition), ""),
                    (f"{p.source_end:,}", muted),
                    ("-" if p.target_end is None else f"{p.target_end:,}", muted),
                    (f"{p.replicated:,}", muted),
                    (f"{p.lag_records:,}{' tx' if p.open_transaction else ''}", muted),
                    (seconds_text(p.lag_seconds, p.lag_seconds_source), muted),
                    (f"{p.lost_records:,}" if p.lost_records else "", muted or "secondary"),
                ),
            )
            for p in topic.partitions
        ]
        self._sync("lag-detail", PARTITION_COLUMNS, rows)

    def _draw_groups(self) -> None:
        snapshot = self.snapshot
        rows: list[tuple[str, tuple[Cell, ...]]] = []
        count = 0
        for flow in snapshot.flows if snapshot is not None else ():
            muted = "text-muted" if flow.stale_s is not None else ""
            for g in flow.groups:
                count += 1
                rows.append(
                    (
                        f"{flow_name(flow)}/{g.group}/{g.topic}",
                        (
                            (g.group, ""),
                            (g.topic, ""),
                            (compact(g.committed), muted),
                            (compact(g.checkpointed), muted),
                            (coarse_compact_age(g.checkpoint_age_s), muted),
                            (compact(g.redeliver), "warning" if g.redeliver and not muted else muted),
                            (compact(g.skip), "error" if g.skip and not muted else muted),
                        ),
                    )
                )
        title = f"consumer groups ({count}): what failing over now would redeliver or skip · Esc: back"
        if not count:
            title = "no consumer groups covered by the flows yet · Esc: back"
        self._set_text("lag-detail-title", title)
        self._sync("lag-detail", GROUP_COLUMNS, rows)

    # -- keys ---------------------------------------------------------------------------------------

    def action_filter(self) -> None:
        """Filter topics by a substring (Esc clears)."""
        self._open_filter()

    def on_input_changed(self, event: Input.Changed) -> None:
        if event.input.id == "lag-filter":
            self._filter_changed(event.value)

    def on_input_submitted(self, event: Input.Submitted) -> None:
        if event.input.id == "lag-filter":
            self._filter_submitted(event.input)

    def action_cycle_sort(self) -> None:
        """Order topics by: worst, name, lag records, rate."""
        self._cycle_sort()

    def _selected_key(self) -> str | None:
        table = self.query_one("#lag-table", DataTable)
        if table.row_count == 0:
            return None
        key, _ = table.coordinate_to_cell_key(table.cursor_coordinate)
        return None if key.value is None else str(key.value)

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        if event.data_table.id == "lag-table":
            event.stop()
            self.action_drill()

    def action_drill(self) -> None:
        """Show the selected topic's partitions."""
        if self.view != "topics":
            return
        key = self._selected_key()
        if key is None:
            self.notify("No topic to drill into yet.", severity="warning", timeout=3)
            return
        self.drilled = key
        self._show_detail("partitions", PARTITION_COLUMNS)

    def action_groups(self) -> None:
        """Show the consumer groups the flows cover."""
        self._show_detail("groups", GROUP_COLUMNS)

    def _show_detail(self, view: str, columns: Iterable[tuple[str, str, int, str]]) -> None:
        self.view = view
        detail = self.query_one("#lag-detail", DataTable)
        detail.clear(columns=True)
        self._cells.pop("lag-detail", None)
        add_columns(detail, columns)
        self.query_one("#lag-table").display = False
        self.query_one("#lag-filter").display = False
        detail.display = True
        with self.app.batch_update():
            if view == "partitions":
                self._draw_partitions()
            else:
                self._draw_groups()
        self.query_one("#lag-detail-title").display = True
        detail.focus()

    def action_back(self) -> None:
        """Back: clear the filter, or leave partitions / groups for the topic table."""
        self._back()
