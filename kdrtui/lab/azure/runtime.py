"""The real things behind emulated resources: a lab Kafka broker per cluster, an SSH edge node per
edge-node application, started and stopped in background jobs.

Layout under the emulator's home::

    clusters/<cluster name>/   a LabCluster (port base + 10 * slot, controller + 1)
    edges/<application name>/  a LabEdgeNode (edge port base + slot)

Jobs of one resource run one after another (a stop queued behind a start waits for it), so a cluster
deleted while its broker is starting ends with the broker stopped.
"""

from __future__ import annotations

import logging
import shutil
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from kdrtui.lab import jars, process
from kdrtui.lab.cluster import ClusterSpec, LabCluster
from kdrtui.lab.edge import LabEdgeNode

_log = logging.getLogger(__name__)

#: Default first client port of the emulator's brokers (cluster ``i`` uses base + 10 * i, controller + 1).
DEFAULT_PORT_BASE = 19392
#: Default first SSH port of the emulator's edge nodes (application ``i`` uses base + i).
DEFAULT_EDGE_PORT_BASE = 12232
#: Seconds to wait for a broker to answer after starting it.
BROKER_READY_S = 120.0
STOP_TIMEOUT_S = 20.0


def power_off(node: LabEdgeNode) -> tuple[int, bool] | None:
    """Stop an edge node's SSH server and, as its VM going away would, abruptly, everything that ran on
    it (MirrorMaker and its supervisor, started detached over SSH), found by the node's home in their
    command lines. Returns what :meth:`LabEdgeNode.stop` returns."""
    result = node.stop()
    process.kill_all_ours([str(node.home.resolve()) + "/"])
    return result


@dataclass
class Job:
    """One background job of a resource: what it does and its future."""

    action: str
    future: Future[None]

    def state(self) -> str:
        """``running``, ``done`` or ``failed: <why>``."""
        if not self.future.done():
            return "running"
        exc = self.future.exception()
        return "done" if exc is None else f"failed: {exc}"


@dataclass
class Runtime:
    """Starts and stops the brokers and edge nodes of one emulator's home."""

    home: Path
    kafka_version: str = jars.DEFAULT_KAFKA_VERSION
    port_base: int = DEFAULT_PORT_BASE
    edge_port_base: int = DEFAULT_EDGE_PORT_BASE
    edge_backend: str | None = None
    #: HDInsight cluster name -> the plan's alias of it (edge nodes are for that alias).
    aliases: dict[str, str] = field(default_factory=dict)
    _jobs: dict[str, Job] = field(default_factory=dict, init=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False)
    _pool: ThreadPoolExecutor = field(
        default_factory=lambda: ThreadPoolExecutor(max_workers=8, thread_name_prefix="lab-azure"), init=False
    )

    # The things ------------------------------------------------------------------------------------

    def broker(self, name: str, slot: int, region: str = "") -> LabCluster:
        """The lab broker of cluster ``name`` in port slot ``slot``."""
        from kdrtui.lab.azure.gate import gate_port

        port = self.port_base + 10 * slot
        spec = ClusterSpec(name, region, port, port + 1, gate_port=gate_port(port))
        return LabCluster(spec, self.home / "clusters" / name)

    def edge(self, app: str, cluster: str, slot: int) -> LabEdgeNode:
        """The SSH edge node of application ``app`` on cluster ``cluster``, in port slot ``slot``."""
        return LabEdgeNode(
            self.home / "edges" / app,
            port=self.edge_port_base + slot,
            backend=self.edge_backend,
            kafka_libs=jars.distribution(self.kafka_version).libs,
            cluster=self.aliases.get(cluster, cluster),
            name=app,
        )

    # Jobs ------------------------------------------------------------------------------------------

    def submit(self, key: str, action: str, work: Callable[[], None]) -> None:
        """Run ``work`` in the background after the previous job of ``key`` has finished."""
        with self._lock:
            previous = self._jobs.get(key)

            def run() -> None:
                if previous is not None:
                    previous.future.exception()  # wait; its failure is reported by its own state
                try:
                    work()
                except Exception:
                    _log.exception("%s %s failed", action, key)
                    raise

            self._jobs[key] = Job(action, self._pool.submit(run))

    def job(self, key: str) -> Job | None:
        """The latest job of ``key``."""
        with self._lock:
            return self._jobs.get(key)

    def start_broker(self, name: str, slot: int, region: str = "") -> None:
        """Start cluster ``name``'s broker (reusing a running one) and wait until it answers."""
        broker = self.broker(name, slot, region)

        def work() -> None:
            pids: dict[int, int] = {}
            if broker.down_brokers():
                broker.clean_stale()
                pids = broker.start(jars.distribution(self.kafka_version))
            broker.wait_ready(BROKER_READY_S, pids)

        self.submit(f"broker:{name}", "start", work)

    def stop_broker(self, name: str, slot: int, *, purge: bool) -> None:
        """Stop cluster ``name``'s broker; ``purge`` also deletes its data."""
        broker = self.broker(name, slot)

        def work() -> None:
            broker.stop(STOP_TIMEOUT_S)
            if purge:
                shutil.rmtree(broker.home, ignore_errors=True)

        self.submit(f"broker:{name}", "purge" if purge else "stop", work)

    def start_edge(self, app: str, cluster: str, slot: int) -> None:
        """Start application ``app``'s SSH edge node (reusing a running one)."""
        node = self.edge(app, cluster, slot)

        def work() -> None:
            node.start()

        self.submit(f"edge:{app}", "start", work)

    def stop_edge(self, app: str, cluster: str, slot: int, *, purge: bool) -> None:
        """Stop application ``app``'s edge node; ``purge`` also deletes its home (keys are kept
        when they are the ones a plan pins: see :func:`kdrtui.lab.azure.plan.prepare_edge_keys`)."""
        node = self.edge(app, cluster, slot)

        def work() -> None:
            power_off(node)
            if purge:
                shutil.rmtree(node.work_dir, ignore_errors=True)

        self.submit(f"edge:{app}", "purge" if purge else "stop", work)

    def shutdown(self) -> None:
        """Stop taking jobs; running ones finish in the background."""
        self._pool.shutdown(wait=False, cancel_futures=False)
