"""A remote command's output, line by line, as it is produced."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from types import TracebackType
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

from kdrtui.services.ssh.errors import SshCommandTimeout, SshConnectionLost, abandon, lost_errors, shorten
from kdrtui.services.ssh.target import SshTarget

if TYPE_CHECKING:
    import asyncssh

T = TypeVar("T")


class StreamingSession(Protocol):
    """What a stream needs of its session (an ``EdgeSession``): where it runs, a channel, and how to
    report a link that died."""

    target: SshTarget

    async def _open(
        self, what: str, opener: Callable[[asyncssh.SSHClientConnection], Awaitable[T]]
    ) -> tuple[asyncssh.SSHClientConnection, T]: ...

    def _lost(self, conn: Any, what: str, exc: BaseException | None) -> SshConnectionLost: ...


class CommandStream:
    """Lines (stdout and stderr merged, without line endings) of a command on an edge node.

    Iterate with ``async for``; the iteration ends when the command ends, and then
    :attr:`exit_status` and :attr:`signal` say how it ended. The channel opens on the first
    iteration. Leaving the loop early? Close it (``await stream.aclose()``), or use
    ``async with session.stream(cmd) as lines: async for line in lines: ...``.

    Raises (from the iteration): ``SshCommandTimeout`` when ``timeout`` seconds pass,
    ``SshConnectionLost`` when the link dies (the command is not re-run), ``SshError`` when the
    session cannot connect.
    """

    def __init__(self, session: StreamingSession, command: str, timeout: float | None) -> None:
        self.session = session
        self.command = command
        self.timeout = timeout
        #: The command's exit status once the iteration ended (None if a signal killed it).
        self.exit_status: int | None = None
        #: The signal that killed it, if one did.
        self.signal: str | None = None
        self._proc: asyncssh.SSHClientProcess[str] | None = None
        self._conn: asyncssh.SSHClientConnection | None = None
        self._deadline: float | None = None
        self._done = False

    def __aiter__(self) -> CommandStream:
        return self

    async def __aenter__(self) -> CommandStream:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Stop reading: ask the command to stop and close its channel (no-op once it ended)."""
        if not self._done and self._proc is not None:
            abandon(self._proc)
        self._done = True

    async def __anext__(self) -> str:
        import asyncssh

        if self._done:
            raise StopAsyncIteration
        if self._deadline is None and self.timeout is not None:
            self._deadline = asyncio.get_running_loop().time() + self.timeout
        what = f"streaming {shorten(self.command)!r}"
        session = self.session

        def start(conn: asyncssh.SSHClientConnection) -> Awaitable[asyncssh.SSHClientProcess[str]]:
            return conn.create_process(
                self.command, stderr=asyncssh.STDOUT, encoding="utf-8", errors="replace"
            )

        try:
            async with asyncio.timeout_at(self._deadline):
                if self._proc is None:
                    self._conn, self._proc = await session._open(what, start)
                proc = self._proc
                assert proc is not None
                line = await proc.stdout.readline()
                if line:
                    return line.rstrip("\n").rstrip("\r")
                await proc.wait_closed()
        except TimeoutError:
            await self.aclose()
            raise SshCommandTimeout(
                self.command, self.timeout or 0.0, session.target.host, session.target.port
            ) from None
        except lost_errors() as exc:
            opened = self._proc is not None
            await self.aclose()
            if not opened:
                raise
            raise session._lost(self._conn, what, exc) from None
        except BaseException:
            await self.aclose()
            raise
        self._done = True
        if proc.exit_status is None and proc.exit_signal is None:
            raise session._lost(self._conn, what, None)
        self.signal = proc.exit_signal[0] if proc.exit_signal else None
        self.exit_status = None if self.signal else proc.exit_status
        proc.close()
        raise StopAsyncIteration
