"""The lab edge node's SSH server when OpenSSH's sshd is not installed: asyncssh, as close to sshd as needed.

Public-key authentication only, for one user, with the keys in ``authorized_keys``; commands run in
a real shell (``/bin/sh -c <command>``) with stdin, stdout, stderr, signals and the exit status passed
through; SFTP; direct TCP connections (so the node works as a jump host). ``SIGUSR1`` drops every
client connection at once, like a network failure would; ``SIGTERM`` stops the server.

Run as ``python -m kdrtui.lab.edge serve --home <edge dir> --port <port> --user <user>``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
from pathlib import Path
from typing import Any

import asyncssh

from kdrtui.lab.ports import LOCALHOST

_log = logging.getLogger("kdrtui.lab.edge_server")

_READ_SIZE = 64 * 1024


async def _pump(source: asyncio.StreamReader, sink: Any) -> None:
    """Copy a child's output to the channel; once the client is gone, keep draining it."""
    open_ = True
    while chunk := await source.read(_READ_SIZE):
        if not open_:
            continue
        try:
            sink.write(chunk)
            await sink.drain()
        except (OSError, asyncssh.Error):
            open_ = False


async def _feed(process: asyncssh.SSHServerProcess[bytes], child: asyncio.subprocess.Process) -> None:
    """Copy the channel to the child's stdin; deliver signals the client sends to its process group."""
    assert child.stdin is not None
    try:
        while True:
            try:
                data = await process.stdin.read(_READ_SIZE)
            except asyncssh.SignalReceived as exc:
                number = getattr(signal, f"SIG{exc.signal}", None)
                if number is not None:
                    with contextlib.suppress(ProcessLookupError, PermissionError):
                        os.killpg(child.pid, number)
                continue
            except (asyncssh.BreakReceived, asyncssh.TerminalSizeChanged):
                continue
            if not data:
                break
            child.stdin.write(data)
            await child.stdin.drain()
    except (OSError, asyncssh.Error):
        pass  # the child closed its stdin, or the client went away: either way, input is over
    finally:
        with contextlib.suppress(OSError):
            child.stdin.close()


def _shell_env(user: str) -> dict[str, str]:
    env = dict(os.environ)
    home = str(Path.home())
    env.update({"HOME": home, "USER": user, "LOGNAME": user, "SHELL": "/bin/sh"})
    for name in ("PYTHONPATH", "KDRTUI_LAB_DIR"):
        env.pop(name, None)
    return env


def make_handler(user: str) -> Any:
    """The process factory: each session's command in its own ``/bin/sh``, in the user's home."""
    env = _shell_env(user)

    async def handle(process: asyncssh.SSHServerProcess[bytes]) -> None:
        command = process.command
        argv = ["/bin/sh", "-c", command] if command is not None else ["/bin/sh"]
        try:
            child = await asyncio.create_subprocess_exec(
                *argv,
                stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE,
                cwd=env["HOME"],
                env=env,
                start_new_session=True,  # like sshd: the session's own process group, for signals
            )
        except OSError as exc:
            process.stderr.write(f"cannot start /bin/sh: {exc}\n".encode())
            process.exit(127)
            return
        assert child.stdout is not None and child.stderr is not None
        feeder = asyncio.create_task(_feed(process, child))
        await asyncio.gather(_pump(child.stdout, process.stdout), _pump(child.stderr, process.stderr))
        status = await child.wait()
        feeder.cancel()
        with contextlib.suppress(OSError, asyncssh.Error):
            if status < 0:
                process.exit_with_signal(signal.Signals(-status).name.removeprefix("SIG"))
            else:
                process.exit(status)

    return handle


class EdgeServer(asyncssh.SSHServer):
    """One client connection: key auth for the lab's user only; direct TCP allowed (jump host)."""

    connections: set[asyncssh.SSHServerConnection] = set()
    """Every live client connection, for :func:`drop_all`."""

    def __init__(self, user: str, authorized_keys: Path) -> None:
        self.user = user
        self.authorized_keys = authorized_keys
        self.conn: asyncssh.SSHServerConnection | None = None

    def connection_made(self, conn: asyncssh.SSHServerConnection) -> None:
        self.conn = conn
        EdgeServer.connections.add(conn)

    def connection_lost(self, exc: Exception | None) -> None:
        if self.conn is not None:
            EdgeServer.connections.discard(self.conn)

    def begin_auth(self, username: str) -> bool:
        if username == self.user and self.conn is not None:
            # Read on every login, like sshd: a key added to the file works at once.
            self.conn.set_authorized_keys(str(self.authorized_keys))
        return True

    def public_key_auth_supported(self) -> bool:
        return True

    def password_auth_supported(self) -> bool:
        return False

    def kbdint_auth_supported(self) -> bool:
        return False

    def connection_requested(self, dest_host: str, dest_port: int, orig_host: str, orig_port: int) -> bool:
        return True


def drop_all() -> int:
    """Abort every client connection (no goodbye, as when the network fails); return how many."""
    conns = list(EdgeServer.connections)
    for conn in conns:
        conn.abort()
    _log.warning("dropped %d connection(s) on request", len(conns))
    return len(conns)


async def serve(home: Path, port: int, user: str) -> None:
    """Listen on 127.0.0.1:``port`` until SIGTERM or SIGINT."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    loop.add_signal_handler(signal.SIGINT, stop.set)
    loop.add_signal_handler(signal.SIGUSR1, drop_all)
    authorized_keys = home / "authorized_keys"
    server = await asyncssh.listen(
        LOCALHOST,
        port,
        server_factory=lambda: EdgeServer(user, authorized_keys),
        server_host_keys=[str(home / "ssh_host_ed25519_key")],
        process_factory=make_handler(user),
        sftp_factory=True,
        encoding=None,
        allow_pty=False,
        agent_forwarding=False,
        x11_forwarding=False,
        keepalive_interval=5,
        login_timeout=30,
        reuse_address=True,
    )
    _log.warning("listening on %s:%d for %s (asyncssh %s)", LOCALHOST, port, user, asyncssh.__version__)
    try:
        await stop.wait()
    finally:
        server.close()
        drop_all()
        await server.wait_closed()
    _log.warning("stopped")


def main(home: Path, port: int, user: str) -> None:
    """Entry point of the detached server process (logs go to its stderr, i.e. its log file)."""
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    os.chdir(Path.home())
    asyncio.run(serve(home, port, user))
