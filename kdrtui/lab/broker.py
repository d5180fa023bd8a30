"""One broker of a lab cluster: a KRaft JVM that is both broker and controller (combined mode).

Layout under its home (``<lab>/<alias>/`` for a one-broker cluster, ``<lab>/<alias>/broker-<id>/`` for
each broker of a larger one)::

    server.properties   rewritten on every start (the pid check looks for this path)
    kafka.pid           the broker JVM's pid
    kafka.out           the JVM's stdout/stderr (crashes, JVM warnings)
    logs/server.log     the broker's log4j log
    data/               log.dirs (and the KRaft metadata log), formatted once
"""

from __future__ import annotations

import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from kdrtui.lab import process
from kdrtui.lab.jars import KafkaDistribution, parse_version
from kdrtui.lab.ports import LOCALHOST, in_ephemeral_range, port_in_use
from kdrtui.lab.security import LabSecurity, write_private


@dataclass(frozen=True)
class ClusterSpec:
    """Where one lab cluster listens and which region it stands in for."""

    alias: str
    region: str
    port: int
    controller_port: int
    #: Brokers in the cluster (1, or 3 like an HDInsight cluster's worker nodes).
    brokers: int = 1
    #: The Azure emulator's NSG gate in front of a second, gated listener on ``port + 2`` (one PLAINTEXT
    #: broker only; see :mod:`kdrtui.lab.azure.gate`); None: no gated listener.
    gate_port: int | None = None
    #: The first broker's ``WAN`` listener (broker n's at ``wan_port + 2(n-1)``), advertised as the port
    #: above it, where the lab's WAN proxy listens (see :mod:`kdrtui.lab.wan`); None: no WAN listener.
    wan_port: int | None = None

    def node_port(self, node_id: int) -> int:
        """The client port of broker ``node_id`` (1-based); its controller listens on the next one."""
        return self.port + 2 * (node_id - 1)

    @property
    def ports(self) -> list[int]:
        """Every port the cluster's brokers listen on (clients' and controllers')."""
        return [self.node_port(n) + k for n in range(1, self.brokers + 1) for k in (0, 1)]

    @property
    def bootstrap(self) -> str:
        """``127.0.0.1:<port>`` of every broker, comma-separated: the listeners clients use."""
        return ",".join(f"{LOCALHOST}:{self.node_port(n)}" for n in range(1, self.brokers + 1))


class ClusterError(RuntimeError):
    """A lab cluster could not be started or stopped. ``str()`` says why and where the log is."""


def replication_settings(brokers: int) -> dict[str, int]:
    """The replication defaults a cluster of ``brokers`` gets: as HDInsight's (replication factor 3,
    ``min.insync.replicas`` 2) from three brokers, 1 and 1 below."""
    rf = 3 if brokers >= 3 else 1
    isr = 2 if brokers >= 3 else 1
    return {
        "default.replication.factor": rf,
        "min.insync.replicas": isr,
        "offsets.topic.replication.factor": rf,
        "transaction.state.log.replication.factor": rf,
        "transaction.state.log.min.isr": isr,
    }


