"""One KRaft Kafka cluster of the lab — one broker, or three like an HDInsight cluster's workers:
configure, format, start, stop, observe.

Each broker is a JVM that is broker and controller at once (:class:`~kdrtui.lab.broker.LabBroker`); the
controller quorum is every broker. A one-broker cluster lives in ``<lab>/<alias>/``, the brokers of a
larger one in ``<lab>/<alias>/broker-<id>/``. Broker ``n`` listens on ``port + 2 (n - 1)`` for clients and
the next port up for the controller.
"""

from __future__ import annotations

import base64
import secrets
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kdrtui.lab import process
from kdrtui.lab.broker import ClusterError, ClusterSpec, LabBroker
from kdrtui.lab.jars import KafkaDistribution
from kdrtui.lab.ports import LOCALHOST
from kdrtui.lab.security import LabSecurity
from kdrtui.services.kafka.config import client_config, client_config_as

__all__ = ["ClusterError", "ClusterSpec", "ClusterStatus", "LabBroker", "LabCluster", "Stopped"]


@dataclass(frozen=True)
class ClusterStatus:
    """A snapshot of one lab cluster."""

    alias: str
    region: str
    bootstrap: str
    port: int
    controller_port: int
    #: Every broker runs.
    up: bool
    #: The first running broker's pid.
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
    #: Brokers the cluster has, and the pid of each that runs (None: down).
    brokers: int = 1
    pids: dict[int, int | None] = field(default_factory=dict)

    @property
    def brokers_up(self) -> int:
        """How many of its brokers run."""
        return sum(1 for pid in self.pids.values() if pid is not None) if self.pids else int(self.up)

    @property
    def state(self) -> str:
        """``up``, ``degraded`` (some brokers down), ``stale`` (pid files without their brokers) or
        ``down``."""
        if self.up:
            return "up"
        if self.brokers_up:
            return "degraded"
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
            "brokers": self.brokers,
            "brokers_up": self.brokers_up,
            "pids": {str(node): pid for node, pid in self.pids.items()},
            "home": str(self.home),
            "log": str(self.log),
        }


@dataclass(frozen=True)
class Stopped:
    """A broker that :meth:`LabCluster.stop` stopped."""

    pid: int
    #: ``primary`` for a one-broker cluster, ``primary:2`` for a broker of a larger one.
    name: str
    #: False when it ignored SIGTERM for the whole timeout and was SIGKILLed.
    clean: bool


def new_cluster_id() -> str:
    """A KRaft cluster id: URL-safe base64 of 16 random bytes, unpadded, not starting with '-'."""
    while True:
        cid = base64.urlsafe_b64encode(secrets.token_bytes(16)).decode().rstrip("=")
        if not cid.startswith("-"):
            return cid


