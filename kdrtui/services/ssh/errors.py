"""What can go wrong talking to an edge node over SSH, each as one line an operator can act on.

Every message names ``host:port`` (or ``user@host:port``) and, where there is one, the fix. Nothing
secret ever goes into a message: no passphrases, no key material, only fingerprints and file paths.
:func:`lost_errors` and :func:`abandon` are what the session and its streams share about a link that died
or a command given up on.
"""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import asyncssh


def shorten(command: str, limit: int = 60) -> str:
    """The first ``limit`` characters of ``command`` on one line, for messages and logs."""
    flat = " ".join(command.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


class SshError(Exception):
    """An SSH operation failed. ``str()`` is a one-line message for the operator, naming host:port."""


class HostKeyUnknown(SshError):
    """The host's key is not pinned in known_hosts and nobody accepted it."""

    def __init__(self, host: str, port: int, fingerprint: str, key_type: str, known_hosts: Path) -> None:
        self.host = host
        self.port = port
        self.fingerprint = fingerprint
        self.key_type = key_type
        self.known_hosts = known_hosts
        super().__init__(
            f"{host}:{port}: host key not known ({key_type} {fingerprint}) and not in {known_hosts}; "
            "check the fingerprint with the host's owner, then accept it"
        )


class HostKeyChanged(SshError):
    """The host offered a key other than the one pinned for it: refused, never connected."""

    def __init__(
        self,
        host: str,
        port: int,
        expected_fingerprint: str,
        offered_fingerprint: str,
        known_hosts: Path,
        *,
        line: int | None = None,
        key_type: str = "",
    ) -> None:
        self.host = host
        self.port = port
        self.expected_fingerprint = expected_fingerprint
        self.offered_fingerprint = offered_fingerprint
        self.known_hosts = known_hosts
        self.line = line
        self.key_type = key_type
        where = f"line {line} of {known_hosts}" if line else str(known_hosts)
        pattern = host if port == 22 else f"[{host}]:{port}"
        offered = f"{key_type} {offered_fingerprint}" if key_type else offered_fingerprint
        super().__init__(
            f"REFUSED {host}:{port}: its host key has CHANGED (offered {offered}, pinned "
            f"{expected_fingerprint} in {where}). Someone may be intercepting the connection "
            f"(man-in-the-middle), or the host was rebuilt. Only if you know why it changed: remove the "
            f"old line from {known_hosts} (ssh-keygen -f {known_hosts} -R '{pattern}') and connect again"
        )


class SshAuthFailed(SshError):
    """The server accepted none of the keys offered (password authentication is never tried)."""

    def __init__(self, user: str, host: str, port: int, tried: str) -> None:
        self.user = user
        self.host = host
        self.port = port
        self.tried = tried
        super().__init__(f"{user}@{host}:{port}: authentication refused; tried {tried}")


class SshUnreachable(SshError):
    """No SSH session could be set up: refused, unknown name, timed out, dropped in the handshake."""

    def __init__(self, host: str, port: int, reason: str) -> None:
        self.host = host
        self.port = port
        self.reason = reason
        super().__init__(f"{host}:{port}: unreachable over SSH: {reason}")


class SshCommandTimeout(SshError):
    """A remote command did not finish in time; its channel was closed."""

    def __init__(self, command: str, timeout: float, host: str, port: int) -> None:
        self.command = command
        self.timeout = timeout
        self.host = host
        self.port = port
        super().__init__(
            f"{host}:{port}: command did not finish within {timeout:g} s and was abandoned: "
            f"{shorten(command)}"
        )


class KeyPassphraseNeeded(SshError):
    """The key file is encrypted and no passphrase (or a wrong one) was given: ask and retry."""

    def __init__(self, key_file: Path, *, wrong: bool = False) -> None:
        self.key_file = key_file
        self.wrong = wrong
        what = "the passphrase given is wrong" if wrong else "it needs a passphrase"
        super().__init__(f"key file {key_file} is encrypted and {what}")


class RemoteCommandFailed(SshError):
    """A command run with ``check=True`` exited non-zero (or was killed by a signal)."""

    def __init__(self, command: str, exit_status: int | None, stderr_tail: str, host: str, port: int) -> None:
        self.command = command
        self.exit_status = exit_status
        self.stderr_tail = stderr_tail
        self.host = host
        self.port = port
        last = stderr_tail.strip().splitlines()[-1] if stderr_tail.strip() else "no error output"
        status = f"exit status {exit_status}" if exit_status is not None else "no exit status"
        super().__init__(f"{host}:{port}: {shorten(command)} failed ({status}): {last}")


class SshConnectionLost(SshError):
    """The link died while an operation was running remotely; it was NOT retried.

    Whether a command finished is unknown: read the remote state before acting again.
    """

    def __init__(self, what: str, host: str, port: int, reason: str) -> None:
        self.what = what
        self.host = host
        self.port = port
        self.reason = reason
        super().__init__(
            f"{host}:{port}: connection lost while {what} ({reason}); it was not retried and may or "
            "may not have finished"
        )


def lost_errors() -> tuple[type[BaseException], ...]:
    """The exceptions that mean "the link died" once a channel is open."""
    import asyncssh

    return (asyncssh.DisconnectError, asyncssh.SFTPConnectionLost, ConnectionError, EOFError)


def abandon(proc: asyncssh.SSHClientProcess[Any]) -> None:
    """Ask a remote command to stop (SIGTERM, where the server honours it) and close its channel."""
    import asyncssh

    with contextlib.suppress(asyncssh.Error, OSError):
        proc.send_signal("TERM")
    proc.close()
