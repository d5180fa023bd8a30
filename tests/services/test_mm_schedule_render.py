"""Cold standby on edge nodes, composed but not run: the scheduled deployment's files and start command,
the systemd timer and batch unit, the status of a scheduled deployment, and the manager's systemd branch
(no machine here runs systemd as PID 1; the setsid branch runs for real in tests/integration)."""

from __future__ import annotations

from typing import Any

import pytest

from kdrtui.domain.mirrormaker import MmState, parse_probe
from kdrtui.domain.mirrormaker_deployment import deployment_schedule, render_deployment
from kdrtui.domain.mirrormaker_render import RenderError
from kdrtui.domain.mirrormaker_systemd import (
    on_calendar,
    systemd_batch_unit,
    systemd_timer,
    timer_name,
    unit_name,
)
from kdrtui.domain.plan import Schedule
from kdrtui.domain.schedule import Batches, parse_cron
from kdrtui.services.mirrormaker.manager import MirrorMakerManager
from kdrtui.services.mirrormaker.node_scripts import run_dir_scripts
from kdrtui.services.plan_files import load_plan
from tests.samples import GOOD, scheduled_plan
from tests.services.fakes import ScriptedNode

HOURLY = Schedule(every_minutes=60, run_minutes=15)


def test_a_scheduled_deployment_gets_the_scheduler_and_its_schedule() -> None:
    plan = scheduled_plan(HOURLY)
    (dep,) = render_deployment(plan, plan.edge_nodes[0], home="/home/sshuser", scripts=run_dir_scripts())
    assert dep.schedule == Batches.of(HOURLY)
    assert {"schedule.sh", "schedule.conf", "schedule.awk", "supervise.sh"} <= set(dep.files)
    conf = dep.files["schedule.conf"]
    assert "every_minutes=60\n" in conf and "run_minutes=15\n" in conf and "minute_seconds=60\n" in conf
    assert "every 60 min for 15 min" in conf
    assert f"setsid nohup sh {dep.run_dir}/schedule.sh {dep.run_dir} -- java " in dep.start_command

    (always,) = render_deployment(
        load_plan(GOOD), plan.edge_nodes[0], home="/home/sshuser", scripts=run_dir_scripts()
    )
    assert always.schedule is None and "schedule.sh" not in always.files
    assert f"sh {always.run_dir}/supervise.sh {always.run_dir} -- java " in always.start_command


def test_the_test_hook_scales_the_rendered_minute() -> None:
    plan = scheduled_plan(HOURLY)
    (dep,) = render_deployment(
        plan, plan.edge_nodes[0], home="/h", minute_seconds=2, scripts=run_dir_scripts()
    )
    assert "minute_seconds=2\n" in dep.files["schedule.conf"]


def test_cron_is_rendered_as_value_lists() -> None:
    plan = scheduled_plan(Schedule(cron="*/20 8-10 * * mon-fri", run_minutes=10))
    (dep,) = render_deployment(plan, plan.edge_nodes[0], home="/h", scripts=run_dir_scripts())
    conf = dep.files["schedule.conf"]
    assert "cron_minutes=0,20,40\n" in conf and "cron_hours=8,9,10\n" in conf
    assert (
        "cron_weekdays=1,2,3,4,5\n" in conf and "cron_days_star=1\n" in conf and "every_minutes=0\n" in conf
    )


def test_flows_of_one_mirrormaker_must_share_a_schedule() -> None:
    plan = load_plan(GOOD)
    one = plan.flows[0].model_copy(update={"schedule": HOURLY})
    other = plan.flows[0].model_copy(update={"source": "x", "schedule": None})
    with pytest.raises(RenderError, match="need the same"):
        deployment_schedule("mm2-dr", [one, other])
    assert deployment_schedule("mm2-dr", [one, one.model_copy(update={"source": "x"})]) == Batches.of(HOURLY)


@pytest.mark.parametrize(
    ("batches", "expected"),
    [
        (Batches(15, every_minutes=60), ["*-*-* *:00:00 UTC"]),
        (Batches(5, every_minutes=15), ["*-*-* *:00,15,30,45:00 UTC"]),
        (
            Batches(30, every_minutes=90),
            ["*-*-* 00,03,06,09,12,15,18,21:00:00 UTC", "*-*-* 01,04,07,10,13,16,19,22:30:00 UTC"],
        ),
        (Batches(60, every_minutes=1440), ["*-*-* 00:00:00 UTC"]),
        (Batches(60, every_minutes=10080), ["Thu *-*-* 00:00:00 UTC"]),
        (Batches(3, every_minutes=7), ["*-*-* *:*:00 UTC"]),
        (Batches(30, cron=parse_cron("30 2 * * *")), ["*-*-* 02:30:00 UTC"]),
        (
            Batches(10, cron=parse_cron("*/20 8-10 * jan,jul mon-fri")),
            ["Mon,Tue,Wed,Thu,Fri *-01,07-* 08,09,10:00,20,40:00 UTC"],
        ),
        (Batches(60, cron=parse_cron("0 0 13 * fri")), ["Fri *-*-* 00:00:00 UTC", "*-*-13 00:00:00 UTC"]),
        (Batches(60, cron=parse_cron("0 0 */10 * sun")), ["Sun *-*-01,11,21,31 00:00:00 UTC"]),
    ],
)
def test_on_calendar(batches: Batches, expected: list[str]) -> None:
    assert on_calendar(batches) == expected


