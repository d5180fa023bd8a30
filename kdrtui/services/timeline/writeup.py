"""What ``kdrtui events`` prints: the timeline of a window as text lines, as JSON, or as the skeleton of a
post-incident write-up in Markdown (summary, timeline table, lag over time per flow as a text chart, the
report of a failover or failback that ran in the window, and headings for the people to fill in).

The window's data is read once (:func:`read_window`) and rendered by pure functions.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from kdrtui.domain.timeline import (
    Event,
    EventKind,
    LagMinute,
    health_rank,
    iso,
    minute_of,
    per_minute,
    sparkline,
)
from kdrtui.services.timeline.store import TimelineStore

CHART_WIDTH = 60
"""Most characters a lag chart line takes (minutes are grouped into wider columns past it)."""
RUN_OPERATIONS = ("failover", "failback", "rollback")
"""The runbooks whose report a write-up quotes."""


@dataclass(frozen=True)
class Window:
    """Everything ``kdrtui events`` shows for one time window."""

    plan: str
    """The plan's name."""
    since: float
    """Start of the window (epoch s)."""
    until: float
    """End of the window (epoch s)."""
    events: list[Event]
    """Newest first, each change once."""
    lag: dict[str, list[LagMinute]]
    """Flow -> its per-minute rows in the window, oldest first."""
    runs: list[dict[str, Any]] = field(default_factory=list)
    """The failovers/failbacks/rollbacks that ran in the window, oldest first: ``operation``, ``run``,
    ``started_at``, ``ended_at``, ``outcome``, ``report`` (the report step's facts, or None)."""


def read_window(
    store: TimelineStore,
    plan: str,
    since: float,
    until: float,
    *,
    flow: str | None = None,
    kinds: set[EventKind] | None = None,
    runs: list[dict[str, Any]] | None = None,
) -> Window:
    """Read the window's events and lag rows (of ``flow`` only when given)."""
    events = store.events(since=since, until=until, flow=flow, kinds=kinds)
    flows = [flow] if flow is not None else store.flows()
    lag = {name: rows for name in flows if (rows := store.lag_minutes(name, since, until))}
    return Window(plan, since, until, events, lag, runs or [])


def runs_in_window(journals: list[Any], since: float, until: float) -> list[dict[str, Any]]:
    """The runs of ``journals`` (runbook :class:`Journal` values) with an entry in the window."""
    runs = []
    for journal in journals:
        entries = journal.entries()
        times = [e["at"] for e in entries if isinstance(e.get("at"), (int, float))]
        if not times or max(times) < since or min(times) > until:
            continue
        state = journal.state()
        ends = [
            e["at"] for e in entries if e.get("event") == "run-end" and isinstance(e.get("at"), (int, float))
        ]
        report = state.facts("report") or None
        runs.append(
            {
                "operation": state.operation or "runbook",
                "run": journal.run_id,
                "started_at": min(times),
                "ended_at": ends[-1] if ends else None,
                "outcome": state.ended or "running (or cut by a crash)",
                "report": report,
            }
        )
    return runs


# -- text and JSON -----------------------------------------------------------------------------------


def text_lines(window: Window) -> list[str]:
    """One line per event, newest first: ``2026-12-03 23:41:07Z  crit  cluster  dr: UP -> ... [console]``."""
    if not window.events:
        return [f"no events between {iso(window.since)} and {iso(window.until)}"]
    return [
        f"{iso(e.at).replace('T', ' ')}  {e.severity:<4}  {e.kind!s:<11}  {e.text}  [{e.source}]"
        for e in window.events
    ]


def to_json(window: Window) -> dict[str, Any]:
    """``kdrtui events --json``: the window, its events (newest first), lag rows per flow, runs."""
    return {
        "plan": window.plan,
        "since": round(window.since, 3),
        "until": round(window.until, 3),
        "events": [e.to_dict() for e in window.events],
        "lag_minutes": {flow: [row.to_dict() for row in rows] for flow, rows in sorted(window.lag.items())},
        "runs": window.runs,
    }


# -- Markdown ----------------------------------------------------------------------------------------


def _cell(text: str) -> str:
    """``text`` safe in a Markdown table cell (pipes escaped, one line)."""
    return text.replace("\\", "\\\\").replace("|", "\\|").replace("\n", " ")


def _duration(seconds: float) -> str:
    seconds = max(0.0, seconds)
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min"
    if seconds < 172800:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 86400:.1f} days"


def worst_health(window: Window) -> dict[str, str]:
    """Flow -> the worst health seen in the window (lag rows and health events)."""
    worst: dict[str, str] = {}

    def see(flow: str, health: str) -> None:
        if flow not in worst or health_rank(health) > health_rank(worst[flow]):
            worst[flow] = health

    for flow, rows in window.lag.items():
        for row in rows:
            see(flow, row.health)
    for event in window.events:
        if event.kind is EventKind.HEALTH and event.flow and " -> " in event.change:
            see(event.flow, event.change.rsplit(" -> ", 1)[1])
    return worst


