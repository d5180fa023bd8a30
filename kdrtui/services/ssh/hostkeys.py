"""Host keys: pinned in an OpenSSH known_hosts file, checked before any credential is offered.

Fingerprints are shown as OpenSSH shows them (``SHA256:`` + unpadded base64). An accepted key is
appended as a plain ``[host]:port key-type base64`` line (``host key-type base64`` on port 22), the
file created 0600 in a 0700 directory, exactly what ``ssh`` itself would write.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from kdrtui.services.ssh.errors import SshError

if TYPE_CHECKING:
    from asyncssh import SSHKey


def host_pattern(host: str, port: int) -> str:
    """How known_hosts names ``host:port``: ``host`` on port 22, else ``[host]:port``."""
    return host if port == 22 else f"[{host}]:{port}"


def fingerprint(key: SSHKey) -> str:
    """``SHA256:...`` as ``ssh-keygen -l`` prints it."""
    return str(key.get_fingerprint("sha256"))


def key_type(key: SSHKey) -> str:
    """The key's algorithm name (``ssh-ed25519``, ``ssh-rsa``, ``ecdsa-sha2-nistp256``...)."""
    algorithm = key.get_algorithm()
    return algorithm.decode() if isinstance(algorithm, bytes) else str(algorithm)


@dataclass(frozen=True)
class PinnedKey:
    """A key known_hosts trusts for a host, and where it is."""

    key_type: str
    fingerprint: str
    #: 1-based line in the known_hosts file (0 if it could not be found again).
    line: int
    #: The signature algorithms the key can be used with (to ask the server for this key type).
    algorithms: tuple[str, ...]


def pinned_keys(path: Path, host: str, port: int) -> list[PinnedKey]:
    """The keys ``path`` trusts for ``host:port`` (asyncssh's matching rules), [] if none or no file.

    Raises:
        SshError: the file exists but cannot be read or parsed.
    """
    import asyncssh

    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return []
    except (OSError, UnicodeDecodeError) as exc:
        raise SshError(f"{host}:{port}: cannot read known_hosts file {path}: {exc}") from exc
    try:
        trusted = asyncssh.import_known_hosts(text).match(host, "", port)[0]
    except ValueError as exc:
        raise SshError(f"{host}:{port}: known_hosts file {path} is not valid: {exc}") from exc
    lines = text.splitlines()

    def pins(text_line: str, blob: str) -> bool:
        if blob not in text_line.split():
            return False
        try:
            return bool(asyncssh.import_known_hosts(text_line).match(host, "", port)[0])
        except ValueError:
            return False

    result: list[PinnedKey] = []
    seen: set[str] = set()
    for key in trusted:  # host and address may both match the same entry: once each
        blob = key.export_public_key("openssh").split()[1].decode()
        if blob in seen:
            continue
        seen.add(blob)
        line = next((n for n, text_line in enumerate(lines, 1) if pins(text_line, blob)), 0)
        result.append(
            PinnedKey(
                key_type=key_type(key),
                fingerprint=fingerprint(key),
                line=line,
                algorithms=tuple(alg.decode() for alg in key.sig_algorithms),
            )
        )
    return result


def known_hosts_line(host: str, port: int, key: SSHKey) -> str:
    """The known_hosts line pinning ``key`` for ``host:port`` (no comment, with a newline)."""
    algorithm, blob = key.export_public_key("openssh").split()[:2]
    return f"{host_pattern(host, port)} {algorithm.decode()} {blob.decode()}\n"


def append_known_host(path: Path, host: str, port: int, key: SSHKey) -> None:
    """Pin ``key`` for ``host:port`` at the end of ``path`` (created 0600, its directory 0700)."""
    if not path.parent.exists():
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o600)
    with os.fdopen(fd, "a+", encoding="utf-8") as fh:
        fh.seek(0, os.SEEK_END)
        prefix = ""
        if fh.tell() > 0:
            fh.seek(fh.tell() - 1)
            if fh.read(1) != "\n":
                prefix = "\n"
        fh.write(prefix + known_hosts_line(host, port, key))
        fh.flush()
        os.fsync(fh.fileno())
