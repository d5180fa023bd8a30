"""The lag engine's view of a scheduled (cold-standby) flow: IDLE between runs, thresholds from the
schedule, next and last run. Pure maths on a FlowLag; no cluster is contacted."""

from __future__ import annotations

from datetime import UTC, datetime

from kdrtui.domain.lag import FlowLag, Health, PartitionLag, TopicLag
from kdrtui.domain.plan import Plan, Schedule
from kdrtui.services.kafka.lag_engine import LagEngine
from kdrtui.services.plan_files import load_plan
from tests.samples import GOOD, scheduled_plan


def ts(text: str) -> float:
    return datetime.fromisoformat(text).replace(tzinfo=UTC).timestamp()


HOURLY = Schedule(every_minutes=60, run_minutes=15)


def flow_lag(plan: Plan, *, heartbeat_age: float | None, lag_s: float, health: Health) -> FlowLag:
    flow = plan.flows[0]
    partition = PartitionLag(0, source_end=10, target_end=4, replicated=4, lag_records=6, lag_seconds=lag_s)
    topic = TopicLag("orders", "primary.orders", (partition,), 6, lag_s, 0, 1.0, 0.0, health)
    return FlowLag(flow.source, flow.target, "mm2", heartbeat_age, health, (topic,))


def test_between_runs_a_scheduled_flow_is_idle_with_next_and_last_run() -> None:
    plan = scheduled_plan(HOURLY)
    engine = LagEngine(plan)
    now = ts("2026-11-25T14:40:00")  # batches at :00 for 15 min
    lag = engine._on_schedule(flow_lag(plan, heartbeat_age=1500.0, lag_s=1500.0, health=Health.STOPPED), now)
    assert lag.health is Health.IDLE and lag.topics[0].health is Health.IDLE
    assert lag.schedule is not None
    assert lag.schedule.next_run == ts("2026-11-25T15:00:00")
    assert lag.schedule.last_run == ts("2026-11-25T14:15:00")
    assert not lag.schedule.running
    assert lag.schedule.description == "every 60 min for 15 min"


def test_lag_is_judged_against_the_schedule() -> None:
    plan = scheduled_plan(HOURLY)
    engine = LagEngine(plan)
    now = ts("2026-11-25T14:40:00")
    warn = engine._on_schedule(flow_lag(plan, heartbeat_age=None, lag_s=76 * 60, health=Health.STOPPED), now)
    assert warn.health is Health.WARN
    crit = engine._on_schedule(flow_lag(plan, heartbeat_age=None, lag_s=151 * 60, health=Health.STOPPED), now)
    assert crit.health is Health.CRIT
    assert crit.schedule is not None and crit.schedule.last_run is None


def test_in_a_run_window() -> None:
    plan = scheduled_plan(HOURLY)
    engine = LagEngine(plan)
    running = engine._on_schedule(
        flow_lag(plan, heartbeat_age=0.5, lag_s=200.0, health=Health.CRIT), ts("2026-11-25T14:05:00")
    )
    assert running.health is Health.OK, "200 s of lag is fine for a flow that runs once an hour"
    assert running.schedule is not None and running.schedule.running
    assert running.schedule.next_run == ts("2026-11-25T15:00:00")
    starting = engine._on_schedule(
        flow_lag(plan, heartbeat_age=None, lag_s=0.0, health=Health.STOPPED), ts("2026-11-25T14:00:30")
    )
    assert starting.health is Health.IDLE, "MirrorMaker gets a minute to start"
    late = engine._on_schedule(
        flow_lag(plan, heartbeat_age=None, lag_s=0.0, health=Health.STOPPED), ts("2026-11-25T14:05:00")
    )
    assert late.health is Health.STOPPED, "a window is open and MirrorMaker does not run"


def test_a_flow_without_schedule_is_untouched() -> None:
    plan = load_plan(GOOD)
    engine = LagEngine(plan)
    lag = flow_lag(plan, heartbeat_age=None, lag_s=0.0, health=Health.STOPPED)
    assert engine._on_schedule(lag, ts("2026-11-25T14:40:00")) == lag


def test_kdrtui_status_of_an_idle_scheduled_flow() -> None:
    from kdrtui.commands.status import exit_code, render_text
    from kdrtui.domain.lag import FlowSchedule, LagSnapshot

    schedule = FlowSchedule(
        "every 60 min for 15 min", ts("2026-11-25T15:00:00"), ts("2026-11-25T14:15:00"), False
    )
    flow = FlowLag("primary", "dr", "mm2", None, Health.IDLE, (), schedule=schedule)
    snapshot = LagSnapshot(ts("2026-11-25T14:27:00"), (flow,))
    assert exit_code(snapshot) == 0, "between batches is not an outage"
    assert "  scheduled every 60 min for 15 min; idle; last run 720s ago; next run 15:00 UTC" in render_text(
        snapshot
    )
    warn = LagSnapshot(snapshot.taken_at, (FlowLag("primary", "dr", "mm2", None, Health.WARN, ()), flow))
    assert exit_code(warn) == 1
