"""A separate small lab (own directory, own ports) for down, stale pid files and purge.

The session lab stays up for everyone else; this one is brought up and torn down here.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import subprocess
from collections.abc import Callable, Iterator

import pytest
from click.testing import CliRunner

from kdrtui.commands.lab import lab_group
from kdrtui.lab import process
from kdrtui.lab.lab import DR, PRIMARY, Lab

pytestmark = pytest.mark.lab

ReservePorts = Callable[[int, int], contextlib.AbstractContextManager[tuple[int, int]]]


@pytest.fixture(scope="module")
def small_lab(tmp_path_factory: pytest.TempPathFactory, reserved_ports: ReservePorts) -> Iterator[Lab]:
    if shutil.which("java") is None:
        pytest.skip("java not found on PATH: the lab runs real Apache Kafka on Java 17+")
    with reserved_ports(18092, 28092) as (primary, dr):
        lab = Lab(tmp_path_factory.mktemp("small-lab"), primary_port=primary, dr_port=dr)
        try:
            yield lab
        finally:
            lab.down(purge=True)


def dead_pid() -> int:
    """The pid of a process that has exited (and been reaped)."""
    child = subprocess.Popen(["true"])
    child.wait()
    return child.pid


def test_down_stops_both_brokers_and_removes_pid_files(small_lab: Lab) -> None:
    small_lab.up()
    pids = [small_lab.pid(PRIMARY), small_lab.pid(DR)]
    assert all(pids)

    small_lab.down()

    for alias, pid in zip((PRIMARY, DR), pids, strict=True):
        assert pid is not None and not process.is_alive(pid), alias
        assert not small_lab.cluster(alias).pid_file.exists()
        assert small_lab.cluster(alias).is_formatted()  # down keeps the data
    status = small_lab.status()
    assert [c.state for c in status.clusters.values()] == ["down", "down"]
    assert all(c.topics is None for c in status.clusters.values())


def test_stale_pid_files_are_reported_and_cleaned_by_up(small_lab: Lab) -> None:
    small_lab.down()
    gone = dead_pid()
    process.write_pid(small_lab.cluster(PRIMARY).pid_file, gone)
    # A live pid that is not a broker (this test process): pid reuse by another program.
    process.write_pid(small_lab.cluster(DR).pid_file, os.getpid())
    env = {"KDRTUI_LAB_DIR": str(small_lab.home)}
    runner = CliRunner()

    shown = runner.invoke(lab_group, ["status", "--json"], env=env)

    assert shown.exit_code == 0, shown.output
    clusters = json.loads(shown.output)["clusters"]
    assert clusters[PRIMARY]["up"] is False and clusters[PRIMARY]["stale_pid"] == gone
    assert clusters[DR]["up"] is False and clusters[DR]["stale_pid"] == os.getpid()
    assert clusters[PRIMARY]["state"] == clusters[DR]["state"] == "stale"
    human = runner.invoke(lab_group, ["status"], env=env)
    assert human.exit_code == 0 and f"stale (pid {gone})" in human.output

    started = runner.invoke(lab_group, ["up"], env=env)

    assert started.exit_code == 0, started.output
    assert f"primary: stale pid file removed (pid {gone}" in started.output
    assert f"dr: stale pid file removed (pid {os.getpid()}" in started.output
    assert small_lab.bootstrap(PRIMARY) in started.output  # the ports came from lab.json
    for alias in (PRIMARY, DR):
        pid = small_lab.pid(alias)
        assert pid is not None and pid not in (gone, os.getpid())
    assert process.is_alive(os.getpid())  # the "reused" pid was only un-recorded, never signalled


def test_down_purge_deletes_the_lab(small_lab: Lab) -> None:
    small_lab.up()
    homes = [small_lab.cluster(alias).home for alias in (PRIMARY, DR)]
    assert small_lab.plan_path.exists() and small_lab.state_path.exists()

    result = CliRunner().invoke(lab_group, ["down", "--purge"], env={"KDRTUI_LAB_DIR": str(small_lab.home)})

    assert result.exit_code == 0, result.output
    assert "primary: stopped" in result.output and "dr: stopped" in result.output
    assert not any(home.exists() for home in homes)
    assert not small_lab.plan_path.exists() and not small_lab.state_path.exists()
    assert small_lab.home.exists()  # only what the lab wrote is removed
    assert [c.state for c in small_lab.status().clusters.values()] == ["down", "down"]
