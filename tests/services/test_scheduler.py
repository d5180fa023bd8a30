"""The cold-standby scheduler script, run for real with /bin/sh: batches start and stop on the schedule.

Schedule minutes are scaled to one or two seconds (what ``KDRTUI_SCHEDULE_MINUTE_SECONDS`` does), and the
supervised "MirrorMaker" is a small Python process whose command line names the run directory.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from kdrtui.domain.mirrormaker import MmState, parse_probe
from kdrtui.domain.mirrormaker_deployment import schedule_conf
from kdrtui.domain.plan import Schedule
from kdrtui.domain.schedule import Batches
from kdrtui.services.mirrormaker.node_scripts import (
    schedule_awk,
    scheduler_script,
    status_probe,
    supervisor_script,
)

WaitUntil = Callable[..., float]


class Scheduled:
    """A run directory with the supervisor, the scheduler and a schedule; kills what it started."""

    def __init__(self, run_dir: Path, batches: Batches) -> None:
        self.run_dir = run_dir
        self.started: list[subprocess.Popen[bytes]] = []
        run_dir.mkdir(parents=True)
        (run_dir / "supervise.sh").write_text(supervisor_script(), encoding="utf-8")
        (run_dir / "schedule.sh").write_text(scheduler_script(), encoding="utf-8")
        (run_dir / "schedule.conf").write_text(schedule_conf(batches, "mm2-dr"), encoding="utf-8")
        (run_dir / "schedule.awk").write_text(schedule_awk(), encoding="utf-8")

    def child(self, *, fail: bool = False) -> list[str]:
        """A stand-in for MirrorMaker: counts its starts in ``starts``, then sleeps (or fails at once)."""
        code = (
            "import pathlib, sys, time\n"
            "p = pathlib.Path(sys.argv[1], 'starts')\n"
            "p.write_text(str(int(p.read_text() if p.exists() else '0') + 1))\n"
            + ("sys.exit(3)\n" if fail else "time.sleep(300)\n")
        )
        # "MirrorMaker" in its command line: the status probe looks for it.
        return [sys.executable, "-c", code, str(self.run_dir), "MirrorMaker"]

    def start(self, *argv: str, once: bool = False) -> subprocess.Popen[bytes]:
        extra = ["--once"] if once else []
        proc = subprocess.Popen(
            ["/bin/sh", str(self.run_dir / "schedule.sh"), str(self.run_dir), *extra, "--", *argv],
            start_new_session=True,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        self.started.append(proc)
        return proc

    def read(self, name: str) -> str | None:
        try:
            return (self.run_dir / name).read_text(encoding="utf-8").strip()
        except FileNotFoundError:
            return None

    def number(self, name: str) -> int | None:
        text = self.read(name)
        return int(text) if text else None

    def status(self) -> object:
        out = subprocess.run(
            ["/bin/sh", "-c", status_probe(str(self.run_dir))], capture_output=True, text=True
        )
        return parse_probe("edge", "mm2-dr", out.stdout)

    def cleanup(self) -> None:
        for proc in self.started:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=10)


def batches(every: int, run: int, seconds: int) -> Batches:
    return Batches.of(Schedule(every_minutes=every, run_minutes=run), minute_seconds=seconds)


@pytest.fixture
def make(tmp_path: Path) -> Iterator[Callable[[Batches], Scheduled]]:
    made: list[Scheduled] = []

    def build(b: Batches) -> Scheduled:
        made.append(Scheduled(tmp_path / "mm" / f"mm2-dr-{len(made)}", b))
        return made[-1]

    yield build
    for s in made:
        s.cleanup()


def wait_for_phase(b: Batches, *, idle_for: float) -> None:
    """Wait until the schedule is idle with at least ``idle_for`` s before the next batch."""
    while True:
        now = time.time()
        following = b.next_start(now)
        assert following is not None
        if b.window_at(now) is None and following - now >= idle_for:
            return
        time.sleep(0.1)


def test_batches_start_and_stop_on_the_schedule(
    make: Callable[[Batches], Scheduled], wait_until: WaitUntil
) -> None:
    b = batches(4, 2, 2)  # 4 s batches every 8 s
    wait_for_phase(b, idle_for=2.5)
    sch = make(b)
    first = b.next_start(time.time())
    assert first is not None
    proc = sch.start(*sch.child())
    wait_until(
        lambda: sch.number("next_run_at") == first, timeout=5, message="next_run_at written while idle"
    )
    status = sch.status()
    assert status.state is MmState.SCHEDULED and status.scheduled and status.next_run_at == first
    assert status.schedule_text() is not None and "idle, next run" in status.schedule_text()

    wait_until(lambda: sch.read("starts") == "1", timeout=10, message="the first batch started")
    assert abs(time.time() - first) < 2.5, "on time"
    running = sch.status()
    assert running.state is MmState.RUNNING and running.run_until == first + 4
    assert "running, until" in (running.schedule_text() or "")
    assert sch.number("last_run_started_at") is not None
    assert abs((sch.number("last_run_started_at") or 0) - first) <= 1

    # The window closes: SIGTERM, as `mm stop` does; the state says idle with the next batch.
    wait_until(lambda: sch.read("mm.pid") is None and sch.number("last_run_ended_at"), timeout=10)
    ended = sch.number("last_run_ended_at") or 0
    assert first + 4 <= ended <= first + 6
    assert sch.read("exit_code") == "143" and sch.read("stop_requested") == ""
    idle = sch.status()
    assert idle.state is MmState.SCHEDULED and idle.exit_code is None, "a batch stopped on time is no crash"
    assert idle.next_run_at == first + 8

    wait_until(lambda: sch.read("starts") == "2", timeout=10, message="the next batch started")
    log = sch.read("mm.log") or ""
    assert log.count("batch started") == 2 and "window closed: stopping the batch" in log

    # SIGTERM to the scheduler stops the batch and the schedule.
    os.kill(proc.pid, signal.SIGTERM)
    assert proc.wait(timeout=40) == 0
    assert sch.read("scheduler.pid") is None and sch.read("mm.pid") is None
    assert not (sch.run_dir / "schedule.lock").exists()
    assert sch.status().state is MmState.STOPPED


def test_a_second_scheduler_is_refused(make: Callable[[Batches], Scheduled], wait_until: WaitUntil) -> None:
    sch = make(batches(60, 30, 60))
    first = sch.start(*sch.child())
    wait_until(lambda: sch.read("scheduler.pid") is not None, timeout=5)
    second = sch.start(*sch.child())
    assert second.wait(timeout=10) == 75
    assert "already runs here" in (sch.read("mm.log") or "")
    os.kill(first.pid, signal.SIGTERM)
    assert first.wait(timeout=20) == 0


def test_once_runs_the_open_window_and_exits(make: Callable[[Batches], Scheduled]) -> None:
    b = batches(4, 2, 2)
    wait_for_phase(b, idle_for=2.5)
    idle = make(b)
    assert idle.start(*idle.child(), once=True).wait(timeout=10) == 0, "between batches: exits at once"
    assert idle.read("starts") is None and idle.number("next_run_at") == b.next_start(time.time())

    while b.window_at(time.time()) is None:
        time.sleep(0.1)
    window = b.window_at(time.time())
    assert window is not None
    sch = make(b)
    proc = sch.start(*sch.child(), once=True)
    assert proc.wait(timeout=15) == 0
    assert sch.read("starts") == "1"
    assert time.time() >= window.end
    assert sch.read("scheduler.pid") is None and sch.read("mm.pid") is None


def test_a_failing_batch_is_tried_again_in_its_window(
    make: Callable[[Batches], Scheduled], wait_until: WaitUntil
) -> None:
    # A cron "minute" of 1 s: a 25 s window opening this very second (of each real minute).
    opens = (int(time.time()) + 1) % 60
    b = Batches.of(Schedule(cron=f"{opens} * * * *", run_minutes=25), minute_seconds=1)
    sch = make(b)
    while b.window_at(time.time()) is None:
        time.sleep(0.1)
    proc = sch.start(*sch.child(fail=True))
    wait_until(lambda: sch.read("starts") == "2", timeout=20, message="tried again 10 s later")
    time.sleep(0.5)
    assert "batch ended early: MirrorMaker exit code 3" in (sch.read("mm.log") or "")
    status = sch.status()
    assert status.state is MmState.SCHEDULED and status.exit_code == 3, "the failed batch shows"
    os.kill(proc.pid, signal.SIGTERM)
    assert proc.wait(timeout=20) == 0
    assert sch.read("starts") == "2"
