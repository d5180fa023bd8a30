"""`kdrtui lab fault kill-broker|stop-edge|restore`: failover rehearsal faults on the session lab.

Every test leaves the shared session lab fully up (``restore`` in ``finally``): later tests use it.
"""

from __future__ import annotations

import socket
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from kdrtui.commands.lab import lab_group
from kdrtui.domain.mirrormaker_deployment import SUPERVISOR, start_command
from kdrtui.lab import process
from kdrtui.lab.edge import EDGE_NAME, LabEdgeNode
from kdrtui.lab.lab import DR, Lab
from kdrtui.services.mirrormaker.node_scripts import supervisor_script
from kdrtui.services.ssh import EdgeSession, SshUnreachable

pytestmark = pytest.mark.lab

WaitUntil = Callable[..., float]


def _fault(*args: str) -> Result:
    # KDRTUI_LAB_DIR points at the session lab for the whole session (the `lab` fixture sets it).
    return CliRunner().invoke(lab_group, ["fault", *args])


def _reachable(bootstrap: str) -> bool:
    host, port = bootstrap.rsplit(":", 1)
    try:
        with socket.create_connection((host, int(port)), timeout=1.0):
            return True
    except OSError:
        return False


@pytest.fixture
def restored_lab(lab: Lab) -> Iterator[Lab]:
    """The session lab, brought fully back up after the test whatever it broke."""
    try:
        yield lab
    finally:
        lab.restore()
        assert lab.missing() == ()


def test_kill_broker_dr_then_restore(restored_lab: Lab, wait_until: WaitUntil) -> None:
    lab = restored_lab
    pid = lab.pid(DR)
    assert pid is not None

    killed = _fault("kill-broker", "dr")

    assert killed.exit_code == 0, killed.output
    assert killed.output == f"dr: broker killed (pid {pid}); {lab.bootstrap(DR)} is unreachable\n"
    assert not process.is_alive(pid)
    status = lab.status(topics=False)
    assert not status.clusters[DR].up and status.clusters["primary"].up
    # The JVM's pid is gone (a zombie) before all its threads are, and with them its listening socket.
    wait_until(lambda: not _reachable(lab.bootstrap(DR)), timeout=30, message="dr's port closed")
    assert lab.missing() == (DR,)

    again = _fault("kill-broker", "dr")
    assert again.exit_code == 0 and again.output == "dr: broker was not running; nothing to kill\n"

    restored = _fault("restore")

    assert restored.exit_code == 0, restored.output
    assert restored.output.splitlines()[-1] == "restored: dr"
    assert "primary" not in restored.output.splitlines()[-1]
    wait_until(lambda: lab.status(topics=False).clusters[DR].up, timeout=60, message="dr up again")
    wait_until(lambda: lab.status().clusters[DR].topics is not None, timeout=60, message="dr answers")
    assert lab.pid(DR) != pid


async def test_stop_edge_refuses_ssh_then_restore(restored_lab: Lab, wait_until: WaitUntil) -> None:
    lab = restored_lab
    pid = lab.edge.running_pid()
    assert pid is not None
    async with EdgeSession(lab.edge.target()) as session:
        assert (await session.run("true")).ok

    stopped = _fault("stop-edge")

    assert stopped.exit_code == 0, stopped.output
    assert stopped.output == (
        f"{EDGE_NAME}: SSH server stopped (pid {pid}); SSH to 127.0.0.1:{lab.edge.port} is refused\n"
    )
    assert not lab.status(topics=False).edge_nodes[EDGE_NAME].up
    assert lab.missing() == (EDGE_NAME,)
    with pytest.raises(SshUnreachable, match="connection refused"):
        async with EdgeSession(lab.edge.target(), reconnect_attempts=1, backoff=0.05) as refused:
            await refused.run("true")
    again = _fault("stop-edge")
    assert again.exit_code == 0 and "was not running" in again.output

    restored = _fault("restore")

    assert restored.exit_code == 0, restored.output
    assert restored.output.splitlines()[-1] == f"restored: {EDGE_NAME}"
    wait_until(lambda: lab.edge.status().up, timeout=30, message="edge node up again")
    async with EdgeSession(lab.edge.target()) as session:
        assert (await session.run("echo back")).stdout == "back\n"


def test_restore_with_nothing_down_says_so(lab: Lab) -> None:
    assert lab.missing() == ()
    pids = (lab.pid("primary"), lab.pid(DR), lab.edge.running_pid())

    result = _fault("restore")

    assert result.exit_code == 0, result.output
    assert result.output == f"nothing to restore: primary, dr, {EDGE_NAME} are up\n"
    assert (lab.pid("primary"), lab.pid(DR), lab.edge.running_pid()) == pids


@pytest.mark.parametrize(
    ("target", "says"),
    [
        ("tertiary", "'tertiary': the lab's clusters are primary, dr"),
        ("dr:2", "'dr:2': dr has broker 1"),
        ("dr:x", "'dr:x': dr has broker 1"),
    ],
)
def test_an_unknown_cluster_or_broker_is_a_usage_error(lab: Lab, target: str, says: str) -> None:
    result = _fault("kill-broker", target)

    assert result.exit_code == 2
    assert f"Invalid value for target: {says}" in result.output
    assert lab.missing() == ()


@pytest.mark.parametrize("args", [["kill-broker", "dr"], ["stop-edge"], ["restore"]], ids=" ".join)
def test_no_lab_set_up(tmp_path: Path, args: list[str]) -> None:
    home = tmp_path / "nolab"
    result = CliRunner().invoke(lab_group, ["fault", *args], env={"KDRTUI_LAB_DIR": str(home)})

    assert result.exit_code == 1
    assert result.output == (
        f"kdrtui lab: there is no lab in {home} yet; start the lab with `kdrtui lab up`\n"
    )
    assert not home.exists()


async def test_mirrormaker_survives_its_edge_node_stopping(
    edge_node: LabEdgeNode, tmp_path: Path, wait_until: WaitUntil
) -> None:
    """Each backend: a supervisor started over SSH as `kdrtui mm start` does outlives the SSH server."""
    run_dir = edge_node.work_dir / "mm" / f"fault-test-{tmp_path.name}"
    run_dir.mkdir(parents=True)
    (run_dir / SUPERVISOR).write_text(supervisor_script(), encoding="utf-8")
    # Stands in for the MirrorMaker JVM: sleeps until stopped; its command line names its run directory.
    argv = ["python3", "-c", "import sys, time; time.sleep(600)", str(run_dir)]
    supervisor = mm = None
    try:
        async with EdgeSession(edge_node.target()) as session:
            started = await session.run(start_command(str(run_dir), argv), timeout=15)
            assert started.ok, started.stderr
        wait_until(lambda: process.read_pid(run_dir / "mm.pid"), timeout=15, message="mm.pid written")
        supervisor = process.read_pid(run_dir / "supervisor.pid")
        mm = process.read_pid(run_dir / "mm.pid")
        assert supervisor is not None and mm is not None

        assert edge_node.stop() is not None

        assert not edge_node.status().up
        assert process.is_alive(supervisor) and process.is_alive(mm), "MirrorMaker died with its SSH server"
    finally:
        edge_node.start()
        (run_dir / "stop_requested").touch()
        for pid in (mm, supervisor):
            if pid is not None:
                process.terminate(pid, 10)
