"""The rows of the mirror-lag pane (:mod:`kdrtui.tui.screens.lag`): its columns and orders, a topic's
cells, and the header line of a scheduled (cold-standby) flow."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from kdrtui.domain.health import compact_age
from kdrtui.domain.lag import SEVERITY, FlowLag, LagSecondsSource, TopicLag
from kdrtui.domain.schedule import format_utc
from kdrtui.tui.widgets.live_tables import HEALTH_COLOUR, Cell, compact
from kdrtui.tui.widgets.sparkline import sparkline

SORTS = ("worst", "name", "lag records", "rate")
"""The orders ``o`` cycles through."""

TOPIC_COLUMNS = (
    ("topic", "topic", 14, "left"),
    ("parts", "prt", 3, "right"),
    ("source_end", "src end", 7, "right"),
    ("replicated", "repl", 7, "right"),
    ("lag", "lag", 6, "right"),
    ("lag_s", "lag s", 6, "right"),
    ("rate", "in/s", 5, "right"),
    ("trend", "trend", 6, "left"),
    ("health", "health", 7, "left"),
)
"""(key, label, width, justify) of the topic table; 78 columns wide at the narrowest."""

PARTITION_COLUMNS = (
    ("partition", "part", 4, "right"),
    ("source_end", "source end", 11, "right"),
    ("target_end", "target end", 11, "right"),
    ("replicated", "replicated", 11, "right"),
    ("lag", "lag", 8, "right"),
    ("lag_s", "lag s", 7, "right"),
    ("lost", "lost", 8, "right"),
)
"""The partitions of a topic; ``lost``: records deleted before they were mirrored (``tx`` after the lag:
a transaction is open on the source, its records not counted yet)."""

GROUP_COLUMNS = (
    ("group", "group", 14, "left"),
    ("topic", "topic", 12, "left"),
    ("committed", "committed", 9, "right"),
    ("checkpointed", "ckpt", 9, "right"),
    ("age", "ckpt age", 8, "right"),
    ("redeliver", "redeliv", 7, "right"),
    ("skip", "skip", 5, "right"),
)


def _ago(seconds: float) -> str:
    """``just now``, ``40 s ago``, ``12 min ago``, ``3 h ago``, ``2 d ago``."""
    whole = max(0, int(seconds))
    if whole < 10:
        return "just now"
    if whole < 60:
        return f"{whole} s ago"
    if whole < 3600:
        return f"{whole // 60} min ago"
    if whole < 86400:
        return f"{whole // 3600} h ago"
    return f"{whole // 86400} d ago"


SCHEDULE_WIDTH = 80
"""A scheduled flow's header line is shortened to fit this many columns."""


def schedule_line(flow: FlowLag, now: float) -> str:
    """A scheduled (cold-standby) flow's header line, e.g. ``primary→dr scheduled every 60 min for 15 min
    · last run 12 min ago · next 14:00 UTC · IDLE``, shortened to fit :data:`SCHEDULE_WIDTH` columns."""
    schedule = flow.schedule
    assert schedule is not None
    last = "never ran" if schedule.last_run is None else f"last run {_ago(now - schedule.last_run)}"
    upcoming = (
        "no next run" if schedule.next_run is None else f"next {format_utc(schedule.next_run, now)} UTC"
    )
    health = f"{flow.health}{' (stale)' if flow.stale_s is not None else ''}"
    route = f"{flow.source}→{flow.target}"
    rest = f"{last} · {upcoming} · {health}"
    candidates = [
        f"{route} scheduled {schedule.description} · {rest}",
        f"{route} {schedule.description} · {rest}",
        f"{route} {schedule.description.replace(' min', 'm')} · {rest.replace(' min ago', 'm ago')}",
        f"{route} scheduled · {rest}",
    ]
    return next((c for c in candidates if len(c) <= SCHEDULE_WIDTH), candidates[-1])


def flow_name(flow: FlowLag) -> str:
    """``source->target``."""
    return f"{flow.source}->{flow.target}"


def row_key(flow: FlowLag, topic: TopicLag) -> str:
    """The topic table's row key."""
    return f"{flow.source}->{flow.target}/{topic.topic}"


def sort_key(mode: str) -> Callable[[tuple[FlowLag, TopicLag]], Any]:
    """Key function for one of :data:`SORTS` over (flow, topic) pairs."""
    if mode == "name":
        return lambda ft: (ft[1].topic, flow_name(ft[0]))
    if mode == "lag records":
        return lambda ft: (-ft[1].lag_records, ft[1].topic)
    if mode == "rate":
        return lambda ft: (-ft[1].rate_in, ft[1].topic)
    return lambda ft: (-SEVERITY[ft[1].health], -ft[1].lag_seconds, -ft[1].lag_records, ft[1].topic)


def seconds_text(seconds: float, source: LagSecondsSource) -> str:
    """A lag in seconds for a cell: ``12s`` read from the records, ``~12s`` estimated from the history
    of end offsets, ``>12s`` at least that (older than the history), ``?`` not known at all."""
    if source is LagSecondsSource.HISTORY:
        return f"~{compact_age(seconds)}"
    if source is LagSecondsSource.UNKNOWN:
        return f">{compact_age(seconds)}" if seconds >= 1 else "?"
    return compact_age(seconds)


def topic_cells(flow: FlowLag, topic: TopicLag) -> tuple[Cell, ...]:
    """One topic row. Numbers of a stale flow are muted and the health says so: never look fresh. A topic
    that lost records says LOST in its health (how many: its partitions, ``enter``)."""
    stale = flow.stale_s is not None
    muted = "text-muted" if stale else ""
    health = f"{topic.health}?" if stale else str(topic.health)
    return (
        (topic.topic, ""),
        (str(len(topic.partitions)), ""),
        (compact(sum(p.source_end for p in topic.partitions)), muted),
        (compact(sum(p.replicated for p in topic.partitions)), muted),
        (compact(topic.lag_records), muted),
        (seconds_text(topic.lag_seconds, topic.lag_seconds_source), muted),
        (compact(topic.rate_in), muted),
        (sparkline(topic.trend), muted),
        (health, "text-muted" if stale else HEALTH_COLOUR[topic.health]),
    )
