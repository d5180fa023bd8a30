"""One SSH session to one edge node: pinned host keys, key auth only, keepalive, careful reconnects.

The rules that matter during an incident:

- The host key is checked before any credential is offered. A key that differs from the pinned one is
  refused (:class:`HostKeyChanged`), never "updated"; an unknown one is only pinned when the
  ``on_unknown_host`` callback says so.
- Only public keys authenticate: a key file (decrypted with the passphrase given, which is never
  written anywhere), else the ssh-agent and the default keys in ``~/.ssh``. Never a password.
- A link that died is re-established with exponential backoff by the next operation; that operation
  is retried once only when its channel could not even be opened, so nothing ran. A command that was
  running when the link died is never re-run: :class:`SshConnectionLost` says so, and the caller
  reads the remote state before acting again.
- Every command has a deadline; when it passes the channel is closed and
  :class:`SshCommandTimeout` raised.

asyncssh is imported on first use, not with this module, so the console paints without paying for it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any, TypeVar

import kdrtui.services.ssh.transfer as transfer
from kdrtui.services.ssh.connect import Connector
from kdrtui.services.ssh.errors import (
    RemoteCommandFailed,
    SshCommandTimeout,
    SshConnectionLost,
    SshError,
    SshUnreachable,
    abandon,
    lost_errors,
    shorten,
)
from kdrtui.services.ssh.stream import CommandStream
from kdrtui.services.ssh.target import CommandResult, HostKeyDecision, SshTarget

if TYPE_CHECKING:
    import asyncssh

_log = logging.getLogger(__name__)

T = TypeVar("T")

DISCONNECTED = "disconnected"
CONNECTING = "connecting"
CONNECTED = "connected"
RECONNECTING = "reconnecting"
FAILED = "failed"

#: How much of a failed command's stderr :class:`RemoteCommandFailed` keeps.
STDERR_TAIL_LINES = 10


class EdgeSession:
    """A lazily (re)connected SSH session to ``target``; use as ``async with EdgeSession(t) as s``.

    Args:
        target: Where to connect, as whom, with which key and known_hosts file.
        on_unknown_host: Asked ``(host, port, key_type, fingerprint)`` when the host's key is not
            pinned; True pins it. None refuses unknown hosts (:class:`HostKeyUnknown`).
        passphrase: For an encrypted key file; used to load the key once, then dropped.
        connect_timeout: Seconds for TCP, the SSH handshake and authentication together.
        keepalive_interval: Seconds between keepalives; three unanswered ones drop the link.
        reconnect_attempts: Connection attempts after the link was lost, backing off exponentially.
        backoff: Seconds before the second attempt; doubled before each further one.
        on_state: Called with the new :attr:`state` on every change (from the event loop).
    """

    def __init__(
        self,
        target: SshTarget,
        *,
        on_unknown_host: HostKeyDecision | None = None,
        passphrase: str | None = None,
        connect_timeout: float = 10.0,
        keepalive_interval: float = 15.0,
        reconnect_attempts: int = 3,
        backoff: float = 0.5,
        on_state: Callable[[str], None] | None = None,
    ) -> None:
        self.target = target
        self.connect_timeout = connect_timeout
        self.keepalive_interval = keepalive_interval
        self.reconnect_attempts = max(1, reconnect_attempts)
        self.backoff = backoff
        self.on_state = on_state
        #: ``disconnected``, ``connecting``, ``connected``, ``reconnecting`` or ``failed``.
        self.state = DISCONNECTED
        #: Why the last connection attempt failed or the link was lost (one line), None if fine.
        self.last_error: str | None = None
        self._connector = Connector(
            target,
            on_unknown_host=on_unknown_host,
            passphrase=passphrase,
            connect_timeout=connect_timeout,
            keepalive_interval=keepalive_interval,
        )
        self._conn: asyncssh.SSHClientConnection | None = None
        self._sftp: asyncssh.SFTPClient | None = None
        self._sftp_conn: asyncssh.SSHClientConnection | None = None
        self._jump: EdgeSession | None = None
        self._lock = asyncio.Lock()
        self._was_connected = False

    @property
    def on_unknown_host(self) -> HostKeyDecision | None:
        """Asked about host keys that are not pinned (None: they are refused)."""
        return self._connector.on_unknown_host

    def use_passphrase(self, passphrase: str) -> None:
        """Decrypt the key file with ``passphrase`` on the next connection (after KeyPassphraseNeeded)."""
        self._connector.use_passphrase(passphrase)
        if self._jump is not None:
            self._jump.use_passphrase(passphrase)

    def __repr__(self) -> str:
        return f"<EdgeSession {self.target.name} {self.target.login} {self.state}>"

    async def __aenter__(self) -> EdgeSession:
        await self.connect()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()

    # State ---------------------------------------------------------------------------------------

    @property
    def connected(self) -> bool:
        """Whether the session holds a live connection right now."""
        return self._conn is not None and not self._conn.is_closed()

    def _set_state(self, state: str, error: str | None = None) -> None:
        if error is not None:
            self.last_error = error
        elif state == CONNECTED:
            self.last_error = None
        if state == self.state:
            return
        self.state = state
        _log.info(
            "ssh %s (%s): %s%s", self.target.name, self.target.address, state, f": {error}" if error else ""
        )
        if self.on_state is not None:
            self.on_state(state)

    def _on_lost(self, conn: Any, exc: Exception | None) -> None:
        if conn is None or conn is not self._conn:
            return
        self._sftp = None
        if self.state == CONNECTED:
            reason = str(exc) if exc else "closed"
            self._set_state(DISCONNECTED, f"connection lost: {reason}")

    # Connecting ----------------------------------------------------------------------------------

    async def connect(self) -> None:
        """Connect now (one attempt) unless already connected.

        Raises:
            HostKeyUnknown, HostKeyChanged, SshAuthFailed, KeyPassphraseNeeded, SshUnreachable, SshError.
        """
        await self._connection(reconnect=False)

    async def close(self) -> None:
        """Close the connection (and the jump host's); a later operation connects again."""
        conn, self._conn, self._sftp = self._conn, None, None
        self._was_connected = False
        if conn is not None:
            import asyncssh

            conn.close()
            with contextlib.suppress(OSError, asyncssh.Error):
                await conn.wait_closed()
        if self._jump is not None:
            await self._jump.close()
        self._set_state(DISCONNECTED)

    async def _connection(self, *, reconnect: bool | None = None) -> asyncssh.SSHClientConnection:
        """The live connection, connecting (with backoff after a loss) if there is none."""
        if self._conn is not None and not self._conn.is_closed():
            return self._conn
        async with self._lock:
            if self._conn is not None and not self._conn.is_closed():
                return self._conn
            again = self._was_connected if reconnect is None else reconnect
            await self._connect_locked(again)
            assert self._conn is not None
            return self._conn

    async def _connect_locked(self, reconnect: bool) -> None:
        attempts = self.reconnect_attempts if reconnect else 1
        self._set_state(RECONNECTING if reconnect else CONNECTING)
        last: SshUnreachable | None = None
        delay = self.backoff
        try:
            for attempt in range(attempts):
                if attempt:
                    await asyncio.sleep(delay)
                    delay *= 2
                try:
                    self._conn = await self._open_connection()
                except SshUnreachable as exc:
                    last = exc
                    _log.info(
                        "ssh %s: attempt %d/%d failed: %s", self.target.name, attempt + 1, attempts, exc
                    )
                    continue
                except SshError as exc:
                    self._set_state(FAILED, str(exc))
                    raise
                self._was_connected = True
                self._set_state(CONNECTED)
                return
        finally:
            if self.state in (CONNECTING, RECONNECTING):  # cancelled half-way
                self._set_state(DISCONNECTED)
        assert last is not None
        if reconnect and attempts > 1:
            last = SshUnreachable(
                self.target.host, self.target.port, f"{last.reason} (gave up after {attempts} attempts)"
            )
        self._set_state(FAILED, str(last))
        raise last

    async def _open_connection(self) -> asyncssh.SSHClientConnection:
        tunnel = None
        if self.target.jump is not None:
            if self._jump is None:
                self._jump = EdgeSession(
                    self.target.jump,
                    on_unknown_host=self.on_unknown_host,
                    passphrase=self._connector.passphrase,
                    connect_timeout=self.connect_timeout,
                    keepalive_interval=self.keepalive_interval,
                    reconnect_attempts=1,
                )
            tunnel = await self._jump._connection(reconnect=False)
        return await self._connector.connect(tunnel, self._on_lost)

    # Channels ------------------------------------------------------------------------------------

    def _drop(self, conn: asyncssh.SSHClientConnection, reason: str) -> None:
        """Forget a connection found dead, so the next :meth:`_connection` reconnects."""
        if conn is self._conn:
            self._sftp = None
            if self.state == CONNECTED:
                self._set_state(DISCONNECTED, reason)
        conn.abort()

    async def _open(
        self, what: str, opener: Callable[[asyncssh.SSHClientConnection], Awaitable[T]]
    ) -> tuple[asyncssh.SSHClientConnection, T]:
        """Open a channel with ``opener``; reconnect and retry once if the channel could not open.

        A channel that did not open ran nothing, so the retry is safe.
        """
        import asyncssh

        for attempt in (1, 2):
            conn = await self._connection()
            try:
                return conn, await opener(conn)
            except asyncssh.ChannelOpenError as exc:
                link_down = exc.code == asyncssh.OPEN_CONNECT_FAILED or conn.is_closed()
                if not link_down:
                    raise SshError(f"{self.target.address}: could not start {what}: {exc.reason}") from None
                self._drop(conn, f"connection lost: {exc.reason}")
                if attempt == 2:
                    raise SshConnectionLost(f"starting {what}", *self._hp(), exc.reason) from None
                _log.info("ssh %s: link down before %s; reconnecting", self.target.name, what)
            except lost_errors() as exc:
                # The channel opened and the request was sent: it may have started. Not retried.
                raise self._lost(conn, what, exc) from None
        raise AssertionError("unreachable")

    def _hp(self) -> tuple[str, int]:
        return self.target.host, self.target.port

    def _lost(self, conn: Any, what: str, exc: BaseException | None) -> SshConnectionLost:
        if exc is not None:
            reason = str(exc) or type(exc).__name__
        elif conn is not None and conn.is_closed():
            reason = "the connection closed"
        else:
            reason = "the channel closed without an exit status"
        if conn is not None and (exc is not None or conn.is_closed()):
            self._drop(conn, f"connection lost: {reason}")
        return SshConnectionLost(what, *self._hp(), reason)

    # Commands ------------------------------------------------------------------------------------

    async def run(
        self, command: str, *, timeout: float = 30.0, input: str | None = None, check: bool = False
    ) -> CommandResult:
        """Run ``command`` in the user's shell on the node and wait for it (at most ``timeout`` s).

        Raises:
            SshCommandTimeout: it did not finish in time (its channel was closed).
            SshConnectionLost: the link died while it ran; it was not re-run.
            RemoteCommandFailed: ``check`` and it exited non-zero.
            SshError: connecting failed (see :meth:`connect`).
        """
        what = f"running {shorten(command)!r}"
        opened: tuple[asyncssh.SSHClientConnection, asyncssh.SSHClientProcess[str]] | None = None
        try:
            async with asyncio.timeout(timeout):
                opened = await self._open(
                    what, lambda conn: conn.create_process(command, encoding="utf-8", errors="replace")
                )
                stdout, stderr = await opened[1].communicate(input)
        except TimeoutError:
            if opened is not None:
                abandon(opened[1])
            raise SshCommandTimeout(command, timeout, *self._hp()) from None
        except lost_errors() as exc:
            if opened is None:
                raise
            abandon(opened[1])
            raise self._lost(opened[0], what, exc) from None
        except BaseException:
            if opened is not None:
                abandon(opened[1])
            raise
        conn, proc = opened
        if proc.exit_status is None and proc.exit_signal is None:
            raise self._lost(conn, what, None)
        result = CommandResult(
            command=command,
            exit_status=proc.exit_status if proc.exit_signal is None else None,
            stdout=str(stdout or ""),
            stderr=str(stderr or ""),
            signal=proc.exit_signal[0] if proc.exit_signal else None,
        )
        if check and not result.ok:
            tail = "\n".join(result.stderr.strip().splitlines()[-STDERR_TAIL_LINES:])
            raise RemoteCommandFailed(command, result.exit_status, tail, *self._hp())
        return result

    def stream(self, command: str, *, timeout: float | None = None) -> CommandStream:
        """Run ``command`` and yield its output lines (stdout and stderr merged) as they come.

        The iteration ends when the command ends; then :attr:`CommandStream.exit_status` holds its
        status. Leaving the loop early closes the channel when the stream is closed (``aclose()``,
        or ``async with session.stream(...) as lines``).
        """
        return CommandStream(self, command, timeout)

    # Files ---------------------------------------------------------------------------------------

    async def _sftp_client(self) -> tuple[asyncssh.SSHClientConnection, asyncssh.SFTPClient]:
        conn = self._conn
        if self._sftp is not None and self._sftp_conn is conn and conn is not None and not conn.is_closed():
            return conn, self._sftp

        async def start(conn: asyncssh.SSHClientConnection) -> asyncssh.SFTPClient:
            sftp = await conn.start_sftp_client()
            self._sftp, self._sftp_conn = sftp, conn
            return sftp

        return await self._open("SFTP", start)

    async def _file_op(
        self, what: str, op: Callable[[asyncssh.SFTPClient, transfer.Progress], Awaitable[T]]
    ) -> T:
        """Run an SFTP operation; retry it once after a reconnect if the link died before it wrote."""
        import asyncssh

        for attempt in (1, 2):
            conn, sftp = await self._sftp_client()
            stage = transfer.Progress()
            try:
                return await op(sftp, stage)
            except lost_errors() as exc:
                err = self._lost(conn, what, exc)
                if stage.wrote or attempt == 2:
                    raise err from None
                _log.info(
                    "ssh %s: link down before %s had written anything; retrying", self.target.name, what
                )
            except asyncssh.SFTPError as exc:
                raise SshError(f"{self.target.address}: {what} failed: {exc.reason}") from None
        raise AssertionError("unreachable")

    async def upload(
        self,
        data: bytes | str | Path,
        remote_path: str,
        *,
        mode: int = 0o644,
        progress: Callable[[int, int], None] | None = None,
    ) -> None:
        """Write ``data`` (bytes, text as UTF-8, or a local file) to ``remote_path`` over SFTP.

        ``remote_path`` is absolute, or relative to the login directory (a leading ``~/`` is
        dropped: SFTP does not expand it). Parent directories are created. The data goes to a
        temporary name beside the target, created 0600 (a 0600 file keeps that mode; another is set before
        the rename), which is then renamed over it: a reader never sees half a file.
        ``progress(sent, total)`` is called after every chunk.
        """
        source: bytes | Path = data.encode() if isinstance(data, str) else data
        if isinstance(source, Path):
            try:
                source.stat()
            except OSError as exc:
                raise SshError(f"cannot upload {source}: {exc.strerror or exc}") from None
        path = transfer.sftp_path(remote_path)
        await self._file_op(
            f"uploading {remote_path}",
            lambda sftp, stage: transfer.upload(
                sftp, source, path, mode=mode, progress=progress, stage=stage
            ),
        )

    async def make_dir(self, remote_path: str, *, mode: int = 0o700) -> None:
        """Make directory ``remote_path`` over SFTP, created with ``mode`` (parents as needed); an existing
        one is given ``mode``."""
        path = transfer.sftp_path(remote_path)
        await self._file_op(
            f"making {remote_path}", lambda sftp, stage: transfer.make_dir(sftp, path, mode=mode, stage=stage)
        )

    async def read_file(self, remote_path: str) -> str | None:
        """The text of ``remote_path`` (UTF-8, undecodable bytes replaced), None if it does not exist.

        A leading ``~/`` means the login directory, as for :meth:`upload`.
        """
        path = transfer.sftp_path(remote_path)
        return await self._file_op(
            f"reading {remote_path}", lambda sftp, stage: transfer.read_text(sftp, path)
        )