class LabBroker:
    """One broker-and-controller JVM of a lab cluster (node id ``node_id`` of ``spec.brokers``)."""

    def __init__(
        self,
        spec: ClusterSpec,
        node_id: int,
        home: Path,
        *,
        auto_create_topics: bool = False,
        security: LabSecurity | None = None,
    ) -> None:
        self.spec = spec
        self.node_id = node_id
        self.home = home
        self.auto_create_topics = auto_create_topics
        self.security = security

    @property
    def name(self) -> str:
        """``primary`` for a one-broker cluster, ``primary:2`` for a broker of a larger one."""
        return self.spec.alias if self.spec.brokers == 1 else f"{self.spec.alias}:{self.node_id}"

    @property
    def port(self) -> int:
        """Its client listener's port."""
        return self.spec.node_port(self.node_id)

    @property
    def controller_port(self) -> int:
        """Its controller listener's port (the client port + 1)."""
        return self.port + 1

    @property
    def config_path(self) -> Path:
        """``server.properties``; its absolute path identifies this broker's JVM in ``/proc``."""
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
        """``server.properties`` for this node of a KRaft cluster on 127.0.0.1.

        Every node is broker and controller; the controller quorum is all of them. Replication defaults
        follow :func:`replication_settings`; each broker of a larger cluster stands in its own fault
        domain (``broker.rack`` fd0, fd1, …). Internal topics get 10 partitions instead of 50 so the
        first consumer group does not wait for 50 partition leaders on a small machine.
        ``auto.create.topics.enable`` is false by default, as on HDInsight Kafka: a typo in a topic name
        is an error, not a new topic; MirrorMaker 2 and the traffic generator create topics through the
        admin API. A lab rehearsing MirrorMaker 1 can turn it on.
        """
        s = self.spec
        client = self.security.listener_name() if self.security is not None else "PLAINTEXT"
        voters = ",".join(f"{node}@{LOCALHOST}:{s.node_port(node) + 1}" for node in range(1, s.brokers + 1))
        listeners = f"{client}://{LOCALHOST}:{self.port},CONTROLLER://{LOCALHOST}:{self.controller_port}"
        advertised = f"{client}://{LOCALHOST}:{self.port}"
        protocols = f"CONTROLLER:PLAINTEXT,{client}:{client}"
        if s.gate_port is not None and s.brokers == 1 and self.security is None:
            # Clients through the emulator's NSG gate are told the gate's address, never the broker's.
            listeners += f",GATED://{LOCALHOST}:{self.port + 2}"
            advertised += f",GATED://{LOCALHOST}:{s.gate_port}"
            protocols += ",GATED:PLAINTEXT"
        if s.wan_port is not None:
            # Clients across the lab's WAN are told the WAN proxy's address (the port above), same protocol.
            wan = s.wan_port + 2 * (self.node_id - 1)
            listeners += f",WAN://{LOCALHOST}:{wan}"
            advertised += f",WAN://{LOCALHOST}:{wan + 1}"
            protocols += f",WAN:{client}"
        lines = [
            f"# Written by kdrtui for lab cluster {s.alias!r} (stands in for {s.region}), "
            f"broker {self.node_id} of {s.brokers}.",
            "# Rewritten on every `kdrtui lab up`; edits here are lost.",
            "process.roles=broker,controller",
            f"node.id={self.node_id}",
            f"controller.quorum.voters={voters}",
            f"listeners={listeners}",
            f"advertised.listeners={advertised}",
            "controller.listener.names=CONTROLLER",
            f"inter.broker.listener.name={client}",
            f"listener.security.protocol.map={protocols}",
            f"log.dirs={self.data_dir.resolve()}",
            "num.partitions=1",
            *(f"{key}={value}" for key, value in replication_settings(s.brokers).items()),
            "offsets.topic.num.partitions=10",
            "transaction.state.log.num.partitions=10",
            "group.initial.rebalance.delay.ms=0",
            # After a crash the restarted broker cannot register until the controller expires the old
            # incarnation's session (default 9 s); a short session makes kill-and-restart drills quick.
            "broker.heartbeat.interval.ms=500",
            "broker.session.timeout.ms=3000",
            f"auto.create.topics.enable={'true' if self.auto_create_topics else 'false'}",
            # Several JVMs share a laptop's cores with MirrorMaker and the console.
            "num.network.threads=2",
            "num.io.threads=4" if s.brokers == 1 else "num.io.threads=2",
            "num.recovery.threads.per.data.dir=1",
        ]
        if s.brokers > 1:
            lines += [
                f"broker.rack=fd{(self.node_id - 1) % 3}",
                # A killed broker's replicas catch up quickly once it is back.
                "replica.lag.time.max.ms=10000",
            ]
        if parse_version(kafka_version)[0] >= 4:
            settings = replication_settings(s.brokers)
            lines += [
                f"share.coordinator.state.topic.replication.factor={settings['offsets.topic.replication.factor']}",
                f"share.coordinator.state.topic.min.isr={settings['min.insync.replicas']}",
            ]
        if self.security is not None:
            lines += self.security.broker_properties(s.alias)
            if s.wan_port is not None and self.security.sasl:
                # Each SASL listener needs its own JAAS entry; the WAN listener only verifies SCRAM clients.
                lines.append(
                    "listener.name.wan.scram-sha-512.sasl.jaas.config="
                    "org.apache.kafka.common.security.scram.ScramLoginModule required;"
                )
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

    # Processes ---------------------------------------------------------------------------------

    def running_pid(self) -> int | None:
        """The broker's pid if the pid file names a live JVM running this broker's config."""
        pid = process.read_pid(self.pid_file)
        if pid is not None and process.is_ours(pid, self._markers()):
            return pid
        return None

    def stale_pid(self) -> int | None:
        """The pid in a pid file that does not name this broker's live JVM, if any.

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
        """Find this broker's JVM when its pid file was lost, and write the pid file again."""
        pid = process.find_ours(self._markers())
        if pid is not None:
            self.home.mkdir(parents=True, exist_ok=True)
            process.write_pid(self.pid_file, pid)
        return pid

    def prepare(self, dist: KafkaDistribution) -> None:
        """Check its ports are free and write its ``server.properties`` (0600: a secured broker's file
        holds its inter-broker SCRAM password)."""
        for port in (self.port, self.controller_port):
            if port_in_use(port):
                hint = (
                    " (it is in the kernel's ephemeral port range, so it may be a client's own socket)"
                    if in_ephemeral_range(port)
                    else ""
                )
                raise ClusterError(
                    f"{self.name}: port {port} on {LOCALHOST} is already in use{hint}; "
                    f"stop what holds it or choose other ports (kdrtui lab up --{self.spec.alias}-port N)"
                )
        (self.home / "logs").mkdir(parents=True, exist_ok=True)
        self.data_dir.mkdir(parents=True, exist_ok=True)
        write_private(self.config_path, self.render_properties(dist.version).encode())

    def format(self, dist: KafkaDistribution, cluster_id: str) -> None:
        """Format the data directory with ``kafka.tools.StorageTool`` (once: a formatted one is kept)."""
        if self.cluster_id() is not None:
            return
        cmd = dist.java_command(
            "kafka.tools.StorageTool",
            "format",
            "-t",
            cluster_id,
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
            raise ClusterError(f"{self.name}: StorageTool format did not finish in 120 s") from exc
        if proc.returncode != 0:
            output = (proc.stdout + proc.stderr).strip()
            raise ClusterError(f"{self.name}: StorageTool format failed (exit {proc.returncode}):\n{output}")

    def launch(self, dist: KafkaDistribution) -> int:
        """Start the prepared, formatted broker JVM detached; return its pid (not waiting for it)."""
        heap = "512m" if self.spec.brokers == 1 else "384m"
        cmd = dist.java_command(
            "kafka.Kafka",
            str(self.config_path.resolve()),
            log_file=self.log_file,
            heap=heap,
            jvm_options=["-XX:+ExitOnOutOfMemoryError"],
        )
        with open(self.stdout_file, "a", encoding="utf-8") as out:
            out.write(f"\n--- {time.strftime('%Y-%m-%d %H:%M:%S')} kdrtui starting: {' '.join(cmd)}\n")
        pid = process.spawn_detached(cmd, log=self.stdout_file, cwd=self.home)
        process.write_pid(self.pid_file, pid)
        return pid

    def died_message(self, pid: int) -> str:
        """What to say when the JVM ``pid`` exited during start-up: the ends of its logs."""
        out = process.tail(self.stdout_file, 10)
        log = process.tail(self.log_file, 10)
        parts = [f"{self.name}: the broker JVM (pid {pid}) exited during start-up."]
        if out:
            parts.append(f"--- {self.stdout_file} (last lines):\n{out}")
        if log:
            parts.append(f"--- {self.log_file} (last lines):\n{log}")
        return "\n".join(parts)

    def stop(self, timeout: float = 20.0) -> tuple[int, bool] | None:
        """SIGTERM the JVM, wait up to ``timeout`` s, then SIGKILL; remove the pid file.

        Returns ``(pid, clean)`` (clean: it exited on SIGTERM), None if it was not running.
        """
        pid = self.running_pid()
        stopped = None
        if pid is not None:
            stopped = (pid, process.terminate(pid, timeout))
        self.pid_file.unlink(missing_ok=True)
        return stopped

    def kill(self) -> int | None:
        """SIGKILL the JVM (a crash, for fault drills); the pid file stays behind, stale."""
        pid = self.running_pid()
        if pid is not None:
            process.kill(pid)
        return pid
