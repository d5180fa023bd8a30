"""Setting up one SSH connection: host key first, then public-key authentication, nothing else.

The host key is checked before any credential is offered. A host with no pinned key is asked about
(``on_unknown_host``) and, when accepted, pinned in the known_hosts file; then asyncssh connects with
its normal known_hosts verification. A key that differs from the pinned one is refused with
:class:`HostKeyChanged`, naming both fingerprints and the line to remove if the change is expected.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import os
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import kdrtui.services.ssh.hostkeys as hostkeys
from kdrtui.services.ssh.errors import (
    HostKeyChanged,
    HostKeyUnknown,
    KeyPassphraseNeeded,
    SshAuthFailed,
    SshError,
    SshUnreachable,
)
from kdrtui.services.ssh.target import HostKeyDecision, SshTarget

if TYPE_CHECKING:
    import asyncssh

_log = logging.getLogger("kdrtui.services.ssh")

LostCallback = Callable[[Any, "Exception | None"], None]


@functools.cache
def _client_class() -> type[asyncssh.SSHClient]:
    import asyncssh

    class _Client(asyncssh.SSHClient):
        """Tells its session when the connection goes away, so the session's state follows the link."""

        def __init__(self, on_lost: LostCallback) -> None:
            self._on_lost = on_lost
            self._conn: Any = None

        def connection_made(self, conn: asyncssh.SSHClientConnection) -> None:
            self._conn = conn

        def connection_lost(self, exc: Exception | None) -> None:
            self._on_lost(self._conn, exc)

    return _Client


