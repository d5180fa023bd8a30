"""The alert hook: which health changes are reported, how they are logged, and the command it runs."""

from __future__ import annotations

import logging
import stat
from pathlib import Path

import pytest

from kdrtui.domain.lag import Health
from kdrtui.services.alerts import AlertHook, HealthChange, health_changes
from tests.tui.fakes import snapshot, topic


def test_first_snapshot_reports_only_what_is_not_ok() -> None:
    current = snapshot(topic("orders"), topic("payments", Health.WARN, lag=60, lag_s=40.0))
    assert health_changes(None, current) == [
        HealthChange("primary->dr", None, None, Health.WARN, 60, 40.0),
        HealthChange("primary->dr", "payments", None, Health.WARN, 60, 40.0),
    ]
    assert health_changes(None, snapshot(topic("orders"))) == []


def test_changes_between_snapshots_flows_first() -> None:
    before = snapshot(topic("orders"), topic("payments", Health.WARN, lag=60, lag_s=40.0))
    after = snapshot(topic("orders", Health.CRIT, lag=900, lag_s=150.0), topic("payments"))
    assert health_changes(before, after) == [
        HealthChange("primary->dr", None, Health.WARN, Health.CRIT, 900, 150.0),
        HealthChange("primary->dr", "orders", Health.OK, Health.CRIT, 900, 150.0),
        HealthChange("primary->dr", "payments", Health.WARN, Health.OK, 0, 0.0),
    ]
    assert health_changes(after, after) == []


def test_a_scheduled_flow_going_idle_and_back_raises_no_alert() -> None:
    running = snapshot(topic("orders"))
    idle = snapshot(topic("orders", Health.IDLE), heartbeat=None)
    assert health_changes(running, idle) == []
    assert health_changes(idle, running) == []
    assert health_changes(None, idle) == []
    late = snapshot(topic("orders", Health.WARN, lag=60, lag_s=5000.0), heartbeat=None)
    assert [c.new for c in health_changes(idle, late)] == [Health.WARN, Health.WARN]
    assert [c.new for c in health_changes(late, idle)] == [Health.IDLE, Health.IDLE], "back to fine is told"


def test_new_topic_and_vanished_topic() -> None:
    before = snapshot(topic("orders"), topic("gone", Health.CRIT, lag=5, lag_s=200.0))
    after = snapshot(topic("orders"), topic("fresh", Health.STALLED, lag=7, lag_s=9.0))
    changes = health_changes(before, after)
    assert HealthChange("primary->dr", "fresh", None, Health.STALLED, 7, 9.0) in changes
    assert all(c.topic != "gone" for c in changes)


def test_hook_logs_one_line_per_change(caplog: pytest.LogCaptureFixture) -> None:
    hook = AlertHook(None)
    with caplog.at_level(logging.INFO, logger="kdrtui.alerts"):
        changes = hook(snapshot(topic("orders")), snapshot(topic("orders", Health.CRIT, lag=9, lag_s=130.0)))
    assert len(changes) == 2
    lines = [r.getMessage() for r in caplog.records if r.name == "kdrtui.alerts"]
    assert lines == [
        "health primary->dr: OK -> CRIT (9 records, 130.0 s)",
        "health primary->dr/orders: OK -> CRIT (9 records, 130.0 s)",
    ]


def test_hook_runs_the_command_with_the_change_in_its_environment(tmp_path: Path) -> None:
    out = tmp_path / "env.txt"
    script = tmp_path / "alert.sh"
    script.write_text(f"#!/bin/sh\nenv | grep '^KDRTUI_ALERT_' | sort >> {out}\necho --- >> {out}\n")
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    AlertHook(str(script))(
        snapshot(topic("orders", Health.WARN, lag=60, lag_s=40.0)),
        snapshot(topic("orders", Health.STOPPED, lag=61, lag_s=41.25), heartbeat=None),
    )
    blocks = out.read_text().split("---\n")
    assert blocks[1].splitlines() == [
        "KDRTUI_ALERT_FLOW=primary->dr",
        "KDRTUI_ALERT_LAG_RECORDS=61",
        "KDRTUI_ALERT_LAG_SECONDS=41.2",
        "KDRTUI_ALERT_NEW=STOPPED",
        "KDRTUI_ALERT_OLD=WARN",
        "KDRTUI_ALERT_TOPIC=orders",
    ]
    assert "KDRTUI_ALERT_TOPIC=\n" in blocks[0]


def test_a_failing_command_is_logged_not_raised(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger="kdrtui.alerts"):
        AlertHook("echo nope >&2; exit 3")(None, snapshot(topic("orders", Health.CRIT, lag=1, lag_s=200.0)))
    errors = [r.getMessage() for r in caplog.records if r.levelno == logging.ERROR]
    assert len(errors) == 2 and "exited 3" in errors[0] and "nope" in errors[0]