def test_timer_and_batch_unit() -> None:
    batches = Batches.of(HOURLY)
    timer = systemd_timer("mm2-dr", batches)
    assert timer_name("mm2-dr") == "kdrtui-mm-mm2-dr.timer"
    assert "OnCalendar=*-*-* *:00:00 UTC\n" in timer
    assert "AccuracySec=1s\n" in timer and "Persistent=false\n" in timer
    assert "Unit=kdrtui-mm-mm2-dr.service\n" in timer and "WantedBy=timers.target" in timer
    unit = systemd_batch_unit(
        "mm2-dr", "/w/mm/mm2-dr", ["java", "-cp", "/k/libs/*", "Main"], batches, user="u"
    )
    assert (
        'ExecStart=/bin/sh /w/mm/mm2-dr/schedule.sh /w/mm/mm2-dr --once -- java -cp "/k/libs/*" Main\n'
        in unit
    )
    assert f"RuntimeMaxSec={15 * 60 + 120}\n" in unit
    assert "User=u\n" in unit and "Restart=" not in unit and "[Install]" not in unit
    assert "KillMode=mixed" in unit and "SuccessExitStatus=143" in unit


def test_status_of_a_scheduled_deployment() -> None:
    idle = parse_probe(
        "edge",
        "mm2-dr",
        "deployed=1\nscheduler.pid=77\nnext_run_at=1795640400\nlast_run_started_at=1795636800\n"
        "last_run_ended_at=1795637700\nexit_code=143\nstop_requested=\nscheduler=1\nnow=1795639000\n---log---\n",
    )
    assert idle.state is MmState.SCHEDULED and idle.active and idle.scheduled
    assert idle.schedule_text() == "scheduled (idle, next run 21:00 UTC)"
    assert idle.exit_code is None and idle.last_run_ended_at == 1795637700
    data = idle.to_dict()
    assert data["state"] == "scheduled" and data["next_run_at"] == 1795640400 and data["run_until"] is None

    running = parse_probe(
        "edge",
        "mm2-dr",
        "deployed=1\nscheduler.pid=77\nmm.pid=88\nstarted_at=1795640400\nrun_until=1795641300\n"
        "next_run_at=1795644000\nalive=1\nscheduler=1\nnow=1795640460\n---log---\n",
    )
    assert running.state is MmState.RUNNING and running.pid == 88
    assert running.schedule_text() == "scheduled (running, until 21:15 UTC)"

    timer = parse_probe("edge", "mm2-dr", "deployed=1\nnext_run_at=1795640400\ntimer=1\nnow=1\n---log---\n")
    assert timer.state is MmState.SCHEDULED, "a systemd timer between batches"

    crashed = parse_probe("edge", "mm2-dr", "deployed=1\nexit_code=1\nscheduler=1\nnow=1\n---log---\n")
    assert crashed.state is MmState.SCHEDULED and crashed.exit_code == 1

    off = parse_probe(
        "edge", "mm2-dr", "deployed=1\nnext_run_at=1795640400\nexit_code=143\nstop_requested=\n---log---\n"
    )
    assert off.state is MmState.STOPPED and not off.scheduled and off.schedule_text() is None


class ScheduledNode(ScriptedNode):
    """An HDInsight-like node with systemd: `systemctl start` of the timer turns the schedule on."""

    async def run(self, command: str, **kwargs: Any) -> Any:
        if command.startswith("d=") and self.running:
            self.commands.append(command)
            out = "deployed=1\nnext_run_at=1795640400\ntimer=1\nnow=160\n---log---\n"
            return type("Result", (), {"stdout": out, "exit_status": 0})()
        return await super().run(command, **kwargs)


async def test_start_and_stop_a_schedule_through_a_systemd_timer() -> None:
    plan = scheduled_plan(HOURLY)
    node = ScheduledNode()
    manager = MirrorMakerManager(plan, session_factory=lambda _n: node)  # type: ignore[arg-type,return-value]
    (edge,) = manager.nodes()
    (dep,) = await manager.deployments(edge)
    said: list[str] = []
    status = await manager.start(dep, said.append)
    assert status.state is MmState.SCHEDULED
    assert said[-1].endswith(": mm2-dr scheduled (idle, next run 21:00 UTC)")
    unit, timer = unit_name("mm2-dr"), timer_name("mm2-dr")
    assert "--once --" in node.uploads[f"{dep.run_dir}/{unit}"]
    assert "OnCalendar=*-*-* *:00:00 UTC" in node.uploads[f"{dep.run_dir}/{timer}"]
    (launch,) = [c for c in node.commands if "systemctl start" in c]
    assert f"install -m 0644 {dep.run_dir}/{unit} {dep.run_dir}/{timer} /etc/systemd/system/" in launch
    assert launch.index(f"systemctl start {timer}") < launch.index(f"systemctl start {unit}")
    assert f"> {dep.run_dir}/timer_unit" in launch and "setsid" not in launch

    again: list[str] = []
    await manager.start(dep, again.append)
    assert any("already scheduled (idle" in m for m in again)

    await manager.stop(dep)
    (stop,) = [c for c in node.commands if "systemctl stop" in c]
    assert stop.index(f"systemctl stop {timer}") < stop.index(f"systemctl stop {unit}")
