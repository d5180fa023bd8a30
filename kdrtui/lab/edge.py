"""The lab's SSH edge node: where MirrorMaker runs for the ``dr`` cluster, reached over real SSH.

Backends: OpenSSH's ``sshd`` (what HDInsight edge nodes run) when ``/usr/sbin/sshd`` exists, else an
asyncssh server (:mod:`kdrtui.lab.edge_server`). Either listens on 127.0.0.1 only, takes public keys
only, for the current OS user only, and is started detached so it outlives the command.

Its files (keys, known_hosts, sshd's configuration, pid and log...) are laid out and prepared by
:class:`kdrtui.lab.edge_files.EdgeNodeFiles`.
"""

from __future__ import annotations

import contextlib
import getpass
import json
import os
import signal
import socket
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import kdrtui
from kdrtui.lab import edge_sshd, process
from kdrtui.lab.edge_files import EdgeNodeFiles
from kdrtui.lab.edge_sshd import SSHD, established
from kdrtui.lab.ports import LOCALHOST, port_in_use
from kdrtui.services.ssh.target import SshTarget

#: The edge node's SSH port unless told otherwise (``lab up --edge-port``, ``KDRTUI_LAB_EDGE_PORT``).
DEFAULT_EDGE_PORT = 12222
EDGE_PORT_ENV = "KDRTUI_LAB_EDGE_PORT"
EDGE_NAME = "dr-edge-1"
BACKENDS = ("sshd", "asyncssh")

#: How long ``start`` waits for the server's SSH banner.
READY_TIMEOUT_S = 20.0


class EdgeError(RuntimeError):
    """The edge node could not be started or stopped. ``str()`` says why and where its log is."""


def default_backend() -> str:
    """``sshd`` when OpenSSH's server is installed, else ``asyncssh``."""
    return "sshd" if SSHD.exists() else "asyncssh"


