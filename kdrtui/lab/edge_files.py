"""The files of an SSH edge node of the lab: where each lives, and making them ready to start.

Layout under ``<lab>/edge/`` (keys are generated once and kept; the rest is rewritten on start)::

    ssh_host_ed25519_key(.pub)  the node's host key
    id_ed25519(.pub)            the client key the lab plan logs in with (unencrypted, 0600)
    authorized_keys             that client key, authorised for the current user
    known_hosts                 pins the host key as [127.0.0.1]:<port>
    sshd_config                 the sshd backend's own configuration (nothing from /etc/ssh)
    edge.pid, edge.json         the listener's pid; the backend and port it runs with
    edge.log                    the server's log (sshd -E, or the asyncssh server's stderr)
    kafka/libs                  symlink to the lab's cached Kafka jars: kafka_home on the node
    work/                       the node's work directory for MirrorMaker deployments
"""

from __future__ import annotations

import getpass
import os
from pathlib import Path

from kdrtui.lab import edge_sshd
from kdrtui.lab.ports import LOCALHOST


def write_private(path: Path, data: bytes | str, mode: int = 0o600) -> None:
    """Write a file readable by its owner only, atomically."""
    raw = data.encode() if isinstance(data, str) else data
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    with os.fdopen(fd, "wb") as fh:
        fh.write(raw)
    os.chmod(tmp, mode)
    os.replace(tmp, path)


class EdgeNodeFiles:
    """The files of an edge node living in ``home``, for ``user`` (the current OS user) on ``port``."""

    def __init__(self, home: Path, *, port: int, kafka_libs: Path, name: str) -> None:
        self.home = home
        self.port = port
        self.kafka_libs = kafka_libs
        """The lab's Kafka jars, linked as ``kafka/libs``."""
        self.name = name
        self.user = getpass.getuser()

    # Paths ---------------------------------------------------------------------------------------

    @property
    def host_key(self) -> Path:
        """The node's ed25519 host key (private; ``.pub`` beside it)."""
        return self.home / "ssh_host_ed25519_key"

    @property
    def client_key(self) -> Path:
        """The unencrypted client key the lab plan logs in with."""
        return self.home / "id_ed25519"

    @property
    def authorized_keys(self) -> Path:
        """Keys allowed to log in as :attr:`user`."""
        return self.home / "authorized_keys"

    @property
    def known_hosts(self) -> Path:
        """known_hosts pinning the host key as ``[127.0.0.1]:<port>``."""
        return self.home / "known_hosts"

    @property
    def sshd_config(self) -> Path:
        """The sshd backend's configuration (its absolute path identifies the listener)."""
        return self.home / "sshd_config"

    @property
    def pid_file(self) -> Path:
        """The listener's pid."""
        return self.home / "edge.pid"

    @property
    def info_file(self) -> Path:
        """The backend and port the running listener was started with."""
        return self.home / "edge.json"

    @property
    def log_file(self) -> Path:
        """The server's log."""
        return self.home / "edge.log"

    @property
    def kafka_home(self) -> Path:
        """``kafka_home`` on the node: ``libs`` links to the lab's Kafka jars."""
        return self.home / "kafka"

    @property
    def work_dir(self) -> Path:
        """The node's work directory."""
        return self.home / "work"

    # Set-up --------------------------------------------------------------------------------------

    def ensure_keys(self) -> None:
        """Generate the host key and the client key once (kept across restarts and `lab down`)."""
        import asyncssh

        self.home.mkdir(mode=0o700, parents=True, exist_ok=True)
        for path, comment in ((self.host_key, "kdrtui-lab-edge-host"), (self.client_key, "kdrtui-lab")):
            if path.exists() and path.with_suffix(".pub").exists():
                continue
            key = asyncssh.generate_private_key("ssh-ed25519", comment=comment)
            write_private(path, key.export_private_key("openssh"))
            path.with_suffix(".pub").write_bytes(key.export_public_key("openssh"))

    def host_public_key_line(self) -> str:
        """``ssh-ed25519 AAAA...`` of the host key (without its comment)."""
        return " ".join(self.host_key.with_suffix(".pub").read_text().split()[:2])

    def prepare(self) -> None:
        """Keys, authorized_keys, known_hosts, sshd_config, kafka/libs and work/: ready to start."""
        self.ensure_keys()
        client_pub = " ".join(self.client_key.with_suffix(".pub").read_text().split()[:2])
        write_private(self.authorized_keys, f"{client_pub} kdrtui-lab\n")
        write_private(self.known_hosts, f"[{LOCALHOST}]:{self.port} {self.host_public_key_line()}\n")
        self.sshd_config.write_text(self.render_sshd_config(), encoding="utf-8")
        self.link_kafka_libs()
        self.work_dir.mkdir(exist_ok=True)

    def link_kafka_libs(self) -> None:
        """Point ``kafka/libs`` at :attr:`kafka_libs` (atomically; nothing changes when it already does)."""
        self.home.mkdir(mode=0o700, parents=True, exist_ok=True)
        self.kafka_home.mkdir(exist_ok=True)
        libs = self.kafka_home / "libs"
        if not libs.is_symlink() or os.readlink(libs) != str(self.kafka_libs):
            tmp = self.kafka_home / "libs.tmp"
            tmp.unlink(missing_ok=True)
            tmp.symlink_to(self.kafka_libs, target_is_directory=True)
            os.replace(tmp, libs)

    def render_sshd_config(self) -> str:
        """sshd's configuration: this node only, keys only, nothing read from /etc/ssh."""
        return edge_sshd.render_config(
            name=self.name,
            port=self.port,
            host_key=self.host_key.resolve(),
            pid_file=(self.home / "sshd.pid").resolve(),
            authorized_keys=self.authorized_keys.resolve(),
            user=self.user,
        )