def lag_chart(rows: list[LagMinute], since: float, until: float, width: int = CHART_WIDTH) -> list[str]:
    """The flow's lag over the window as text: worst records and seconds per column (one minute, or a
    group of minutes past ``width``), ``·`` where nothing was sampled."""
    slots = per_minute(rows, since, until)
    group = max(1, math.ceil(len(slots) / width))
    records: list[float | None] = []
    seconds: list[float | None] = []
    for start in range(0, len(slots), group):
        chunk = [row for row in slots[start : start + group] if row is not None]
        records.append(max((r.max_records for r in chunk), default=None))
        seconds.append(max((r.max_seconds for r in chunk), default=None))
    peak_records = max((r.max_records for r in rows), default=0)
    peak_seconds = max((r.max_seconds for r in rows), default=0.0)
    column = "1 minute" if group == 1 else f"{group} minutes"
    return [
        f"records  {sparkline(records)}  peak {peak_records:,}",
        f"seconds  {sparkline(seconds)}  peak {peak_seconds:,.1f} s",
        f"         {_hhmm(since, until)} .. {_hhmm(until, since)} UTC, one column = {column}",
    ]


def _hhmm(at: float, other: float) -> str:
    """``21:36``, or ``2026-12-03 21:36`` when ``other`` falls on another UTC day."""
    text = iso(minute_of(at))
    return text[11:16] if text[:10] == iso(other)[:10] else f"{text[:10]} {text[11:16]}"


def _peaks(window: Window) -> list[str]:
    lines = []
    for flow, rows in sorted(window.lag.items()):
        top = max(rows, key=lambda r: (r.max_records, r.max_seconds))
        slow = max(rows, key=lambda r: r.max_seconds)
        lines.append(
            f"- {flow}: {top.max_records:,} records at {_hhmm(top.minute, window.until)} UTC; "
            f"{slow.max_seconds:,.1f} s at {_hhmm(slow.minute, window.until)} UTC"
        )
    return lines or ["- no lag recorded in the window"]


def _run_lines(run: dict[str, Any]) -> list[str]:
    from kdrtui.services.runbook.report_step import report_lines

    started, ended = run["started_at"], run.get("ended_at")
    took = f", {_duration(ended - started)}" if ended is not None else ""
    lines = [
        f"### {run['operation']} {run['run']}",
        "",
        f"- {iso(started)} -> {iso(ended) if ended is not None else '…'}{took}: {run['outcome']}",
    ]
    report = run.get("report")
    if report:
        try:
            lines += ["", "```", *report_lines(report), "```"]
        except (KeyError, TypeError, ValueError):  # a report an older version wrote: its facts as they are
            lines += [f"- report: {_cell(str(report))[:500]}"]
    else:
        lines.append("- no report (the run did not reach its report step)")
    return lines


def markdown(window: Window) -> str:
    """The post-incident write-up skeleton of the window."""
    events = window.events
    crit = sum(1 for e in events if e.severity == "crit")
    warn = sum(1 for e in events if e.severity == "warn")
    worst = worst_health(window)
    out = [
        f"# Incident write-up: {window.plan}",
        "",
        "## Summary",
        "",
        f"- Window: {iso(window.since)} to {iso(window.until)} ({_duration(window.until - window.since)})",
        f"- Events: {len(events)} ({crit} crit, {warn} warn)",
        "- Worst health per flow: "
        + (", ".join(f"{flow} {health}" for flow, health in sorted(worst.items())) or "none recorded"),
        "- Peak lag:",
        *[f"  {line}" for line in _peaks(window)],
    ]
    if window.runs:
        out.append(
            "- Runbooks: " + ", ".join(f"{r['operation']} {r['run']} ({r['outcome']})" for r in window.runs)
        )
    automation = [e for e in events if e.kind is EventKind.AUTOMATION]
    if automation:  # what the failover policy decided matters to the write-up: said once, its newest
        count = f"{len(automation)} event{'s' if len(automation) != 1 else ''}"
        last = " ".join(automation[0].text.split())
        out.append(f"- Automation (kdrtui watch): {count}, the last: {last}")
    out += ["", "## Timeline", ""]
    if events:
        out += ["| Time (UTC) | Kind | Severity | What happened | Seen by |", "|---|---|---|---|---|"]
        for e in reversed(events):  # a write-up reads oldest first
            out.append(
                f"| {iso(e.at)[:10]} {iso(e.at)[11:19]} | {e.kind} | {e.severity} | {_cell(e.text)} | "
                f"{_cell(e.source)} |"
            )
    else:
        out.append("No events recorded in the window.")
    out += ["", "## Lag over time", ""]
    if window.lag:
        for flow, rows in sorted(window.lag.items()):
            out += [f"### {flow}", "", "```", *lag_chart(rows, window.since, window.until), "```", ""]
    else:
        out += ["No lag recorded in the window.", ""]
    out += ["## Failover", ""]
    if window.runs:
        for run in window.runs:
            out += [*_run_lines(run), ""]
    else:
        out += ["No failover, failback or rollback ran in the window.", ""]
    for heading, hint in (
        ("Impact", "Who and what was affected, for how long; records lost or delivered twice."),
        ("Root cause", "What started it, and why it was not caught earlier."),
        ("Actions", "What changes, who does it, by when."),
    ):
        out += [f"## {heading}", "", f"_{hint}_", ""]
    return "\n".join(out).rstrip() + "\n"
