"""Where an edge node is and how to log in to it; what a remote command returned.

Pure data: importing this module does not load asyncssh.
"""

from __future__ import annotations

import getpass
from collections.abc import Awaitable, Callable
from dataclasses import KW_ONLY, dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from kdrtui.domain.plan import EdgeNode

#: Asked when a host offers a key known_hosts does not pin: ``(host, port, key_type, fingerprint)``
#: -> accept? An accepted key is appended to the target's known_hosts file.
HostKeyDecision = Callable[[str, int, str, str], Awaitable[bool]]

DEFAULT_KNOWN_HOSTS = Path("~/.ssh/known_hosts")


def _path(value: str | Path | None) -> Path | None:
    return Path(value).expanduser() if value else None


@dataclass(frozen=True)
class SshTarget:
    """One SSH destination: an edge node, or the jump host in front of one."""

    name: str
    """A name for messages and logs (the edge node's name)."""
    host: str
    """Host name or IP address."""
    port: int = 22
    """SSH port."""
    _: KW_ONLY
    user: str
    """Login user."""
    key_file: Path | None = None
    """Private key file; None: the ssh-agent (and ~/.ssh's default keys)."""
    known_hosts: Path | None = None
    """known_hosts file pinning host keys; None: ~/.ssh/known_hosts."""
    jump: SshTarget | None = None
    """Jump host the connection is tunnelled through, if any."""

    @property
    def address(self) -> str:
        """``host:port``."""
        return f"{self.host}:{self.port}"

    @property
    def login(self) -> str:
        """``user@host:port``."""
        return f"{self.user}@{self.host}:{self.port}"

    @property
    def known_hosts_path(self) -> Path:
        """The known_hosts file host keys are checked against and accepted keys are added to."""
        return (self.known_hosts or DEFAULT_KNOWN_HOSTS).expanduser()

    @classmethod
    def from_edge_node(cls, node: EdgeNode) -> SshTarget:
        """The target of a plan's ``[[edge_nodes]]`` entry (``~`` expanded).

        A ``jump_host`` of ``[user@]host[:port]`` becomes :attr:`jump`, logging in with the node's
        user unless it names one, with the node's key file and known_hosts file.
        """
        key_file = _path(node.key_file)
        known_hosts = _path(node.known_hosts)
        jump = None
        if node.jump_host:
            user, _, rest = node.jump_host.rpartition("@")
            host, sep, port = rest.rpartition(":")
            if not sep or not port.isdigit():
                host, port = rest, "22"
            jump = cls(
                f"{node.name} (jump)",
                host.strip("[]"),
                int(port),
                user=user or node.user,
                key_file=key_file,
                known_hosts=known_hosts,
            )
        return cls(
            node.name,
            node.host,
            node.port,
            user=node.user or getpass.getuser(),
            key_file=key_file,
            known_hosts=known_hosts,
            jump=jump,
        )


@dataclass(frozen=True)
class CommandResult:
    """What a remote command did."""

    command: str
    """The command line as sent."""
    exit_status: int | None
    """Its exit status; None when it was killed by a signal or never reported one."""
    stdout: str
    """Everything it wrote to stdout (UTF-8, undecodable bytes replaced)."""
    stderr: str
    """Everything it wrote to stderr."""
    signal: str | None = None
    """The signal that killed it (``"TERM"``, ``"KILL"``...), if one did."""

    @property
    def ok(self) -> bool:
        """Whether it exited with status 0."""
        return self.exit_status == 0
