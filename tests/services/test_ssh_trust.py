"""Host keys and authentication against real SSH servers (both edge node backends).

Each test points a copy of the node's target at its own known_hosts or key file, so the node's own
files are never changed.
"""

from __future__ import annotations

import dataclasses
import shutil
import socket
import stat
import subprocess
import time
from pathlib import Path

import asyncssh
import pytest

from kdrtui.lab.edge import LabEdgeNode
from kdrtui.services.ssh import (
    EdgeSession,
    HostKeyChanged,
    HostKeyUnknown,
    KeyPassphraseNeeded,
    SshAuthFailed,
    SshTarget,
    SshUnreachable,
)

pytestmark = pytest.mark.lab


def ssh_keygen_fingerprint(public_key: Path) -> str:
    """``SHA256:...`` as OpenSSH's own ``ssh-keygen -lf`` prints it."""
    if shutil.which("ssh-keygen") is None:
        pytest.skip("ssh-keygen not found: install openssh-client")
    out = subprocess.run(["ssh-keygen", "-lf", str(public_key)], capture_output=True, text=True, check=True)
    return out.stdout.split()[1]


def with_known_hosts(node: LabEdgeNode, path: Path) -> SshTarget:
    return dataclasses.replace(node.target(), known_hosts=path)


async def test_unknown_host_is_refused_with_its_fingerprint(edge_node: LabEdgeNode, tmp_path: Path) -> None:
    known_hosts = tmp_path / "ssh" / "known_hosts"
    session = EdgeSession(with_known_hosts(edge_node, known_hosts))

    with pytest.raises(HostKeyUnknown) as unknown:
        await session.connect()

    expected = ssh_keygen_fingerprint(edge_node.host_key.with_suffix(".pub"))
    assert unknown.value.fingerprint == expected
    assert unknown.value.key_type == "ssh-ed25519"
    assert (unknown.value.host, unknown.value.port) == ("127.0.0.1", edge_node.port)
    assert f"127.0.0.1:{edge_node.port}" in str(unknown.value) and expected in str(unknown.value)
    assert session.state == "failed" and session.last_error == str(unknown.value)
    assert not known_hosts.exists()


async def test_an_accepted_host_key_is_pinned_and_not_asked_again(
    edge_node: LabEdgeNode, tmp_path: Path
) -> None:
    known_hosts = tmp_path / "ssh" / "known_hosts"
    asked: list[tuple[str, int, str, str]] = []

    async def accept(host: str, port: int, key_type: str, fingerprint: str) -> bool:
        asked.append((host, port, key_type, fingerprint))
        return True

    async with EdgeSession(with_known_hosts(edge_node, known_hosts), on_unknown_host=accept) as session:
        assert (await session.run("true")).ok

    expected = ssh_keygen_fingerprint(edge_node.host_key.with_suffix(".pub"))
    assert asked == [("127.0.0.1", edge_node.port, "ssh-ed25519", expected)]
    assert known_hosts.read_text() == f"[127.0.0.1]:{edge_node.port} {edge_node.host_public_key_line()}\n"
    assert stat.S_IMODE(known_hosts.stat().st_mode) == 0o600
    assert stat.S_IMODE(known_hosts.parent.stat().st_mode) == 0o700

    # Later sessions find the key pinned: no question, even with no one to ask.
    async with EdgeSession(with_known_hosts(edge_node, known_hosts)) as again:
        assert (await again.run("true")).ok


async def test_declining_an_unknown_host_key_pins_nothing(edge_node: LabEdgeNode, tmp_path: Path) -> None:
    known_hosts = tmp_path / "known_hosts"
    known_hosts.write_text("# mine\n")

    async def decline(host: str, port: int, key_type: str, fingerprint: str) -> bool:
        return False

    with pytest.raises(HostKeyUnknown):
        await EdgeSession(with_known_hosts(edge_node, known_hosts), on_unknown_host=decline).connect()
    assert known_hosts.read_text() == "# mine\n"


