"""Cold standby: a scheduled flow's lag judged against its schedule instead of the plan's thresholds."""

from __future__ import annotations

from dataclasses import replace

from kdrtui.domain.lag import FlowLag, FlowSchedule
from kdrtui.domain.lag_health import SEVERITY, Health, classify, worst
from kdrtui.domain.schedule import START_GRACE_S, Batches


def on_schedule(
    lag: FlowLag,
    now: float,
    batches: Batches | None,
    last_run: dict[str, float],
    heartbeat_timeout_s: float,
) -> FlowLag:
    """A scheduled flow's health against its schedule (``batches``; None: the flow always runs and is
    returned as it is), and its next and last run (``last_run``: flow name -> newest heartbeat seen,
    updated here for every flow).

    Between batches (or in a batch's first minute, while MirrorMaker starts) no heartbeat is not an
    outage: IDLE. Lag is judged against the schedule, not the plan's thresholds: WARN when older than
    a cycle plus a run, CRIT at twice that (``Batches.lag_thresholds``).
    """
    name = f"{lag.source}->{lag.target}"
    if lag.heartbeat_age_s is not None:
        last_run[name] = max(last_run.get(name, 0.0), now - lag.heartbeat_age_s)
    if batches is None:
        return lag
    window = batches.window_at(now)
    idle = window is None or now - window.start < START_GRACE_S
    warn_s, crit_s = batches.lag_thresholds(now)

    def judge(lag_s: float, stalled: bool, lost: bool = False) -> Health:
        return classify(
            lag_s,
            warn_s=warn_s,
            crit_s=crit_s,
            heartbeat_age_s=lag.heartbeat_age_s,
            heartbeat_timeout_s=heartbeat_timeout_s,
            stalled=stalled,
            idle=idle,
            lost=lost,
        )

    topics = [
        replace(t, health=judge(t.lag_seconds, t.health is Health.STALLED, t.lost_records > 0))
        for t in lag.topics
    ]
    topics.sort(key=lambda t: (-SEVERITY[t.health], -t.lag_seconds, -t.lag_records, t.topic))
    liveness = judge(0.0, False)
    schedule = FlowSchedule(
        description=batches.describe(),
        next_run=batches.next_run(now),
        last_run=last_run.get(name),
        running=liveness not in (Health.IDLE, Health.STOPPED),
    )
    return replace(
        lag,
        topics=tuple(topics),
        health=worst([t.health for t in topics] + [liveness]),
        schedule=schedule,
    )
