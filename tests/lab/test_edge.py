"""The lab's SSH edge node: part of `lab up`, in the plan and in `lab status`, faults, down."""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from kdrtui.commands.lab import lab_group
from kdrtui.lab import jars, process
from kdrtui.lab.edge import EDGE_NAME, SSHD, default_backend, established
from kdrtui.lab.lab import Lab
from kdrtui.services.plan_files import load_plan
from kdrtui.services.ssh import EdgeSession, SshTarget, SshUnreachable

pytestmark = pytest.mark.lab

ReservePort = Callable[[int], contextlib.AbstractContextManager[int]]


def test_the_session_lab_has_its_edge_node(lab: Lab) -> None:
    status = lab.status(topics=False)
    edge = status.edge_nodes[EDGE_NAME]

    assert edge.up and edge.pid == lab.edge.running_pid()
    assert edge.backend == default_backend() and edge.port == lab.edge.port
    assert edge.cluster == "dr"
    assert (lab.edge.kafka_home / "libs").resolve() == jars.distribution(lab.kafka_version).libs.resolve()
    assert oct(lab.edge.client_key.stat().st_mode & 0o777) == "0o600"
    assert (
        lab.edge.known_hosts.read_text() == f"[127.0.0.1]:{lab.edge.port} {lab.edge.host_public_key_line()}\n"
    )

    shown = CliRunner().invoke(lab_group, ["status", "--json"])
    assert shown.exit_code == 0, shown.output
    listed = json.loads(shown.output)["edge_nodes"][EDGE_NAME]
    assert {k: listed[k] for k in ("up", "pid", "port", "backend")} == {
        "up": True,
        "pid": edge.pid,
        "port": lab.edge.port,
        "backend": default_backend(),
    }
    human = CliRunner().invoke(lab_group, ["status"])
    assert f"{EDGE_NAME}  dr " in human.output and f"127.0.0.1:{lab.edge.port}" in human.output


def test_the_lab_plan_names_the_edge_node(lab: Lab) -> None:
    plan = load_plan(lab.plan_path)

    [node] = plan.edge_nodes_for("dr")
    assert node.name == EDGE_NAME and node.host == "127.0.0.1" and node.port == lab.edge.port
    assert node.user == lab.edge.user
    assert Path(node.key_file or "") == lab.edge.client_key.resolve()
    assert Path(node.known_hosts or "") == lab.edge.known_hosts.resolve()
    assert node.kafka_home == str(lab.edge.kafka_home.resolve())
    if "work_dir" in type(node).model_fields:
        assert node.work_dir == str(lab.edge.work_dir.resolve())
        assert lab.edge.work_dir.is_dir()
    assert SshTarget.from_edge_node(node) == SshTarget(
        EDGE_NAME,
        "127.0.0.1",
        lab.edge.port,
        user=lab.edge.user,
        key_file=lab.edge.client_key.resolve(),
        known_hosts=lab.edge.known_hosts.resolve(),
    )


async def test_kafka_is_on_the_edge_node(lab: Lab) -> None:
    node = load_plan(lab.plan_path).edge_nodes[0]
    async with EdgeSession(SshTarget.from_edge_node(node)) as session:
        found = await session.run(
            f"command -v java && ls {node.kafka_home}/libs/ | grep -c '^kafka_2.13-{lab.kafka_version}.jar$'"
        )

    assert found.ok, found.stderr
    java, count = found.stdout.split()
    assert java.endswith("/java") and count == "1"


def test_up_again_reuses_the_edge_node(lab: Lab) -> None:
    pid = lab.edge.running_pid()

    status = lab.up()

    assert status.edge_nodes[EDGE_NAME].pid == pid
    assert status.edge_nodes[EDGE_NAME].notes == ("reused",)
    again = CliRunner().invoke(lab_group, ["up"])
    assert again.exit_code == 0, again.output
    assert lab.edge.running_pid() == pid
    assert EDGE_NAME in again.output and "reused" in again.output


async def test_fault_drop_ssh(lab: Lab) -> None:
    async with EdgeSession(lab.edge.target()) as session:
        assert (await session.run("true")).ok

        dropped = CliRunner().invoke(lab_group, ["fault", "drop-ssh"])

        assert dropped.exit_code == 0, dropped.output
        assert dropped.output.startswith(f"{EDGE_NAME}: dropped ")
        assert int(dropped.output.split()[2]) >= 1
        assert (await session.run("echo back")).stdout == "back\n"


@pytest.fixture
def edge_only_lab(tmp_path: Path, reserved_port: ReservePort) -> Iterator[Lab]:
    """A lab whose Kafka clusters are never started: only its edge node is used."""
    with reserved_port(12322) as port:
        lab = Lab(tmp_path / "lab", primary_port=21092, dr_port=22092, edge_port=port)
        try:
            yield lab
        finally:
            lab.down(purge=True)


async def test_down_stops_the_edge_node_and_its_sessions(edge_only_lab: Lab) -> None:
    lab = edge_only_lab
    pid = lab.edge.start()
    env = {"KDRTUI_LAB_DIR": str(lab.home)}
    async with EdgeSession(lab.edge.target(), reconnect_attempts=2, backoff=0.05) as session:
        assert (await session.run("true")).ok

        down = CliRunner().invoke(lab_group, ["down"], env=env)

        assert down.exit_code == 0, down.output
        assert f"{EDGE_NAME}: stopped (pid {pid})" in down.output
        assert not process.is_alive(pid) and not lab.edge.pid_file.exists()
        assert established(lab.edge.port) == set()  # its sessions ended too
        with pytest.raises(SshUnreachable, match="connection refused"):
            await session.run("true")
        assert session.state == "failed"

    again = CliRunner().invoke(lab_group, ["down"], env=env)
    assert f"{EDGE_NAME}: was not running" in again.output


def test_a_stale_pid_file_is_cleaned_and_a_killed_node_restarted(edge_only_lab: Lab) -> None:
    lab = edge_only_lab
    first = lab.edge.start()
    assert lab.kill(EDGE_NAME) == first
    assert lab.edge.status().state == "stale"
    env = {"KDRTUI_LAB_DIR": str(lab.home)}
    shown = json.loads(CliRunner().invoke(lab_group, ["status", "--json"], env=env).output)
    assert shown["edge_nodes"][EDGE_NAME]["state"] == "stale"
    assert shown["edge_nodes"][EDGE_NAME]["stale_pid"] == first

    second = lab.edge.start()

    assert second != first and lab.edge.status().up
    assert lab.edge.start() == second  # idempotent


def test_the_backend_can_be_switched(edge_only_lab: Lab) -> None:
    if not SSHD.exists():
        pytest.skip(f"{SSHD} not found: install openssh-server to test the sshd edge node backend")
    lab = edge_only_lab
    lab.edge.backend = "asyncssh"
    lab.edge.start()
    assert lab.edge.status().backend == "asyncssh"

    lab.edge.backend = "sshd"
    pid = lab.edge.start()

    status = lab.edge.status()
    assert (status.backend, status.pid) == ("sshd", pid)
    assert os.path.exists(lab.edge.sshd_config)
