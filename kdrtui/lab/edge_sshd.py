"""OpenSSH's sshd as the lab edge node's server: its own configuration, and its sessions in /proc.

The listener runs with ``-D -f <config> -E <log>``; every client connection gets its own sshd
process under it (``sshd: user@notty``), whose children are the user's commands. Killing those
per-connection processes drops the connections as a network failure would, and leaves the listener
(and the commands) alone.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from kdrtui.lab.ports import LOCALHOST

SSHD = Path("/usr/sbin/sshd")

_PROC = Path("/proc")


def render_config(
    *, name: str, port: int, host_key: Path, pid_file: Path, authorized_keys: Path, user: str
) -> str:
    """An sshd_config for one lab node: 127.0.0.1 only, public keys only, nothing from /etc/ssh."""
    java = shutil.which("java")
    path = ":".join(
        dict.fromkeys([*([str(Path(java).parent)] if java else []), "/usr/local/bin", "/usr/bin", "/bin"])
    )
    lines = [
        f"# Written by kdrtui for the lab edge node {name}; rewritten on every start.",
        f"ListenAddress {LOCALHOST}",
        f"Port {port}",
        f"HostKey {host_key}",
        f"PidFile {pid_file}",
        f"AuthorizedKeysFile {authorized_keys}",
        f"AllowUsers {user}",
        "PubkeyAuthentication yes",
        "PasswordAuthentication no",
        "KbdInteractiveAuthentication no",
        "HostbasedAuthentication no",
        "UsePAM no",
        "StrictModes no",
        "PermitRootLogin prohibit-password",
        "X11Forwarding no",
        "AllowTcpForwarding yes",
        "Subsystem sftp internal-sftp",
        "ClientAliveInterval 5",
        # sshd's compiled-in PATH may lack the directory java is in.
        f"SetEnv PATH={path}",
    ]
    return "\n".join(lines) + "\n"


def _children() -> dict[int, list[int]]:
    """Parent pid -> child pids, for every process in /proc."""
    tree: dict[int, list[int]] = {}
    for entry in _PROC.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        fields = stat[stat.rfind(")") + 2 :].split()
        if len(fields) > 1 and fields[1].isdigit():
            tree.setdefault(int(fields[1]), []).append(int(entry.name))
    return tree


def _comm(pid: int) -> str:
    try:
        return (_PROC / str(pid) / "comm").read_text().strip()
    except OSError:
        return ""


def session_processes(listener: int) -> list[int]:
    """sshd's per-connection processes under ``listener`` (``sshd``/``sshd-session``; never commands)."""
    tree = _children()
    found: list[int] = []
    todo = list(tree.get(listener, []))
    while todo:
        child = todo.pop()
        if _comm(child).startswith("sshd"):
            found.append(child)
            todo.extend(tree.get(child, []))
    return found


def established(port: int) -> set[int]:
    """Remote ports of the ESTABLISHED TCP connections to 127.0.0.1:``port`` (the server's side)."""
    remotes: set[int] = set()
    try:
        lines = (_PROC / "net" / "tcp").read_text().splitlines()[1:]
    except OSError:
        return remotes
    for line in lines:
        fields = line.split()
        if len(fields) < 4 or fields[3] != "01":
            continue
        local, remote = fields[1], fields[2]
        if int(local.split(":")[1], 16) == port:
            remotes.add(int(remote.split(":")[1], 16))
    return remotes