@dataclass(frozen=True)
class EdgeStatus:
    """A snapshot of the lab's edge node."""

    name: str
    cluster: str
    up: bool
    pid: int | None
    stale_pid: int | None
    port: int
    backend: str
    user: str
    home: Path
    log: Path
    #: Extra facts about this snapshot ("reused", "started in 0.3 s"), for humans.
    notes: tuple[str, ...] = ()

    @property
    def state(self) -> str:
        """``up``, ``stale`` (a pid file without its server) or ``down``."""
        if self.up:
            return "up"
        return "stale" if self.stale_pid is not None else "down"

    @property
    def address(self) -> str:
        """``user@127.0.0.1:port``."""
        return f"{self.user}@{LOCALHOST}:{self.port}"

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form used by ``kdrtui lab status --json``."""
        return {
            "up": self.up,
            "state": self.state,
            "pid": self.pid,
            "stale_pid": self.stale_pid,
            "port": self.port,
            "backend": self.backend,
            "cluster": self.cluster,
            "host": LOCALHOST,
            "user": self.user,
            "home": str(self.home),
            "log": str(self.log),
        }


class LabEdgeNode(EdgeNodeFiles):
    """The lab's SSH edge node living in ``home`` (``<lab>/edge``), serving ``user`` on ``port``."""

    def __init__(
        self,
        home: Path,
        *,
        port: int = DEFAULT_EDGE_PORT,
        backend: str | None = None,
        kafka_libs: Path,
        cluster: str = "dr",
        name: str = EDGE_NAME,
    ) -> None:
        backend = backend or default_backend()
        if backend not in BACKENDS:
            raise ValueError(f"unknown edge backend {backend!r}; use one of {', '.join(BACKENDS)}")
        super().__init__(home, port=port, kafka_libs=kafka_libs, name=name)
        self.backend = backend
        self.cluster = cluster

    # Processes -----------------------------------------------------------------------------------

    def _markers(self, backend: str) -> list[str]:
        if backend == "sshd":
            return ["sshd", str(self.sshd_config.resolve())]
        return ["kdrtui.lab.edge", "serve", str(self.home.resolve())]

    def running(self) -> tuple[int, str] | None:
        """``(pid, backend)`` of this node's live listener, None if it is not running."""
        pid = process.read_pid(self.pid_file)
        if pid is None:
            return None
        for backend in BACKENDS:
            if process.is_ours(pid, self._markers(backend)):
                return pid, backend
        return None

    def running_pid(self) -> int | None:
        """The listener's pid if it is running."""
        found = self.running()
        return found[0] if found else None

    def running_port(self) -> int | None:
        """The port the running listener was started on (from ``edge.json``)."""
        try:
            info = json.loads(self.info_file.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        port = info.get("port") if isinstance(info, dict) else None
        return port if isinstance(port, int) else None

    def stale_pid(self) -> int | None:
        """The pid a pid file names when that is not this node's listener (0: unreadable)."""
        pid = process.read_pid(self.pid_file)
        if pid is None:
            return 0 if self.pid_file.exists() else None
        return None if self.running() is not None else pid

    def clean_stale(self) -> int | None:
        """Remove a stale pid file; return the pid it named."""
        stale = self.stale_pid()
        if stale is not None:
            self.pid_file.unlink(missing_ok=True)
        return stale

    def adopt_orphan(self) -> int | None:
        """Find this node's listener when its pid file was lost, and write the pid file again."""
        for backend in BACKENDS:
            pid = process.find_ours(self._markers(backend))
            if pid is not None:
                process.write_pid(self.pid_file, pid)
                return pid
        return None

    def _argv(self) -> list[str]:
        if self.backend == "sshd":
            # -f before -E: the listener's process title keeps the config path readable.
            return [
                str(SSHD),
                "-D",
                "-f",
                str(self.sshd_config.resolve()),
                "-E",
                str(self.log_file.resolve()),
            ]
        return [
            sys.executable, "-m", "kdrtui.lab.edge", "serve",
            "--home", str(self.home.resolve()), "--port", str(self.port), "--user", self.user,
        ]  # fmt: skip

    def start(self, timeout: float = READY_TIMEOUT_S) -> int:
        """Start the node unless it runs (restarting it if its port or backend changed); return its pid.

        Waits until the server sends its SSH banner.

        Raises:
            EdgeError: sshd is missing for the sshd backend, the port is taken, or the server died.
        """
        found = self.running()
        if found is not None:
            pid, backend = found
            if backend == self.backend and self.running_port() == self.port:
                return pid
            self.stop()
        self.clean_stale()
        if self.backend == "sshd" and not SSHD.exists():
            raise EdgeError(
                f"{self.name}: the sshd backend needs OpenSSH's server ({SSHD}): "
                "apt-get install openssh-server, or use --edge-backend asyncssh"
            )
        if port_in_use(self.port):
            raise EdgeError(
                f"{self.name}: port {self.port} on {LOCALHOST} is already in use; stop what holds it or "
                "choose another port (kdrtui lab up --edge-port N)"
            )
        self.prepare()
        env = dict(os.environ)
        if self.backend == "sshd":
            with contextlib.suppress(PermissionError):  # privilege separation needs it when root
                Path("/run/sshd").mkdir(mode=0o755, exist_ok=True)
        else:
            source_root = str(Path(kdrtui.__file__).resolve().parent.parent)
            env["PYTHONPATH"] = os.pathsep.join(p for p in (source_root, env.get("PYTHONPATH")) if p)
        with open(self.log_file, "a", encoding="utf-8") as log:
            log.write(
                f"--- {time.strftime('%Y-%m-%d %H:%M:%S')} kdrtui starting the {self.backend} edge node\n"
            )
        pid = process.spawn_detached(self._argv(), log=self.log_file, cwd=self.home, env=env)
        process.write_pid(self.pid_file, pid)
        tmp = self.info_file.with_name("edge.json.tmp")
        tmp.write_text(json.dumps({"backend": self.backend, "port": self.port, "pid": pid}) + "\n")
        os.replace(tmp, self.info_file)
        self._wait_ready(pid, timeout)
        return pid

    def _wait_ready(self, pid: int, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while True:
            if not process.is_alive(pid):
                self.pid_file.unlink(missing_ok=True)
                raise EdgeError(
                    f"{self.name}: the {self.backend} server (pid {pid}) exited during start-up; "
                    f"{self.log_file}:\n{process.tail(self.log_file, 15)}"
                )
            with contextlib.suppress(OSError), socket.create_connection((LOCALHOST, self.port), 1.0) as sock:
                if sock.recv(64).startswith(b"SSH-"):
                    return
            if time.monotonic() > deadline:
                process.terminate(pid, 5)
                self.pid_file.unlink(missing_ok=True)
                raise EdgeError(
                    f"{self.name}: no SSH banner on {LOCALHOST}:{self.port} within {timeout:.0f} s; "
                    f"see {self.log_file}"
                )
            time.sleep(0.05)

    def drop_connections(self, timeout: float = 5.0) -> int:
        """Drop every client connection from the server side, as a network failure would.

        sshd: SIGKILL its per-connection processes (the listener stays). asyncssh: SIGUSR1, which
        aborts every connection. Returns how many connections were established; waits until they
        are gone (at most ``timeout`` s).
        """
        found = self.running()
        if found is None:
            raise EdgeError(f"{self.name} is not running; start the lab with `kdrtui lab up`")
        pid, backend = found
        before = established(self.port)
        if backend == "sshd":
            for child in edge_sshd.session_processes(pid):
                with contextlib.suppress(ProcessLookupError):
                    os.kill(child, signal.SIGKILL)
        else:
            os.kill(pid, signal.SIGUSR1)
        deadline = time.monotonic() + timeout
        while before & established(self.port) and time.monotonic() < deadline:
            time.sleep(0.02)
        return len(before)

    def stop(self, timeout: float = 10.0) -> tuple[int, bool] | None:
        """SIGTERM the listener (SIGKILL after ``timeout`` s) and end its connections.

        Returns ``(pid, clean)``, or None if the node was not running.
        """
        found = self.running()
        result = None
        if found is not None:
            pid, backend = found
            sessions = edge_sshd.session_processes(pid) if backend == "sshd" else []
            result = (pid, process.terminate(pid, timeout))
            for child in sessions:  # sshd's sessions outlive its listener
                with contextlib.suppress(ProcessLookupError):
                    os.kill(child, signal.SIGTERM)
            for child in sessions:
                if not process.wait_gone(child, 2.0):
                    process.kill(child)
        self.pid_file.unlink(missing_ok=True)
        return result

    def kill(self) -> int | None:
        """SIGKILL the listener (a crash); the pid file stays behind, stale."""
        pid = self.running_pid()
        if pid is not None:
            process.kill(pid)
        return pid

    # Views ---------------------------------------------------------------------------------------

    def status(self, *, notes: tuple[str, ...] = ()) -> EdgeStatus:
        """A snapshot; changes nothing."""
        found = self.running()
        return EdgeStatus(
            name=self.name,
            cluster=self.cluster,
            up=found is not None,
            pid=found[0] if found else None,
            stale_pid=None if found else self.stale_pid(),
            port=(self.running_port() or self.port) if found else self.port,
            backend=found[1] if found else self.backend,
            user=self.user,
            home=self.home,
            log=self.log_file,
            notes=notes,
        )

    def target(self) -> SshTarget:
        """How to log in to the node (the lab's client key, its pinned host key)."""
        return SshTarget(
            self.name,
            LOCALHOST,
            self.port,
            user=self.user,
            key_file=self.client_key,
            known_hosts=self.known_hosts,
        )

    def plan_entry(self) -> dict[str, Any]:
        """The node as a plan's ``[[edge_nodes]]`` entry."""
        return {
            "name": self.name,
            "cluster": self.cluster,
            "host": LOCALHOST,
            "port": self.port,
            "user": self.user,
            "key_file": str(self.client_key.resolve()),
            "known_hosts": str(self.known_hosts.resolve()),
            "kafka_home": str(self.kafka_home.resolve()),
        }


def _main(argv: list[str]) -> None:
    import argparse

    parser = argparse.ArgumentParser(prog="python -m kdrtui.lab.edge")
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="run the asyncssh edge node server in the foreground")
    serve.add_argument("--home", type=Path, required=True)
    serve.add_argument("--port", type=int, required=True)
    serve.add_argument("--user", default=getpass.getuser())
    args = parser.parse_args(argv)
    from kdrtui.lab.edge_server import main

    main(args.home, args.port, args.user)


if __name__ == "__main__":
    _main(sys.argv[1:])
