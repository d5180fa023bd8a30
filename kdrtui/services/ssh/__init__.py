"""Edge-node sessions over SSH (asyncssh): pinned host keys, keepalive, reconnect, run/stream/upload.

Importing this package does not load asyncssh; the first connection does.
"""

from kdrtui.services.ssh.errors import (
    HostKeyChanged,
    HostKeyUnknown,
    KeyPassphraseNeeded,
    RemoteCommandFailed,
    SshAuthFailed,
    SshCommandTimeout,
    SshConnectionLost,
    SshError,
    SshUnreachable,
)
from kdrtui.services.ssh.session import EdgeSession
from kdrtui.services.ssh.stream import CommandStream
from kdrtui.services.ssh.target import CommandResult, HostKeyDecision, SshTarget

__all__ = [
    "CommandResult",
    "CommandStream",
    "EdgeSession",
    "HostKeyChanged",
    "HostKeyDecision",
    "HostKeyUnknown",
    "KeyPassphraseNeeded",
    "RemoteCommandFailed",
    "SshAuthFailed",
    "SshCommandTimeout",
    "SshConnectionLost",
    "SshError",
    "SshTarget",
    "SshUnreachable",
]
