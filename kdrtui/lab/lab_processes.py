"""Starting and stopping the lab's processes: its brokers (all at once), the edge node's SSH server, and
the MirrorMaker that ``kdrtui mm start`` left running on the edge node.

:class:`kdrtui.lab.lab.Lab` decides what to start or stop; these do it and say what they did.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

from kdrtui.lab.cluster import ClusterError, LabCluster
from kdrtui.lab.edge import EdgeError, LabEdgeNode
from kdrtui.lab.jars import KafkaDistribution
from kdrtui.lab.ports import in_ephemeral_range
from kdrtui.lab.process import is_ours, read_pid, terminate

#: How long ``up`` waits for freshly started brokers to answer.
READY_TIMEOUT_S = 120.0

#: How long ``down`` waits after SIGTERM before SIGKILL.
STOP_TIMEOUT_S = 20.0

Report = Callable[[str], None]
"""Where a step says what it did (one line at a time)."""


class LabError(RuntimeError):
    """The lab could not do what was asked. ``str()`` is the message for the user."""


def clusters_to_start(
    clusters: dict[str, LabCluster], say: Report
) -> tuple[list[LabCluster], dict[str, tuple[str, ...]]]:
    """The clusters with a broker that is not running (stale pid files removed, orphaned brokers
    adopted), and a ``("reused",)`` note per alias of the others."""
    to_start: list[LabCluster] = []
    notes: dict[str, tuple[str, ...]] = {}
    for alias, cluster in clusters.items():
        pid = None if cluster.down_brokers() else cluster.running_pid()
        if pid is None:
            stale = cluster.clean_stale()
            if stale == 0:
                say(f"{alias}: stale pid file removed (it held no readable pid)")
            elif stale is not None:
                say(f"{alias}: stale pid file removed (pid {stale} is gone or is not its broker)")
            adopted = cluster.adopt_orphan()
            if adopted is not None:
                say(f"{alias}: found its broker running without a pid file (pid {adopted}); reusing it")
            pid = None if cluster.down_brokers() else cluster.running_pid()
        if pid is not None:
            notes[alias] = ("reused",)
        else:
            to_start.append(cluster)
    return to_start, notes


def warn_ephemeral_ports(to_start: list[LabCluster], say: Report) -> None:
    """Say which clusters about to start listen on a port a client's own connection can take."""
    for cluster in to_start:
        risky = [p for p in cluster.spec.ports if in_ephemeral_range(p)]
        if risky:
            say(
                f"{cluster.alias}: warning: port {risky[0]} is in the kernel's ephemeral range; "
                "a client retrying while the broker is down can take it (TCP self-connect). "
                "Ports below 32768 avoid this."
            )


def start_clusters(
    to_start: list[LabCluster], dist: KafkaDistribution, kafka_version: str, timeout: float, say: Report
) -> dict[str, tuple[str, ...]]:
    """Format and start the brokers of ``to_start`` all at once, then wait until each answers (within
    ``timeout`` seconds of the first start); a note per alias with how long it took.

    Raises:
        LabError: a broker did not start (one line per broker, with its log).
    """
    notes: dict[str, tuple[str, ...]] = {}
    for cluster in to_start:
        down = cluster.down_brokers()
        which = "" if len(cluster.brokers) == 1 else f" ({len(down)} of {len(cluster.brokers)} brokers)"
        say(f"{cluster.alias}: starting Kafka {kafka_version} on {cluster.spec.bootstrap}{which}")
    started_at = time.monotonic()
    deadline = started_at + timeout
    with ThreadPoolExecutor(max_workers=len(to_start)) as pool:
        # Format and start both JVMs at once, then wait for both: start-up dominates.
        def bring_up(cluster: LabCluster) -> str:
            pids = cluster.start(dist)
            took = cluster.wait_ready(max(1.0, deadline - time.monotonic()), pids)
            return f"started in {time.monotonic() - started_at:.1f} s (ready {took:.1f} s after launch)"

        futures = {c.alias: pool.submit(bring_up, c) for c in to_start}
        errors = []
        for alias, future in futures.items():
            try:
                notes[alias] = (future.result(),)
            except (ClusterError, OSError) as exc:
                errors.append(str(exc))
        if errors:
            raise LabError("\n".join(errors))
    return notes


