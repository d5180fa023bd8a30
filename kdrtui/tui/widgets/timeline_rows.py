"""What the Timeline pane reads from the timeline store and how its event rows look.

:func:`read_timeline` runs in the pane's thread worker and returns a :class:`TimelineReading`, a frozen
value: the worker posts a reading only when it differs from the last one it posted, so a quiet store costs
the terminal nothing. :func:`event_rows` turns the events into table rows (newest first, a day's line
before the events of an earlier UTC day).
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Protocol

from kdrtui.domain.timeline import Event, EventKind, LagMinute
from kdrtui.tui.widgets.lag_chart import COLUMNS, STEPS, window_end

if TYPE_CHECKING:
    from kdrtui.domain.plan import Plan

EVENT_LIMIT = 200
"""Newest events the pane lists."""
MAX_CHARTS = 2
"""Flows charted at once with no flow chosen (more: ``f`` picks one)."""
KINDS: tuple[EventKind | None, ...] = (None, *EventKind)
"""What ``k`` cycles through: every kind, then each one."""
SEVERITY_COLOUR = {"info": "", "warn": "warning", "crit": "error"}
"""Theme colour of an event's severity."""
EVENT_COLUMNS = (
    ("time", "time UTC", 8),
    ("kind", "kind", 11),
    ("subject", "subject", 16),
    ("text", "text", 0),
)
"""(key, label, width) of the event table's columns; the text takes what is left (width 0)."""


class TimelineReader(Protocol):
    """What the pane reads (:class:`kdrtui.services.timeline.store.TimelineStore`)."""

    def events(
        self,
        *,
        since: float | None = None,
        until: float | None = None,
        flow: str | None = None,
        kinds: Collection[EventKind] | None = None,
        limit: int | None = None,
    ) -> list[Event]: ...

    def lag_minutes(self, flow: str, since: float, until: float | None = None) -> list[LagMinute]: ...

    def flows(self) -> list[str]: ...

    def close(self) -> None: ...


@dataclass(frozen=True, slots=True)
class TimelineQuery:
    """What the pane asks for: a flow (None: every flow), a kind (None: every kind) and the window."""

    flow: str | None = None
    kind: EventKind | None = None
    window: str = "hour"


@dataclass(frozen=True, slots=True)
class TimelineReading:
    """What the store held for one query."""

    query: TimelineQuery
    end: float
    """End of the chart's window (exclusive)."""
    flows: tuple[str, ...]
    """Every flow the plan or the store knows, sorted."""
    events: tuple[Event, ...]
    """The query's events, newest first."""
    lag: tuple[tuple[str, tuple[LagMinute, ...]], ...]
    """(flow, its minutes in the window, oldest first) of each charted flow."""

    @property
    def empty(self) -> bool:
        """Nothing recorded for the query: no event and no lag minute."""
        return not self.events and not any(minutes for _, minutes in self.lag)


def plan_flows(plan: Plan | None) -> list[str]:
    """``source->target`` of each flow of the plan (the store adds those that ran, e.g. after a failover)."""
    if plan is None:
        return []
    names = {f"{f.source}->{f.target}" for f in plan.flows}
    return sorted(names)


def read_timeline(
    store: TimelineReader, query: TimelineQuery, now: float, known: Sequence[str]
) -> TimelineReading:
    """Read the events and lag minutes ``query`` shows (blocking: called from a thread)."""
    flows = tuple(sorted({*known, *store.flows()}))
    kinds = None if query.kind is None else {query.kind}
    events = store.events(flow=query.flow, kinds=kinds, limit=EVENT_LIMIT)
    step = STEPS[query.window]
    end = window_end(now, step)
    charted = [query.flow] if query.flow is not None else list(flows[:MAX_CHARTS])
    lag = tuple((flow, tuple(store.lag_minutes(flow, end - COLUMNS * step, end))) for flow in charted)
    return TimelineReading(query, end, flows, tuple(events), lag)


def time_utc(at: float) -> str:
    """``HH:MM:SS`` UTC."""
    return datetime.fromtimestamp(at, UTC).strftime("%H:%M:%S")


def day_utc(at: float) -> str:
    """``2025-11-25`` UTC."""
    return datetime.fromtimestamp(at, UTC).strftime("%Y-%m-%d")


Row = tuple[str, tuple[tuple[str, str], ...]]
"""(row key, ((text, theme colour), ...) per column)."""


def event_rows(events: Sequence[Event], now: float) -> list[Row]:
    """One row per event, newest first; before the first event of each UTC day other than today's, a
    row naming that day. Keys are unique and stable while the event stays listed."""
    rows: list[Row] = []
    seen: dict[str, int] = {}
    day = day_utc(now)
    for event in events:
        event_day = day_utc(event.at)
        if event_day != day:
            day = event_day
            rows.append(
                (f"day:{day}", ((day[5:], "text-muted"), ("", ""), (f"── {day} ──", "text-muted"), ("", "")))
            )
        key = f"{event.at:.3f}|{event.kind}|{event.subject}|{event.text}"
        count = seen.get(key, 0)
        seen[key] = count + 1
        colour = SEVERITY_COLOUR.get(event.severity, "")
        cells = (
            (time_utc(event.at), ""),
            (str(event.kind), colour),
            (event.subject, ""),
            (" ".join(event.text.removeprefix(f"{event.subject}: ").split()), colour),
        )
        rows.append((f"{key}#{count}" if count else key, cells))
    return rows
