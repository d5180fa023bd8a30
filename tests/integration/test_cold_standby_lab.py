"""Cold standby in the lab: MirrorMaker 2 runs in scheduled batches on the edge node, for real.

A schedule minute is scaled to one second (``KDRTUI_SCHEDULE_MINUTE_SECONDS=1``, the schedule maths' test
hook), so a cron of ``S * * * *`` opens a window at second S of every real minute and ``run_minutes = 30``
keeps it open 30 s: the test sees MirrorMaker start on its own, mirror, stop on its own, and the status go
idle with the next run, in about a minute.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from kdrtui.domain.lag import Health
from kdrtui.domain.plan import Schedule
from kdrtui.domain.schedule import MINUTE_SECONDS_ENV, Batches
from kdrtui.lab.lab import DR, PRIMARY, Lab
from kdrtui.services.kafka.lag_engine import LagEngine
from kdrtui.services.plan_files import load_plan
from tests.kafka_helpers import consume_partitions, create_topic, produce_numbered
from tests.lab_helpers import cli, lab_plan_variant, mirrormaker_jvms

pytestmark = pytest.mark.lab

Wait = Callable[..., float]
RUN_S = 30
"""The batch's length: 30 schedule minutes of one second."""
LEAD_S = 8
"""Seconds from now to the window's start: time for `mm start` to deploy."""


def test_mirrormaker_runs_in_scheduled_batches(
    lab: Lab, tmp_path: Path, unique_name: str, wait_until: Wait, monkeypatch: pytest.MonkeyPatch
) -> None:
    began = time.monotonic()
    monkeypatch.setenv(MINUTE_SECONDS_ENV, "1")
    create_topic(lab.bootstrap(PRIMARY), unique_name, partitions=2)
    sent = produce_numbered(lab.bootstrap(PRIMARY), unique_name, 500)
    opens = int(time.time()) + LEAD_S
    cron = f"{opens % 60} * * * *"
    batches = Batches.of(Schedule(cron=cron, run_minutes=RUN_S), minute_seconds=1)
    assert batches.next_start(time.time()) == opens
    schedule = Schedule(cron=cron, run_minutes=RUN_S)
    plan = lab_plan_variant(lab, tmp_path, "cold.toml", flow={"topics": [unique_name], "schedule": schedule})
    work = str(tmp_path / "work")
    try:
        started = cli("mm", "start", "--plan", str(plan))
        assert started.exit_code == 0, started.output
        assert "scheduled (idle, next run" in started.output, started.output
        assert mirrormaker_jvms(work) == [], "nothing runs before the window opens"

        # The window opens: MirrorMaker starts on its own and mirrors.
        wait_until(lambda: mirrormaker_jvms(work), timeout=LEAD_S + 10, message="MirrorMaker started")
        assert time.time() >= opens - 1
        running = json.loads(cli("mm", "status", "--plan", str(plan), "--json").output)["deployments"][0]
        assert running["state"] == "running" and running["scheduled"]
        assert running["run_until"] == opens + RUN_S
        got = consume_partitions(lab.bootstrap(DR), f"{PRIMARY}.{unique_name}", 2, 500, timeout=RUN_S - 2)
        assert got == sent

        # The window closes: MirrorMaker stops on its own; the schedule waits for the next run.
        wait_until(lambda: not mirrormaker_jvms(work), timeout=RUN_S + 20, message="MirrorMaker stopped")
        assert time.time() >= opens + RUN_S
        status = cli("mm", "status", "--plan", str(plan), "--json")
        assert status.exit_code == 0, "a schedule between batches is fine"
        (idle,) = json.loads(status.output)["deployments"]
        assert idle["state"] == "scheduled" and idle["exit_code"] is None
        assert idle["next_run_at"] == opens + 60
        assert idle["last_run_started_at"] >= opens - 1 and idle["last_run_ended_at"] >= opens + RUN_S
        human = cli("mm", "status", "--plan", str(plan))
        assert human.exit_code == 0 and "scheduled (idle, next run" in human.output

        # The lag engine: between runs the flow is IDLE, not STOPPED, and knows its next and last run.
        engine = LagEngine(load_plan(plan), heartbeat_timeout_s=3.0)
        try:

            def idle_flow() -> bool:
                flow = engine.refresh().flows[0]
                return flow.health is Health.IDLE

            wait_until(idle_flow, timeout=15, interval=0.5, message="flow IDLE")
            flow = engine.refresh().flows[0]
            assert flow.schedule is not None and not flow.schedule.running
            assert flow.schedule.next_run == opens + 60
            assert flow.schedule.last_run is not None and opens < flow.schedule.last_run <= time.time()
            assert flow.lag_records == 0
        finally:
            engine.close()
        report = cli("status", "--plan", str(plan), "--json")
        assert report.exit_code == 0, report.output
        (reported,) = json.loads(report.output)["flows"]
        assert reported["schedule"]["next_run"] == opens + 60 and reported["health"] in ("IDLE", "OK")
    finally:
        stopped = cli("mm", "stop", "--plan", str(plan))
        assert stopped.exit_code == 0, stopped.output
        assert mirrormaker_jvms(work) == []
        after = json.loads(cli("mm", "status", "--plan", str(plan), "--json").output)["deployments"][0]
        assert after["state"] == "stopped" and not after["scheduled"]
    print(f"\ncold standby lab test: {time.monotonic() - began:.0f} s")
    assert time.monotonic() - began < 90