def start_edge(edge: LabEdgeNode, save_state: Callable[[], None], say: Report) -> tuple[str, ...]:
    """Start the edge node unless it runs with the wanted port and backend; a note for status.

    ``save_state`` records the lab's state before the SSH server starts, so ``down`` finds it.
    """
    found = edge.running()
    if found is None:
        stale = edge.clean_stale()
        if stale == 0:
            say(f"{edge.name}: stale pid file removed (it held no readable pid)")
        elif stale is not None:
            say(f"{edge.name}: stale pid file removed (pid {stale} is gone or is not its SSH server)")
        if edge.adopt_orphan() is not None:
            found = edge.running()
    if found is not None and found[1] == edge.backend and edge.running_port() == edge.port:
        return ("reused",)
    if found is not None:
        say(f"{edge.name}: restarting it ({found[1]} -> {edge.backend}, port {edge.port})")
    save_state()
    say(f"{edge.name}: starting the {edge.backend} SSH edge node on 127.0.0.1:{edge.port}")
    started = time.monotonic()
    try:
        edge.start()
    except EdgeError as exc:
        raise LabError(str(exc)) from exc
    except OSError as exc:
        raise LabError(f"{edge.name}: could not start its SSH server: {exc}") from exc
    return (f"started in {time.monotonic() - started:.1f} s",)


def stop_clusters(clusters: dict[str, LabCluster], say: Report) -> None:
    """Stop every broker at once (SIGTERM, then SIGKILL after :data:`STOP_TIMEOUT_S`)."""
    with ThreadPoolExecutor(max_workers=len(clusters)) as pool:
        futures = {alias: pool.submit(c.stop, STOP_TIMEOUT_S) for alias, c in clusters.items()}
        for alias, future in futures.items():
            stopped = future.result()
            if not stopped:
                say(f"{alias}: was not running")
            for broker in stopped:
                if broker.clean:
                    say(f"{broker.name}: stopped (pid {broker.pid})")
                else:
                    waited = f"{STOP_TIMEOUT_S:.0f} s"
                    say(f"{broker.name}: killed (pid {broker.pid} ignored SIGTERM for {waited})")


def stop_edge_server(edge: LabEdgeNode, say: Report) -> None:
    """Stop the edge node's SSH server."""
    stopped = edge.stop()
    if stopped is None:
        say(f"{edge.name}: was not running")
    else:
        say(
            f"{edge.name}: stopped (pid {stopped[0]})"
            if stopped[1]
            else f"{edge.name}: killed (pid {stopped[0]})"
        )


def stop_mirrormakers(edge: LabEdgeNode, say: Report) -> None:
    """Stop MirrorMaker that ``kdrtui mm start`` left running on the lab's edge node (this machine).

    Its supervisor survives SSH on purpose; without this, ``lab down`` would leave a JVM mirroring
    into clusters that are gone. A scheduled deployment's scheduler first (it would start the next
    batch), then the JVM (its supervisor then records the exit), then the supervisor if it is still
    there.
    """
    for run_dir in sorted(edge.work_dir.glob("mm/*")):
        for name in ("scheduler.pid", "mm.pid", "supervisor.pid"):
            pid = read_pid(run_dir / name)
            if pid is None or not is_ours(pid, [str(run_dir)]):
                continue
            (run_dir / "stop_requested").touch()
            clean = terminate(pid, STOP_TIMEOUT_S)
            if name == "mm.pid":
                say(f"MirrorMaker {run_dir.name}: {'stopped' if clean else 'killed'} (pid {pid})")
