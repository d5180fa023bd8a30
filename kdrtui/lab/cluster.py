"""One single-node KRaft Kafka cluster of the lab: configure, format, start, stop, observe.

Layout under ``<lab>/<alias>/``::

    server.properties   rewritten on every start (the pid check looks for this path)
    kafka.pid           the broker JVM's pid
    kafka.out           the JVM's stdout/stderr (crashes, JVM warnings)
    logs/server.log     the broker's log4j log
    data/               log.dirs (and the KRaft metadata log), formatted once
"""

from __future__ import annotations

import base64
import secrets
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kdrtui.lab import process
from kdrtui.lab.jars import KafkaDistribution, parse_version
from kdrtui.lab.ports import LOCALHOST, in_ephemeral_range, port_in_use
from kdrtui.lab.security import LabSecurity, write_private
from kdrtui.services.kafka.config import client_config, client_config_as


class ClusterError(RuntimeError):
    """A lab cluster could not be started or stopped. ``str()`` says why and where the log is."""


@dataclass(frozen=True)
class ClusterSpec:
    """Where one lab cluster listens and which region it stands in for."""

    alias: str
    region: str
    port: int
    controller_port: int

    @property
    def bootstrap(self) -> str:
        """``127.0.0.1:<port>``: the PLAINTEXT listener clients use."""
        return f"{LOCALHOST}:{self.port}"


