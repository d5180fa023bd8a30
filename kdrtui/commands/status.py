"""``kdrtui status``: mirror lag of every flow, for people and for scripts.

Exit codes: 0 every flow OK (or IDLE: a scheduled flow between its batches) and every cluster UP, 1 any
WARN or a DEGRADED cluster, 2 any CRIT/STALLED/STOPPED/LOST or a cluster unreachable (and a bad plan).
The automated failover policy's state (``Automation: ...``, the JSON's ``automation``) is shown, never
counted in the exit code.
"""

from __future__ import annotations

import sys
import time
from typing import TYPE_CHECKING

import click

from kdrtui.commands.options import load_plan_or_exit

if TYPE_CHECKING:
    from kdrtui.domain.lag import FlowSchedule, LagSnapshot
    from kdrtui.domain.lag_seconds import LagSecondsSource

TOP_TOPICS = 20
"""Topics listed per flow in the human output; the rest are counted."""


def exit_code(snapshot: LagSnapshot) -> int:
    """0 OK, 1 WARN, 2 anything worse."""
    from kdrtui.services.observe.status_view import lag_exit

    return lag_exit(snapshot)


def _age(seconds: float | None) -> str:
    return "never" if seconds is None else f"{seconds:.1f}s"


def _seconds(seconds: float, source: LagSecondsSource) -> str:
    """``12.0s`` read from the records, ``~12.0s`` estimated from the end offsets seen, ``>12.0s`` at
    least that, ``?`` unknown."""
    mark = {"history": "~", "unknown": ">"}.get(str(source), "")
    if mark == ">" and seconds < 1:
        return "?"
    return f"{mark}{seconds:.1f}s"


def _schedule(schedule: FlowSchedule, now: float) -> str:
    """``scheduled every 60 min for 15 min; idle; last run 720s ago; next run 14:00 UTC``."""
    from kdrtui.domain.schedule import format_utc

    last = "never ran" if schedule.last_run is None else f"last run {now - schedule.last_run:.0f}s ago"
    upcoming = (
        "no next run" if schedule.next_run is None else f"next run {format_utc(schedule.next_run, now)} UTC"
    )
    state = "running" if schedule.running else "idle"
    return f"scheduled {schedule.description}; {state}; {last}; {upcoming}"


def render_text(snapshot: LagSnapshot) -> str:
    """A compact table per flow, worst topics first."""
    lines: list[str] = []
    for alias, since in sorted(snapshot.unreachable.items()):
        why = snapshot.errors.get(alias, "").removeprefix(f"{alias}: ")
        down_s = snapshot.taken_at - since
        lines.append(
            f"! {alias} unreachable"
            + (f" for {down_s:.0f}s" if down_s >= 1 else "")
            + (f": {why}" if why else "")
        )
    said = set(snapshot.errors.values())
    for flow in snapshot.flows:
        seconds = _seconds(flow.lag_seconds, flow.lag_seconds_source)
        head = (
            f"{flow.source} -> {flow.target} ({flow.mirrormaker})  heartbeat {_age(flow.heartbeat_age_s)}"
            f"  {flow.health}  lag {flow.lag_records} records / {seconds}"
        )
        if flow.lost_records:
            head += f"  LOST {flow.lost_records} records (deleted before they were mirrored)"
        if flow.stale_s is not None:
            head += f"  STALE {flow.stale_s:.0f}s"
        lines.append(head)
        if flow.schedule is not None:
            lines.append(f"  {_schedule(flow.schedule, snapshot.taken_at)}")
        if flow.error and not set(flow.error.split("; ")) <= said:  # not just the clusters' lines again
            lines.append(f"  error: {flow.error}")
        for failed in flow.failed_tasks:
            lines.append(f"  task failed: {failed}")
        if flow.topics:
            lines.append(
                f"  {'topic':<40} {'records':>10} {'seconds':>8} {'lost':>8} {'in/s':>8} {'out/s':>8}  health"
            )
        for topic in flow.topics[:TOP_TOPICS]:
            seconds = _seconds(topic.lag_seconds, topic.lag_seconds_source).removesuffix("s")
            lines.append(
                f"  {topic.topic:<40} {topic.lag_records:>10} {seconds:>8} {topic.lost_records:>8} "
                f"{topic.rate_in:>8.1f} {topic.rate_out:>8.1f}  {topic.health}"
            )
        if len(flow.topics) > TOP_TOPICS:
            lines.append(f"  … {len(flow.topics) - TOP_TOPICS} more")
        for group in flow.groups:
            lines.append(
                f"  group {group.group} / {group.topic}: committed {group.committed} "
                f"checkpointed {group.checkpointed} redeliver {group.redeliver} skip {group.skip}"
            )
    return "\n".join(lines)


@click.command("status")
@click.option("--plan", "plan_arg", metavar="PATH|lab", help="DR plan file, or 'lab'.")
@click.option("--json", "as_json", is_flag=True, help="Print the snapshot as JSON.")
@click.option("--watch", is_flag=True, help="Repeat until Ctrl-C.")
@click.option("--interval", default=2.0, show_default=True, type=click.FloatRange(min=0.1), help="Seconds.")
def status_command(plan_arg: str | None, as_json: bool, watch: bool, interval: float) -> None:
    """Mirror lag and health of every flow of the plan (a hot standby: divergence between the clusters), and
    every cluster's health (brokers up, under-replicated, offline and under-min-ISR partitions).

    Exit code: 0 all OK (or IDLE), 1 any WARN or a cluster DEGRADED, 2 any CRIT, STALLED, STOPPED or LOST,
    or a cluster unreachable (or a bad plan).
    """
    from kdrtui.services.observe.cluster_health import health_lines
    from kdrtui.services.observe.status_view import StatusReader
    from kdrtui.services.timeline.recorder import open_recorder

    plan, path = load_plan_or_exit(plan_arg, required=True)
    assert plan is not None  # required=True exits otherwise
    from kdrtui.commands import status_divergence

    if status_divergence.is_hot_standby(plan):  # dual ingest: nothing mirrored, show the divergence
        sys.exit(status_divergence.run(plan, path, as_json=as_json, watch=watch, interval=interval))
    # After a failover: the flows out of the new primary. An unreadable DR state is said, not guessed:
    # both directions are watched and the exit code is 2.
    reader = StatusReader(plan, path)
    recorder = open_recorder(plan.plan.name, path, "status") if watch else None  # the incident timeline
    code = 2
    try:
        # Rates and lag in seconds need two points: warm up once (not when a cluster did not answer: its
        # flows have neither, and each refresh would wait for it again).
        view = reader.refresh(warm_up_s=min(1.0, interval), warm_up_always=watch)
        while True:
            code = view.exit_code()
            if recorder is not None:
                recorder.observe_lag(view.snapshot)
                recorder.observe_clusters(view.clusters)
            if as_json:
                click.echo(view.to_json())
            else:
                if view.dr_state_error is not None:
                    click.echo(f"DR state unreadable — active cluster unknown: {view.dr_state_error}")
                automation = [view.automation.line()] if view.automation is not None else []
                click.echo("\n".join([*health_lines(view.clusters), render_text(view.snapshot), *automation]))
            if not watch:
                break
            time.sleep(interval)
            view = reader.refresh()
    except KeyboardInterrupt:
        pass
    finally:
        reader.close()
        if recorder is not None:
            recorder.store.close()
    sys.exit(code)