class Connector:
    """Opens connections to ``target`` (one attempt each); the session decides about retries."""

    def __init__(
        self,
        target: SshTarget,
        *,
        on_unknown_host: HostKeyDecision | None,
        passphrase: str | None,
        connect_timeout: float,
        keepalive_interval: float,
    ) -> None:
        self.target = target
        self.on_unknown_host = on_unknown_host
        #: Kept only until the key file is decrypted, then dropped.
        self.passphrase = passphrase
        self.connect_timeout = connect_timeout
        self.keepalive_interval = keepalive_interval
        self._keys: list[Any] | None = None

    def use_passphrase(self, passphrase: str) -> None:
        """Load the key file again, with ``passphrase``, on the next connection."""
        self.passphrase = passphrase
        self._keys = None

    async def connect(
        self, tunnel: asyncssh.SSHClientConnection | None, on_lost: LostCallback
    ) -> asyncssh.SSHClientConnection:
        """One connection attempt (through ``tunnel`` if given).

        Raises:
            HostKeyUnknown, HostKeyChanged, SshAuthFailed, KeyPassphraseNeeded: fatal, don't retry.
            SshUnreachable: refused, unresolvable, timed out, or dropped during the handshake.
            SshError: anything else (a broken known_hosts file, a handshake that failed).
        """
        import asyncssh

        t = self.target
        known_hosts = t.known_hosts_path
        if not hostkeys.pinned_keys(known_hosts, t.host, t.port):
            await self._pin_unknown_key(tunnel)
        client_keys, agent_path = self._credentials()
        client_class = _client_class()
        try:
            async with asyncio.timeout(self.connect_timeout + 1):
                conn = await asyncssh.connect(
                    t.host,
                    t.port,
                    tunnel=tunnel if tunnel is not None else (),
                    config=None,
                    username=t.user,
                    known_hosts=str(known_hosts),
                    client_keys=client_keys,
                    agent_path=agent_path,
                    password=None,
                    preferred_auth="publickey",
                    password_auth=False,
                    kbdint_auth=False,
                    gss_auth=False,
                    host_based_auth=False,
                    agent_forwarding=False,
                    connect_timeout=self.connect_timeout,
                    keepalive_interval=self.keepalive_interval,
                    keepalive_count_max=3,
                    client_factory=lambda: client_class(on_lost),  # type: ignore[call-arg]
                )
        except asyncssh.HostKeyNotVerifiable:
            raise await self._changed_key_error(tunnel) from None
        except asyncssh.PermissionDenied:
            raise SshAuthFailed(t.user, t.host, t.port, self.tried()) from None
        except asyncssh.DisconnectError as exc:
            raise self._handshake_error(exc) from None
        except (OSError, asyncssh.ChannelOpenError) as exc:
            raise self._unreachable(exc) from None
        return conn

    def _credentials(self) -> tuple[Any, Any]:
        """``(client_keys, agent_path)`` for asyncssh: the key file alone, or agent + default keys."""
        import asyncssh

        key_file = self.target.key_file
        if key_file is None:
            return (), ()
        if self._keys is None:
            try:
                key = asyncssh.read_private_key(key_file, self.passphrase)
            except asyncssh.KeyEncryptionError:
                raise KeyPassphraseNeeded(key_file, wrong=self.passphrase is not None) from None
            except asyncssh.KeyImportError as exc:
                if self.passphrase is None and "passphrase" in str(exc).lower():
                    raise KeyPassphraseNeeded(key_file) from None
                raise SshError(
                    f"{self.target.login}: key file {key_file} is not a usable private key"
                ) from None
            except OSError as exc:
                raise SshError(
                    f"{self.target.login}: cannot read key file {key_file}: {exc.strerror or exc}"
                ) from None
            self._keys = [key]
            self.passphrase = None  # the decrypted key is all a reconnect needs
        return self._keys, None

    def tried(self) -> str:
        """What authentication offered, for :class:`SshAuthFailed`."""
        if self.target.key_file is not None:
            return f"key {self.target.key_file}"
        agent = "the ssh-agent" if os.environ.get("SSH_AUTH_SOCK") else "no ssh-agent (SSH_AUTH_SOCK unset)"
        return f"{agent} and the default keys in ~/.ssh (no key_file set)"

    def _unreachable(self, exc: BaseException) -> SshUnreachable:
        import socket

        import asyncssh

        t = self.target
        if isinstance(exc, TimeoutError):
            reason = f"no SSH answer within {self.connect_timeout:g} s"
        elif isinstance(exc, ConnectionRefusedError):
            reason = "connection refused (nothing listens on that port)"
        elif isinstance(exc, socket.gaierror):
            reason = f"cannot resolve {t.host}: {exc.strerror}"
        elif isinstance(exc, asyncssh.ChannelOpenError):
            jump = t.jump.address if t.jump else "the jump host"
            reason = f"{jump} could not reach it: {exc.reason}"
        elif isinstance(exc, OSError):
            reason = exc.strerror or str(exc) or type(exc).__name__
        else:
            reason = str(exc) or type(exc).__name__
        return SshUnreachable(t.host, t.port, reason)

    def _handshake_error(self, exc: Any) -> SshError:
        import asyncssh

        t = self.target
        if isinstance(exc, asyncssh.ConnectionLost):
            return SshUnreachable(
                t.host, t.port, f"connection closed during the SSH handshake ({exc.reason})"
            )
        return SshError(f"{t.host}:{t.port}: SSH handshake failed: {exc.reason}")

    # Host keys -----------------------------------------------------------------------------------

    async def _server_key(
        self, tunnel: asyncssh.SSHClientConnection | None, algorithms: tuple[str, ...] = ()
    ) -> asyncssh.SSHKey:
        """The host key the server presents (only the handshake: no credentials are offered)."""
        import asyncssh

        t = self.target
        try:
            async with asyncio.timeout(self.connect_timeout):
                key = await asyncssh.get_server_host_key(
                    t.host,
                    t.port,
                    tunnel=tunnel if tunnel is not None else (),
                    config=None,
                    server_host_key_algs=list(algorithms) if algorithms else (),
                )
        except asyncssh.DisconnectError as exc:
            raise self._handshake_error(exc) from None
        except (OSError, asyncssh.ChannelOpenError) as exc:
            raise self._unreachable(exc) from None
        if key is None:
            raise SshError(f"{t.address}: the server presented no host key to check")
        return key

    async def _pin_unknown_key(self, tunnel: asyncssh.SSHClientConnection | None) -> None:
        t = self.target
        key = await self._server_key(tunnel)
        kind, fingerprint = hostkeys.key_type(key), hostkeys.fingerprint(key)
        path = t.known_hosts_path
        if self.on_unknown_host is None or not await self.on_unknown_host(t.host, t.port, kind, fingerprint):
            raise HostKeyUnknown(t.host, t.port, fingerprint, kind, path)
        hostkeys.append_known_host(path, t.host, t.port, key)
        _log.info("ssh %s: pinned %s %s for %s in %s", t.name, kind, fingerprint, t.address, path)

    async def _changed_key_error(self, tunnel: asyncssh.SSHClientConnection | None) -> SshError:
        """Explain a host key asyncssh refused: which key is pinned where, which one was offered."""
        import asyncssh

        t = self.target
        path = t.known_hosts_path
        pinned = hostkeys.pinned_keys(path, t.host, t.port)
        algorithms = tuple(alg for p in pinned for alg in p.algorithms)
        try:
            offered = await self._server_key(tunnel, algorithms)
        except SshError:
            # The server no longer has a key of the pinned type: ask for whatever it has.
            offered = await self._server_key(tunnel)
        except asyncssh.Error:
            offered = await self._server_key(tunnel)
        kind, fingerprint = hostkeys.key_type(offered), hostkeys.fingerprint(offered)
        same_type = [p for p in pinned if p.key_type == kind] or pinned
        if not same_type:
            return SshError(f"{t.address}: host key {kind} {fingerprint} was refused by {path}")
        expected = same_type[0]
        return HostKeyChanged(
            t.host, t.port, expected.fingerprint, fingerprint, path, line=expected.line or None, key_type=kind
        )