@dataclass(frozen=True)
class ClusterStatus:
    """A snapshot of one lab cluster."""

    alias: str
    region: str
    bootstrap: str
    port: int
    controller_port: int
    up: bool
    pid: int | None
    #: The pid a pid file names when that process is gone or is not this cluster's broker
    #: (0: the pid file holds no readable pid).
    stale_pid: int | None
    #: Topics other than internal ``__*`` ones; None when the cluster is down or did not answer.
    topics: int | None
    cluster_id: str | None
    home: Path
    log: Path
    #: Extra facts about this snapshot ("reused", "started in 7.9 s"), for humans.
    notes: tuple[str, ...] = field(default=())

    @property
    def state(self) -> str:
        """``up``, ``stale`` (a pid file without its broker) or ``down``."""
        if self.up:
            return "up"
        return "stale" if self.stale_pid is not None else "down"

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form used by ``kdrtui lab status --json``."""
        return {
            "up": self.up,
            "state": self.state,
            "pid": self.pid,
            "stale_pid": self.stale_pid,
            "bootstrap": self.bootstrap,
            "region": self.region,
            "port": self.port,
            "controller_port": self.controller_port,
            "topics": self.topics,
            "cluster_id": self.cluster_id,
            "home": str(self.home),
            "log": str(self.log),
        }


@dataclass(frozen=True)
class Stopped:
    """A broker that :meth:`LabCluster.stop` stopped."""

    pid: int
    #: False when it ignored SIGTERM for the whole timeout and was SIGKILLed.
    clean: bool


def new_cluster_id() -> str:
    """A KRaft cluster id: URL-safe base64 of 16 random bytes, unpadded, not starting with '-'."""
    while True:
        cid = base64.urlsafe_b64encode(secrets.token_bytes(16)).decode().rstrip("=")
        if not cid.startswith("-"):
            return cid


class LabCluster:
    """One single-node KRaft cluster (broker and controller in one JVM) living in ``home``."""

    def __init__(
        self,
        spec: ClusterSpec,
        home: Path,
        *,
        auto_create_topics: bool = False,
        security: LabSecurity | None = None,
    ) -> None:
        self.spec = spec
        self.home = home
        self.auto_create_topics = auto_create_topics
        self.security = security if security is not None and security.mode != "plaintext" else None
        """The lab's secured mode (TLS listener, SCRAM users, authorizer); None for PLAINTEXT."""

    def admin_config(self) -> dict[str, Any]:
        """A client configuration for the lab's own set-up and checks: as its admin when secured."""
        if self.security is None:
            return client_config(self.spec.bootstrap)
        return client_config_as(self.spec.bootstrap, self.security.cluster_security("admin"))

    # Paths -----------------------------------------------------------------------------------

    @property
    def alias(self) -> str:
        """``primary`` or ``dr``."""
        return self.spec.alias

    @property
    def config_path(self) -> Path:
        """``server.properties``; its absolute path identifies this cluster's JVM in ``/proc``."""
        return self.home / "server.properties"

    @property
    def pid_file(self) -> Path:
        """The broker JVM's pid file."""
        return self.home / "kafka.pid"

    @property
    def data_dir(self) -> Path:
        """``log.dirs``: topic data and the KRaft metadata log."""
        return self.home / "data"

    @property
    def log_file(self) -> Path:
        """The broker's log4j log."""
        return self.home / "logs" / "server.log"

    @property
    def stdout_file(self) -> Path:
        """The JVM's stdout and stderr."""
        return self.home / "kafka.out"

    def _markers(self) -> list[str]:
        return ["kafka.Kafka", str(self.config_path.resolve())]

    # Configuration -----------------------------------------------------------------------------

    def render_properties(self, kafka_version: str) -> str:
        """``server.properties`` for a single-node KRaft cluster on 127.0.0.1.

        Replication factors and ISRs are 1 (one broker). Internal topics get 10 partitions instead of
        50 so the first consumer group does not wait for 50 partition leaders on a small machine.
        ``auto.create.topics.enable`` is false by default, as on HDInsight Kafka: a typo in a topic
        name is an error, not a new topic; MirrorMaker 2 and the traffic generator create topics
        through the admin API. A lab rehearsing MirrorMaker 1 can turn it on.
        """
        s = self.spec
        client = self.security.listener_name() if self.security is not None else "PLAINTEXT"
        lines = [
            f"# Written by kdrtui for lab cluster {s.alias!r} (stands in for {s.region}).",
            "# Rewritten on every `kdrtui lab up`; edits here are lost.",
            "process.roles=broker,controller",
            "node.id=1",
            f"controller.quorum.voters=1@{LOCALHOST}:{s.controller_port}",
            f"listeners={client}://{LOCALHOST}:{s.port},CONTROLLER://{LOCALHOST}:{s.controller_port}",
            f"advertised.listeners={client}://{LOCALHOST}:{s.port}",
            "controller.listener.names=CONTROLLER",
            f"inter.broker.listener.name={client}",
            f"listener.security.protocol.map=CONTROLLER:PLAINTEXT,{client}:{client}",
            f"log.dirs={self.data_dir.resolve()}",
            "num.partitions=1",
            "default.replication.factor=1",
            "min.insync.replicas=1",
            "offsets.topic.replication.factor=1",
            "offsets.topic.num.partitions=10",
            "transaction.state.log.replication.factor=1",
            "transaction.state.log.min.isr=1",
            "transaction.state.log.num.partitions=10",
            "group.initial.rebalance.delay.ms=0",
            # After a crash the restarted broker cannot register until the controller expires the old
            # incarnation's session (default 9 s); a short session makes kill-and-restart drills quick.
            "broker.heartbeat.interval.ms=500",
            "broker.session.timeout.ms=3000",
            f"auto.create.topics.enable={'true' if self.auto_create_topics else 'false'}",
            # Two JVMs share a laptop's cores with MirrorMaker and the console.
            "num.network.threads=2",
            "num.io.threads=4",
            "num.recovery.threads.per.data.dir=1",
        ]
        if parse_version(kafka_version)[0] >= 4:
            lines += [
                "share.coordinator.state.topic.replication.factor=1",
                "share.coordinator.state.topic.min.isr=1",
            ]
        if self.security is not None:
            lines += self.security.broker_properties(s.alias)
        return "\n".join(lines) + "\n"

    def cluster_id(self) -> str | None:
        """The id the data directory was formatted with, None if it is not formatted."""
        try:
            text = (self.data_dir / "meta.properties").read_text(encoding="utf-8")
        except OSError:
            return None
        for line in text.splitlines():
            key, _, value = line.partition("=")
            if key.strip() == "cluster.id":
                return value.strip()
        return None

    def is_formatted(self) -> bool:
        """Whether ``StorageTool format`` already ran on the data directory."""
        return self.cluster_id() is not None

    # Processes ---------------------------------------------------------------------------------

    def running_pid(self) -> int | None:
        """The broker's pid if the pid file names a live JVM running this cluster's config."""
        pid = process.read_pid(self.pid_file)
        if pid is not None and process.is_ours(pid, self._markers()):
            return pid
        return None

    def stale_pid(self) -> int | None:
        """The pid in a pid file that does not name this cluster's live broker, if any.

        0 means a pid file without a readable pid in it (stale too).
        """
        pid = process.read_pid(self.pid_file)
        if pid is None:
            return 0 if self.pid_file.exists() else None
        return None if process.is_ours(pid, self._markers()) else pid

    def clean_stale(self) -> int | None:
        """Remove a stale pid file; return the pid it named (None if there was nothing stale)."""
        stale = self.stale_pid()
        if stale is not None:
            self.pid_file.unlink(missing_ok=True)
        return stale

    def adopt_orphan(self) -> int | None:
        """Find this cluster's broker when its pid file was lost, and write the pid file again."""
        pid = process.find_ours(self._markers())
        if pid is not None:
            self.home.mkdir(parents=True, exist_ok=True)
            process.write_pid(self.pid_file, pid)
        return pid

    def format(self, dist: KafkaDistribution) -> str:
        """Format the data directory once with ``kafka.tools.StorageTool``; return the cluster id."""
        existing = self.cluster_id()
        if existing is not None:
            return existing
        cid = new_cluster_id()
        cmd = dist.java_command(
            "kafka.tools.StorageTool",
            "format",
            "-t",
            cid,
            "-c",
            str(self.config_path.resolve()),
            # SCRAM users are created with the storage in KRaft (the lab's own users, lab secrets).
            *(self.security.format_args() if self.security is not None else []),
            log_file=self.home / "logs" / "storage-tool.log",
            heap="256m",
        )
        try:
            proc = subprocess.run(
                cmd,
                cwd=self.home,
                env=process.lab_env(),
                capture_output=True,
                text=True,
                timeout=120,
                check=False,
            )
        except subprocess.TimeoutExpired as exc:
            raise ClusterError(f"{self.alias}: StorageTool format did not finish in 120 s") from exc
        if proc.returncode != 0:
            output = (proc.stdout + proc.stderr).strip()
            raise ClusterError(f"{self.alias}: StorageTool format failed (exit {proc.returncode}):\n{output}")
        return cid

    def start(self, dist: KafkaDistribution) -> int:
        """Write the config, format if needed and start the broker JVM detached; return its pid.

        The caller has made sure the cluster is not running (see :meth:`running_pid`). This does not
        wait for the broker to answer: see :meth:`wait_ready`.
        """
        for port in (self.spec.port, self.spec.controller_port):
            if port_in_use(port):
                hint = (
                    " (it is in the kernel's ephemeral port range, so it may be a client's own socket)"
                    if in_ephemeral_range(port)
                    else ""
                )
                raise ClusterError(
                    f"{self.alias}: port {port} on {LOCALHOST} is already in use{hint}; "
                    f"stop what holds it or choose other ports (kdrtui lab up --{self.alias}-port N)"
                )
        (self.home / "logs").mkdir(parents=True, exist_ok=True)
        self.data_dir.mkdir(parents=True, exist_ok=True)
        if self.security is not None:
            self.security.ensure([self.alias])
        # 0600: a secured broker's file holds its inter-broker SCRAM password.
        write_private(self.config_path, self.render_properties(dist.version).encode())
        self.format(dist)
        cmd = dist.java_command(
            "kafka.Kafka",
            str(self.config_path.resolve()),
            log_file=self.log_file,
            jvm_options=["-XX:+ExitOnOutOfMemoryError"],
        )
        with open(self.stdout_file, "a", encoding="utf-8") as out:
            out.write(f"\n--- {time.strftime('%Y-%m-%d %H:%M:%S')} kdrtui starting: {' '.join(cmd)}\n")
        pid = process.spawn_detached(cmd, log=self.stdout_file, cwd=self.home)
        process.write_pid(self.pid_file, pid)
        return pid

    def wait_ready(self, pid: int, timeout: float) -> float:
        """Wait until the broker answers ``describe_cluster``; return the seconds it took.

        Raises:
            ClusterError: the JVM exited (with the end of its logs), or the deadline passed.
        """
        from confluent_kafka.admin import AdminClient

        started = time.monotonic()
        deadline = started + timeout
        admin = AdminClient(self.admin_config())
        last_error = "no answer yet"
        while True:
            if not process.is_alive(pid):
                raise ClusterError(self._died_message(pid))
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise ClusterError(
                    f"{self.alias}: broker (pid {pid}) did not answer on {self.spec.bootstrap} within "
                    f"{timeout:.0f} s ({last_error}); see {self.log_file}"
                )
            try:
                desc = admin.describe_cluster(request_timeout=min(2.0, max(remaining, 0.5))).result(
                    timeout=min(3.0, max(remaining, 0.5))
                )
            except Exception as exc:  # KafkaException, or a future timing out: not ready yet
                last_error = " ".join(str(exc).split()) or type(exc).__name__
                time.sleep(0.1)
                continue
            if desc.nodes:
                return time.monotonic() - started

    def _died_message(self, pid: int) -> str:
        out = process.tail(self.stdout_file, 10)
        log = process.tail(self.log_file, 10)
        parts = [f"{self.alias}: the broker JVM (pid {pid}) exited during start-up."]
        if out:
            parts.append(f"--- {self.stdout_file} (last lines):\n{out}")
        if log:
            parts.append(f"--- {self.log_file} (last lines):\n{log}")
        return "\n".join(parts)

    def stop(self, timeout: float = 20.0) -> Stopped | None:
        """SIGTERM the broker, wait up to ``timeout`` s, then SIGKILL; remove the pid file.

        Returns what was stopped, or None if the cluster was not running.
        """
        pid = self.running_pid()
        stopped = None
        if pid is not None:
            stopped = Stopped(pid=pid, clean=process.terminate(pid, timeout))
        self.pid_file.unlink(missing_ok=True)
        return stopped

    def kill(self) -> int | None:
        """SIGKILL the broker (a crash, for fault drills); the pid file stays behind, stale."""
        pid = self.running_pid()
        if pid is not None:
            process.kill(pid)
        return pid

    # Observation -------------------------------------------------------------------------------

    def topic_count(self, timeout: float = 3.0) -> int | None:
        """Topics other than internal ``__*`` ones, or None if the broker does not answer in time."""
        from confluent_kafka.admin import AdminClient

        try:
            md = AdminClient(self.admin_config()).list_topics(timeout=timeout)
        except Exception:  # a broker that is down or busy: the status says "unknown", not an error
            return None
        return sum(1 for name in md.topics if not name.startswith("__"))

    def status(self, *, topics: bool = True, notes: tuple[str, ...] = ()) -> ClusterStatus:
        """A snapshot; ``topics=False`` skips the (up to a few seconds) metadata request."""
        pid = self.running_pid()
        stale = None if pid is not None else self.stale_pid()
        return ClusterStatus(
            alias=self.alias,
            region=self.spec.region,
            bootstrap=self.spec.bootstrap,
            port=self.spec.port,
            controller_port=self.spec.controller_port,
            up=pid is not None,
            pid=pid,
            stale_pid=stale,
            topics=self.topic_count() if topics and pid is not None else None,
            cluster_id=self.cluster_id(),
            home=self.home,
            log=self.log_file,
            notes=notes,
        )