class LabCluster:
    """One KRaft cluster of ``spec.brokers`` brokers (each broker and controller in one JVM) in ``home``."""

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
        #: Its brokers, node ids 1..N.
        self.brokers = [
            LabBroker(
                spec,
                node,
                home if spec.brokers == 1 else home / f"broker-{node}",
                auto_create_topics=auto_create_topics,
                security=self.security,
            )
            for node in range(1, spec.brokers + 1)
        ]

    def admin_config(self, bootstrap: str | None = None) -> dict[str, Any]:
        """A client configuration for the lab's own set-up and checks: as its admin when secured
        (``bootstrap``: these brokers only, default all)."""
        servers = bootstrap or self.spec.bootstrap
        if self.security is None:
            return client_config(servers)
        return client_config_as(servers, self.security.cluster_security("admin"))

    @property
    def alias(self) -> str:
        """``primary`` or ``dr``."""
        return self.spec.alias

    def broker(self, node_id: int) -> LabBroker:
        """Broker ``node_id`` (1-based)."""
        if not 1 <= node_id <= len(self.brokers):
            raise ClusterError(
                f"{self.alias} has {len(self.brokers)} broker{'s' if len(self.brokers) > 1 else ''}: "
                f"no broker {node_id} (choose {self.alias}:1"
                + (f"..{len(self.brokers)})" if len(self.brokers) > 1 else ")")
            )
        return self.brokers[node_id - 1]

    # The first broker's files (the only broker's, in a one-broker cluster).

    @property
    def config_path(self) -> Path:
        """The first broker's ``server.properties``."""
        return self.brokers[0].config_path

    @property
    def pid_file(self) -> Path:
        """The first broker's pid file."""
        return self.brokers[0].pid_file

    @property
    def log_file(self) -> Path:
        """The first broker's log4j log."""
        return self.brokers[0].log_file

    @property
    def pid_files(self) -> list[Path]:
        """Every broker's pid file."""
        return [broker.pid_file for broker in self.brokers]

    # Configuration -----------------------------------------------------------------------------

    def cluster_id(self) -> str | None:
        """The id its brokers' storage was formatted with, None if none is formatted."""
        return next((cid for broker in self.brokers if (cid := broker.cluster_id()) is not None), None)

    def is_formatted(self) -> bool:
        """Whether ``StorageTool format`` already ran for one of its brokers, in this layout or in the
        other one (a one-broker cluster's storage in ``home/data``, a larger one's in ``home/broker-n``)."""
        layouts = [self.home / "data", *self.home.glob("broker-*/data")]
        return self.cluster_id() is not None or any((d / "meta.properties").exists() for d in layouts)

    # Processes ---------------------------------------------------------------------------------

    def running_pids(self) -> dict[int, int | None]:
        """Node id -> the pid of its live broker JVM, None for a broker that does not run."""
        return {broker.node_id: broker.running_pid() for broker in self.brokers}

    def running_pid(self) -> int | None:
        """The pid of its first running broker, None if none runs."""
        return next((pid for pid in self.running_pids().values() if pid is not None), None)

    def down_brokers(self) -> list[LabBroker]:
        """The brokers that do not run."""
        return [broker for broker in self.brokers if broker.running_pid() is None]

    def stale_pid(self) -> int | None:
        """The pid a broker's stale pid file names (0: no readable pid), if a broker has one."""
        return next((pid for b in self.brokers if (pid := b.stale_pid()) is not None), None)

    def clean_stale(self) -> int | None:
        """Remove every broker's stale pid file; return the first pid they named (None: nothing stale)."""
        found = [pid for broker in self.brokers if (pid := broker.clean_stale()) is not None]
        return found[0] if found else None

    def adopt_orphan(self) -> int | None:
        """Find brokers that run without their pid file and write it again; return the first pid."""
        found = [pid for broker in self.down_brokers() if (pid := broker.adopt_orphan()) is not None]
        return found[0] if found else None

    def start(self, dist: KafkaDistribution) -> dict[int, int]:
        """Write the configs, format what is not formatted yet, and start the brokers that do not run,
        detached; return node id -> pid of those started.

        Every broker is formatted with the cluster's id (a new one for a new cluster). This does not
        wait for the brokers to answer: see :meth:`wait_ready`.
        """
        to_start = self.down_brokers()
        if self.security is not None:
            self.security.ensure([self.alias])
        for broker in to_start:
            broker.prepare(dist)
        cid = self.cluster_id() or new_cluster_id()
        with ThreadPoolExecutor(max_workers=max(1, len(to_start))) as pool:
            list(pool.map(lambda broker: broker.format(dist, cid), to_start))
        return {broker.node_id: broker.launch(dist) for broker in to_start}

    def wait_ready(self, timeout: float, pids: dict[int, int] | None = None) -> float:
        """Wait until every broker has registered, as every broker sees it (each one's metadata lists all
        node ids: a broker's cache follows the controller a moment late, and a client asks any of them);
        return the seconds it took.

        Each try asks a new client for the metadata: a client that met the brokers while they were still
        starting can keep waiting for a controller it was never told about.

        Args:
            pids: the JVMs just started (node id -> pid): one that exits fails the wait at once.

        Raises:
            ClusterError: a JVM exited (with the end of its logs), or the deadline passed.
        """
        started = time.monotonic()
        deadline = started + timeout
        wanted = {broker.node_id for broker in self.brokers}
        last_error = "no answer yet"
        while True:
            for node, pid in (pids or {}).items():
                if not process.is_alive(pid):
                    raise ClusterError(self.broker(node).died_message(pid))
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise ClusterError(
                    f"{self.alias}: brokers did not all answer on {self.spec.bootstrap} within "
                    f"{timeout:.0f} s ({last_error}); see {self.log_file}"
                )
            views = self.broker_views(timeout=min(3.0, max(remaining, 0.5)))
            behind = {n: seen for n, seen in views.items() if isinstance(seen, str) or not wanted <= seen}
            if not behind:
                return time.monotonic() - started
            node, seen = next(iter(behind.items()))
            last_error = (
                f"broker {node}: {seen}"  # no answer yet
                if isinstance(seen, str)
                else f"broker {node} sees brokers {sorted(seen)} of {sorted(wanted)} registered"
            )
            time.sleep(0.2)

    def broker_views(self, timeout: float = 5.0) -> dict[int, set[int] | str]:
        """Each broker's own answer (its metadata cache) to "which brokers are alive?": node id -> the ids
        it lists, or why it did not answer. A broker's cache follows the controller a moment late, and a
        client asks any of them: they can disagree for a while."""
        from confluent_kafka.admin import AdminClient

        views: dict[int, set[int] | str] = {}
        for broker in self.brokers:
            try:
                admin = AdminClient(self.admin_config(f"{LOCALHOST}:{self.spec.node_port(broker.node_id)}"))
                views[broker.node_id] = set(admin.list_topics(timeout=timeout).brokers)
            except Exception as exc:  # KafkaException, or no answer in time
                views[broker.node_id] = " ".join(str(exc).split()) or type(exc).__name__
        return views

    def stop(self, timeout: float = 20.0) -> list[Stopped]:
        """SIGTERM every broker at once, wait up to ``timeout`` s, then SIGKILL; remove the pid files.

        Returns the brokers that were stopped (empty if none was running).
        """
        with ThreadPoolExecutor(max_workers=len(self.brokers)) as pool:
            results = list(pool.map(lambda broker: broker.stop(timeout), self.brokers))
        return [
            Stopped(pid=found[0], name=broker.name, clean=found[1])
            for broker, found in zip(self.brokers, results, strict=True)
            if found is not None
        ]

    def kill(self, node_id: int | None = None) -> int | None:
        """SIGKILL broker ``node_id``, or every broker (a crash, for fault drills); pid files stay behind,
        stale. Returns the (first) pid killed, None if nothing ran."""
        brokers = self.brokers if node_id is None else [self.broker(node_id)]
        killed = [pid for broker in brokers if (pid := broker.kill()) is not None]
        return killed[0] if killed else None

    # Observation -------------------------------------------------------------------------------

    def topic_count(self, timeout: float = 3.0) -> int | None:
        """Topics other than internal ``__*`` ones, or None if no broker answers in time."""
        from confluent_kafka.admin import AdminClient

        try:
            md = AdminClient(self.admin_config()).list_topics(timeout=timeout)
        except Exception:  # a broker that is down or busy: the status says "unknown", not an error
            return None
        return sum(1 for name in md.topics if not name.startswith("__"))

    def status(self, *, topics: bool = True, notes: tuple[str, ...] = ()) -> ClusterStatus:
        """A snapshot; ``topics=False`` skips the (up to a few seconds) metadata request."""
        pids = self.running_pids()
        running = [pid for pid in pids.values() if pid is not None]
        pid = running[0] if running else None
        return ClusterStatus(
            alias=self.alias,
            region=self.spec.region,
            bootstrap=self.spec.bootstrap,
            port=self.spec.port,
            controller_port=self.spec.controller_port,
            up=len(running) == len(self.brokers),
            pid=pid,
            stale_pid=None if pid is not None else self.stale_pid(),
            topics=self.topic_count() if topics and pid is not None else None,
            cluster_id=self.cluster_id(),
            home=self.home,
            log=self.log_file,
            notes=notes,
            brokers=len(self.brokers),
            pids=pids,
        )
