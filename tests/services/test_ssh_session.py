"""EdgeSession against real SSH servers: the session lab's edge node and one of the other backend.

Every test runs twice (``lab-edge``: sshd when installed; ``other-edge``: the other backend).
"""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import itertools
import os
import secrets
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from kdrtui.lab import process
from kdrtui.lab.edge import LabEdgeNode
from kdrtui.services.ssh import (
    EdgeSession,
    RemoteCommandFailed,
    SshCommandTimeout,
    SshConnectionLost,
    SshTarget,
)

pytestmark = pytest.mark.lab


async def eventually(predicate: Callable[[], object], timeout: float = 10.0, what: str = "condition") -> None:
    """Poll ``predicate`` until truthy; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} not met within {timeout} s")
        await asyncio.sleep(0.02)


def read_pids(path: Path) -> list[int]:
    try:
        return [int(line) for line in path.read_text().split()]
    except FileNotFoundError:
        return []


def end(pids: list[int]) -> None:
    """Stop remote commands a test started (the node is this machine), by their pids."""
    for pid in pids:
        if process.is_alive(pid):
            process.kill(pid)


async def test_run_returns_exit_status_stdout_and_stderr(edge_node: LabEdgeNode) -> None:
    async with EdgeSession(edge_node.target()) as session:
        result = await session.run("echo out; echo err >&2; exit 3")
        fed = await session.run("tr a-z A-Z", input="shout\n")
        with pytest.raises(RemoteCommandFailed) as failed:
            await session.run("echo why >&2; exit 4", check=True)

    assert (result.exit_status, result.stdout, result.stderr, result.ok) == (3, "out\n", "err\n", False)
    assert fed.ok and fed.stdout == "SHOUT\n"
    assert failed.value.exit_status == 4 and "why" in str(failed.value)
    assert edge_node.target().address in str(failed.value)
    assert session.state == "disconnected"


async def test_a_command_past_its_timeout_is_stopped(edge_node: LabEdgeNode, tmp_path: Path) -> None:
    pid_file = tmp_path / "pid"
    async with EdgeSession(edge_node.target()) as session:
        started = time.monotonic()
        command = f"echo $$ > {pid_file}; exec sleep 30"
        with pytest.raises(SshCommandTimeout) as timed_out:
            await session.run(command, timeout=1.0)
        took = time.monotonic() - started
        still_usable = await session.run("echo fine")

    try:
        assert took < 5, took
        assert timed_out.value.command == command and timed_out.value.timeout == 1.0
        assert str(timed_out.value).endswith(f"within 1 s and was abandoned: {command[:59]}…")
        assert still_usable.stdout == "fine\n"
        pids = read_pids(pid_file)
        assert len(pids) == 1
        if edge_node.status().backend == "asyncssh" or os.getuid() != 0:
            # The channel was closed after a SIGTERM to the command's process group. (sshd refuses
            # to deliver signals to root's sessions, which run without privilege separation.)
            await eventually(lambda: not process.is_alive(pids[0]), what="the timed-out command ended")
    finally:
        end(read_pids(pid_file))


async def test_stream_yields_lines_while_the_command_still_runs(
    edge_node: LabEdgeNode, tmp_path: Path
) -> None:
    flag = tmp_path / "go-on"
    command = f"echo first; echo to-stderr >&2; while [ ! -e {flag} ]; do sleep 0.05; done; echo last; exit 5"
    async with EdgeSession(edge_node.target()) as session, session.stream(command, timeout=20) as lines:
        seen = [await anext(lines), await anext(lines)]
        # The command cannot end before the flag exists: these lines came while it ran.
        assert seen == ["first", "to-stderr"]
        flag.touch()
        seen += [line async for line in lines]

    assert seen == ["first", "to-stderr", "last"]
    assert lines.exit_status == 5


async def test_stream_timeout(edge_node: LabEdgeNode, tmp_path: Path) -> None:
    pid_file = tmp_path / "pid"
    try:
        async with EdgeSession(edge_node.target()) as session:
            lines = []
            with pytest.raises(SshCommandTimeout):
                async for line in session.stream(f"echo $$ > {pid_file}; echo one; exec sleep 20", timeout=1):
                    lines.append(line)
        assert lines == ["one"]
    finally:
        end(read_pids(pid_file))


async def test_upload_writes_atomically_with_progress(edge_node: LabEdgeNode, tmp_path: Path) -> None:
    target = tmp_path / "deep" / "er" / "blob.bin"
    data = secrets.token_bytes(3 * 1024 * 1024 + 17)
    calls: list[tuple[int, int]] = []
    mid_upload: list[tuple[bytes, list[str]]] = []

    def progress(sent: int, total: int) -> None:
        calls.append((sent, total))
        if not mid_upload and total // 3 < sent < total:
            # Half-way: readers still see the old file; the new bytes are in a hidden temporary file.
            mid_upload.append((target.read_bytes(), os.listdir(target.parent)))

    async with EdgeSession(edge_node.target()) as session:
        await session.upload("old contents\n", str(target), mode=0o600)
        assert oct(target.stat().st_mode & 0o777) == "0o600"
        await session.upload(data, str(target), mode=0o640, progress=progress)
        remote_sum = await session.run(f"sha256sum {target}", check=True)

    assert target.read_bytes() == data
    assert remote_sum.stdout.split()[0] == hashlib.sha256(data).hexdigest()
    assert oct(target.stat().st_mode & 0o777) == "0o640"
    assert os.listdir(target.parent) == ["blob.bin"]  # the temporary file was renamed
    assert calls[0] == (0, len(data)) and calls[-1] == (len(data), len(data))
    assert len(calls) > 3 and all(a[0] <= b[0] for a, b in itertools.pairwise(calls))
    old, listing = mid_upload[0]
    assert old == b"old contents\n"
    assert any(name.startswith(".blob.bin.") and name.endswith(".tmp") for name in listing), listing


async def test_upload_a_local_file_and_read_files(edge_node: LabEdgeNode, tmp_path: Path) -> None:
    local = tmp_path / "local.properties"
    local.write_text("a=1\nb=ü\n", encoding="utf-8")
    remote = tmp_path / "remote" / "copy.properties"
    async with EdgeSession(edge_node.target()) as session:
        await session.upload(local, str(remote))
        present = await session.read_file(str(remote))
        absent = await session.read_file(str(tmp_path / "no-such-file"))

    assert present == "a=1\nb=ü\n"
    assert absent is None


async def test_a_private_directory_and_file_are_created_with_their_modes(
    edge_node: LabEdgeNode, tmp_path: Path
) -> None:
    secrets_dir = tmp_path / "run" / "deep" / "secrets"
    async with EdgeSession(edge_node.target()) as session:
        await session.make_dir(str(secrets_dir), mode=0o700)
        created = secrets_dir.stat().st_mode & 0o7777
        await session.upload("password=x\n", str(secrets_dir / "a.properties"), mode=0o600)
        secrets_dir.chmod(0o755)
        await session.make_dir(str(secrets_dir), mode=0o700)  # an existing one gets the mode too

    assert created == 0o700
    assert secrets_dir.stat().st_mode & 0o7777 == 0o700
    assert (secrets_dir / "a.properties").stat().st_mode & 0o7777 == 0o600
    assert (secrets_dir / "a.properties").read_text() == "password=x\n"


async def test_home_relative_paths(edge_node: LabEdgeNode) -> None:
    where = f".kdrtui-test-{secrets.token_hex(4)}"
    async with EdgeSession(edge_node.target()) as session:
        try:
            await session.upload("in the home directory\n", f"~/{where}/note.txt")
            via_shell = await session.run(f"cat ~/{where}/note.txt")
            via_sftp = await session.read_file(f"~/{where}/note.txt")
        finally:
            await session.run(f"rm -rf ~/{where}")

    assert via_shell.stdout == via_sftp == "in the home directory\n"


async def test_server_side_drop_while_idle_reconnects(edge_node: LabEdgeNode) -> None:
    states: list[str] = []
    async with EdgeSession(edge_node.target(), on_state=states.append, backoff=0.1) as session:
        assert (await session.run("echo before")).ok

        dropped = edge_node.drop_connections()
        after = await session.run("echo after")

        assert dropped >= 1
        assert after.stdout == "after\n"
        assert session.state == "connected"
        assert "reconnecting" in states, states
        assert states[-1] == "connected"


async def test_server_side_drop_during_a_command_is_not_rerun(edge_node: LabEdgeNode, tmp_path: Path) -> None:
    runs = tmp_path / "runs"
    async with EdgeSession(edge_node.target(), backoff=0.1) as session:
        task = asyncio.create_task(session.run(f"echo $$ >> {runs}; exec sleep 30", timeout=30))
        try:
            await eventually(lambda: read_pids(runs), what="the command started")
            started = time.monotonic()
            edge_node.drop_connections()
            with pytest.raises(SshConnectionLost) as lost:
                await task
            assert time.monotonic() - started < 10
            assert "connection lost while running 'echo $$ >>" in str(lost.value)
            # The next command reconnects; the lost one was not run again.
            assert (await session.run("echo next")).stdout == "next\n"
            assert len(read_pids(runs)) == 1
        finally:
            task.cancel()
            end(read_pids(runs))


async def test_jump_host(edge_node: LabEdgeNode) -> None:
    direct = edge_node.target()
    through_itself = dataclasses.replace(direct, name="via-jump", jump=direct)

    async with EdgeSession(through_itself) as session:
        result = await session.run("echo hopped")
        listing = await session.read_file(str(edge_node.known_hosts))

    assert result.stdout == "hopped\n"
    assert listing is not None and "ssh-ed25519" in listing


async def test_jump_host_from_the_plan(edge_node: LabEdgeNode) -> None:
    from kdrtui.domain.plan import EdgeNode

    entry = edge_node.plan_entry()
    node = EdgeNode.model_validate({**entry, "jump_host": f"{entry['user']}@127.0.0.1:{edge_node.port}"})
    target = SshTarget.from_edge_node(node)
    assert target.jump is not None and target.jump.port == edge_node.port

    async with EdgeSession(target) as session:
        assert (await session.run("echo ok")).ok