async def test_a_changed_host_key_is_refused_loudly(edge_node: LabEdgeNode, tmp_path: Path) -> None:
    impostor = asyncssh.generate_private_key("ssh-ed25519")
    pinned = " ".join(impostor.export_public_key("openssh").decode().split()[:2])
    (tmp_path / "impostor.pub").write_bytes(impostor.export_public_key("openssh"))
    known_hosts = tmp_path / "known_hosts"
    other = " ".join(
        asyncssh.generate_private_key("ssh-ed25519").export_public_key("openssh").decode().split()[:2]
    )
    known_hosts.write_text(f"other.example {other}\n[127.0.0.1]:{edge_node.port} {pinned}\n")
    asked: list[str] = []

    async def accept(host: str, port: int, key_type: str, fingerprint: str) -> bool:
        asked.append(fingerprint)
        return True

    session = EdgeSession(with_known_hosts(edge_node, known_hosts), on_unknown_host=accept)
    with pytest.raises(HostKeyChanged) as changed:
        await session.connect()

    error = changed.value
    offered = ssh_keygen_fingerprint(edge_node.host_key.with_suffix(".pub"))
    assert (error.host, error.port) == ("127.0.0.1", edge_node.port)
    assert error.expected_fingerprint == ssh_keygen_fingerprint(tmp_path / "impostor.pub")
    assert error.offered_fingerprint == offered
    assert error.known_hosts == known_hosts and error.line == 2
    message = str(error)
    assert "\n" not in message
    assert message.startswith(f"REFUSED 127.0.0.1:{edge_node.port}: its host key has CHANGED")
    assert "man-in-the-middle" in message and f"line 2 of {known_hosts}" in message
    assert error.expected_fingerprint in message and offered in message
    assert asked == []  # a changed key is never offered for acceptance
    assert known_hosts.read_text().count("\n") == 2  # nor rewritten
    assert session.state == "failed"


async def test_a_key_the_node_does_not_know_is_refused(edge_node: LabEdgeNode, tmp_path: Path) -> None:
    stranger = tmp_path / "id_stranger"
    stranger.write_bytes(asyncssh.generate_private_key("ssh-ed25519").export_private_key("openssh"))
    target = dataclasses.replace(edge_node.target(), key_file=stranger)

    with pytest.raises(SshAuthFailed) as refused:
        await EdgeSession(target).connect()

    assert str(refused.value) == (
        f"{edge_node.user}@127.0.0.1:{edge_node.port}: authentication refused; tried key {stranger}"
    )


@pytest.mark.filterwarnings("ignore:Warning. bcrypt.kdf.. called with only:UserWarning")
async def test_an_encrypted_key_needs_its_passphrase(edge_node: LabEdgeNode, tmp_path: Path) -> None:
    # The node's own client key, encrypted: authorised, but unusable without the passphrase.
    passphrase = "correct horse battery staple"
    locked = tmp_path / "id_locked"
    key = asyncssh.read_private_key(edge_node.client_key)
    locked.write_bytes(key.export_private_key("openssh", passphrase=passphrase, rounds=4))  # fast KDF
    target = dataclasses.replace(edge_node.target(), key_file=locked)

    session = EdgeSession(target)
    with pytest.raises(KeyPassphraseNeeded) as needed:
        await session.connect()
    with pytest.raises(KeyPassphraseNeeded) as wrong:
        await EdgeSession(target, passphrase="not it").connect()
    session.use_passphrase(passphrase)  # what the console does once the operator typed it
    async with session:
        assert (await session.run("echo unlocked")).stdout == "unlocked\n"

    assert needed.value.key_file == locked and not needed.value.wrong
    assert str(needed.value) == f"key file {locked} is encrypted and it needs a passphrase"
    assert wrong.value.wrong and "wrong" in str(wrong.value)
    assert "not it" not in str(wrong.value)


async def test_a_closed_port_is_unreachable_at_once(tmp_path: Path) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    target = SshTarget("nowhere", "127.0.0.1", port, user="nobody", known_hosts=tmp_path / "kh")
    session = EdgeSession(target)

    started = time.monotonic()
    with pytest.raises(SshUnreachable) as unreachable:
        await session.connect()

    assert time.monotonic() - started < 2
    assert str(unreachable.value) == (
        f"127.0.0.1:{port}: unreachable over SSH: connection refused (nothing listens on that port)"
    )
    assert session.state == "failed"
