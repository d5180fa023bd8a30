"""The SSH layer's pure parts: targets from the plan, known_hosts lines, messages, lazy import."""

from __future__ import annotations

import getpass
import stat
import subprocess
import sys
from pathlib import Path

import asyncssh
import pytest

from kdrtui.domain.plan import EdgeNode
from kdrtui.services.ssh import CommandResult, HostKeyChanged, SshCommandTimeout, SshTarget
from kdrtui.services.ssh.hostkeys import append_known_host, fingerprint, pinned_keys


def node(**keys: object) -> EdgeNode:
    base: dict[str, object] = {
        "name": "dr-edge-1",
        "cluster": "dr",
        "host": "10.1.0.4",
        "user": "sshuser",
        "kafka_home": "/usr/hdp/current/kafka-broker",
    }
    return EdgeNode.model_validate(base | keys)


def test_target_from_an_edge_node_expands_home() -> None:
    target = SshTarget.from_edge_node(node(port=2222, key_file="~/.ssh/id_dr", known_hosts="~/.ssh/kh"))

    assert (target.name, target.host, target.port, target.user) == ("dr-edge-1", "10.1.0.4", 2222, "sshuser")
    assert target.key_file == Path.home() / ".ssh" / "id_dr"
    assert target.known_hosts_path == Path.home() / ".ssh" / "kh"
    assert target.jump is None
    assert target.login == "sshuser@10.1.0.4:2222"


def test_target_defaults_to_the_agent_and_the_users_known_hosts() -> None:
    target = SshTarget.from_edge_node(node())

    assert target.port == 22 and target.key_file is None and target.known_hosts is None
    assert target.known_hosts_path == Path.home() / ".ssh" / "known_hosts"


@pytest.mark.parametrize(
    ("jump_host", "expected"),
    [
        ("ops@bastion.example.com:2200", ("ops", "bastion.example.com", 2200)),
        ("bastion.example.com", ("sshuser", "bastion.example.com", 22)),
        ("bastion:2022", ("sshuser", "bastion", 2022)),
    ],
)
def test_jump_host_is_parsed(jump_host: str, expected: tuple[str, str, int]) -> None:
    target = SshTarget.from_edge_node(node(jump_host=jump_host, key_file="/k", known_hosts="/kh"))

    assert target.jump is not None
    assert (target.jump.user, target.jump.host, target.jump.port) == expected
    assert target.jump.key_file == Path("/k") and target.jump.known_hosts == Path("/kh")


def test_target_user_is_keyword_only() -> None:
    target = SshTarget("n", "h", 2222, user=getpass.getuser())
    assert target.port == 2222
    with pytest.raises(TypeError):
        SshTarget("n", "h", 22, "someone")  # type: ignore[misc]


def test_command_result_ok() -> None:
    assert CommandResult("true", 0, "", "").ok
    assert not CommandResult("false", 1, "", "").ok
    assert not CommandResult("kill -9 $$", None, "", "", signal="KILL").ok


def test_messages_are_one_line_and_name_the_host() -> None:
    changed = HostKeyChanged("10.1.0.4", 22, "SHA256:old", "SHA256:new", Path("/h/known_hosts"), line=3)
    timeout = SshCommandTimeout("x" * 100 + "\nsecond line", 5, "10.1.0.4", 2222)

    assert "\n" not in str(changed) and "\n" not in str(timeout)
    assert "ssh-keygen -f /h/known_hosts -R '10.1.0.4'" in str(changed)
    assert str(timeout) == f"10.1.0.4:2222: command did not finish within 5 s and was abandoned: {'x' * 59}…"


def test_known_hosts_lines(tmp_path: Path) -> None:
    key = asyncssh.generate_private_key("ssh-ed25519")
    path = tmp_path / "new" / "known_hosts"
    path.parent.mkdir()
    path.write_text("# no newline at the end")

    append_known_host(path, "edge.example", 22, key)
    append_known_host(path, "10.1.0.4", 2222, key)

    lines = path.read_text().splitlines()
    blob = key.export_public_key("openssh").decode().split()[1]
    assert lines == [
        "# no newline at the end",
        f"edge.example ssh-ed25519 {blob}",
        f"[10.1.0.4]:2222 ssh-ed25519 {blob}",
    ]
    assert [p.line for p in pinned_keys(path, "10.1.0.4", 2222)] == [3]
    assert pinned_keys(path, "10.1.0.4", 2222)[0].fingerprint == fingerprint(key)
    assert pinned_keys(path, "other", 22) == []
    assert pinned_keys(tmp_path / "absent", "edge.example", 22) == []


def test_append_creates_private_files(tmp_path: Path) -> None:
    path = tmp_path / "a" / "b" / "known_hosts"
    append_known_host(path, "h", 22, asyncssh.generate_private_key("ssh-ed25519"))

    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700


def test_importing_the_ssh_layer_does_not_load_asyncssh() -> None:
    code = "import sys, kdrtui.services.ssh; print('asyncssh' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
