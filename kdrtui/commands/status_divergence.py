"""``kdrtui status`` for a hot-standby plan (dual ingest): divergence between the two clusters per topic.

Exit codes as for mirror lag: 0 every topic OK, 1 any WARN or a cluster DEGRADED, 2 any CRIT or a cluster
unreachable.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import click

from kdrtui.domain.divergence import DivergenceSnapshot
from kdrtui.domain.lag_health import SEVERITY
from kdrtui.domain.plan import Plan, Topology

TOP_TOPICS = 20
"""Topics listed in the human output; the rest are counted."""


def is_hot_standby(plan: Plan) -> bool:
    """A plan with nothing mirrored because applications write to both clusters."""
    return plan.plan.topology is Topology.HOT_STANDBY and not plan.flows


def exit_code(snapshot: DivergenceSnapshot) -> int:
    """0 OK, 1 WARN, 2 CRIT (which includes an unreachable cluster)."""
    return min(2, SEVERITY[snapshot.health])


def _stamp(newest: float | None) -> str:
    return "-" if newest is None else time.strftime("%H:%M:%S", time.localtime(newest))


def render_text(snapshot: DivergenceSnapshot) -> str:
    """A header and a table of topics, worst first."""
    lines: list[str] = []
    for alias, since in sorted(snapshot.unreachable.items()):
        lines.append(f"! {alias} unreachable for {snapshot.taken_at - since:.0f}s")
    p, s = snapshot.primary, snapshot.secondary
    head = (
        f"hot standby (dual ingest): divergence between {p} and {s}  {snapshot.health}"
        f"  {len(snapshot.topics)} topics  Δ {snapshot.records_delta:+} records"
        f"  worst gap {snapshot.gap_s:.1f}s"
    )
    if snapshot.stale_s is not None:
        head += f"  STALE {snapshot.stale_s:.0f}s"
    lines.append(head)
    if snapshot.error:
        lines.append(f"  error: {snapshot.error}")
    if snapshot.topics:
        lines.append(
            f"  {'topic':<32} {p + ' rec':>12} {s + ' rec':>12} {'Δ rec':>9} "
            f"{p + ' newest':>14} {s + ' newest':>14} {'Δ s':>8}  health"
        )
    for t in snapshot.topics[:TOP_TOPICS]:
        delta_s = "-" if t.seconds_delta is None else f"{t.seconds_delta:+.1f}"
        lines.append(
            f"  {t.topic:<32} {'-' if t.primary is None else t.primary.records:>12} "
            f"{'-' if t.secondary is None else t.secondary.records:>12} {t.records_delta:>+9} "
            f"{_stamp(t.primary.newest if t.primary else None):>14} "
            f"{_stamp(t.secondary.newest if t.secondary else None):>14} {delta_s:>8}  {t.health}"
            + (f"  ({t.reason})" if t.reason else "")
        )
    if len(snapshot.topics) > TOP_TOPICS:
        lines.append(f"  … {len(snapshot.topics) - TOP_TOPICS} more")
    return "\n".join(lines)


def run(plan: Plan, path: Path | None, *, as_json: bool, watch: bool, interval: float) -> int:
    """Print the divergence (once, or until Ctrl-C with ``watch``); returns the exit code."""
    from kdrtui.commands.status_health import ClusterHealthReader, health_exit, health_json, health_lines
    from kdrtui.services.automation.summary import read_automation
    from kdrtui.services.kafka.divergence_engine import DivergenceEngine
    from kdrtui.services.runbook.operate import view_plan

    watched, unreadable = view_plan(plan, path)  # after a failover: the roles swapped
    engine = DivergenceEngine(watched)
    health = ClusterHealthReader(plan)
    code = 2
    try:
        while True:
            pending = health.submit()
            snapshot = engine.refresh()
            seen = pending.result()
            code = max(exit_code(snapshot), health_exit(seen)) if unreadable is None else 2
            automation = read_automation(plan, path)
            if as_json:
                body = {**snapshot.to_dict(), "dr_state_error": unreadable, "clusters": health_json(seen)}
                click.echo(json.dumps({**body, "automation": automation.to_dict()}))
            else:
                if unreadable is not None:
                    click.echo(f"DR state unreadable — which cluster is primary is unknown: {unreadable}")
                click.echo("\n".join([*health_lines(seen), render_text(snapshot), automation.line()]))
            if not watch:
                break
            time.sleep(interval)
    except KeyboardInterrupt:
        pass
    finally:
        engine.close()
        health.close()
    return code
