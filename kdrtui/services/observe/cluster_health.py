"""The clusters' health in ``kdrtui status`` and ``kdrtui exporter``: one probe per cluster of the plan (a
metadata request, and ``min.insync.replicas`` of the topics with an under-replicated partition), every
cluster at once.

A DEGRADED cluster (it answers, but a broker is missing or partitions are offline or under min ISR) makes
the exit code at least 1; one that does not answer, 2 (as the mirror lag says already).
"""

from __future__ import annotations

from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

from kdrtui.domain.health import ClusterObservation, Reachability, expect_from_plan, health_block, state_of
from kdrtui.domain.plan import Plan
from kdrtui.services.kafka.probe import KafkaClusterProbe


class ClusterHealthReader:
    """One long-lived probe per cluster of ``plan`` that has bootstrap servers (blocking: a CLI)."""

    def __init__(self, plan: Plan, *, timeout_s: float = 5.0) -> None:
        self._clusters = {alias: c for alias, c in plan.clusters.items() if c.bootstrap_servers}
        self._probes = {
            alias: KafkaClusterProbe(c.bootstrap, timeout_s=timeout_s) for alias, c in self._clusters.items()
        }
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="cluster-health")

    def submit(self) -> Future[dict[str, ClusterObservation]]:
        """:meth:`read` in a thread of its own, so it overlaps the lag read (a cluster that does not answer
        then costs one timeout, not two)."""
        return self._pool.submit(self.read)

    def read(self) -> dict[str, ClusterObservation]:
        """Every cluster's observation now, with the brokers the plan expects."""
        if not self._probes:
            return {}
        with ThreadPoolExecutor(max_workers=len(self._probes)) as pool:
            seen = dict(
                zip(self._probes, pool.map(lambda p: p.observe(), self._probes.values()), strict=True)
            )
        return {alias: expect_from_plan(obs, self._clusters[alias]) for alias, obs in seen.items()}

    def close(self) -> None:
        """Release the clients."""
        self._pool.shutdown(wait=True)
        for probe in self._probes.values():
            probe.close()


def health_json(seen: dict[str, ClusterObservation]) -> dict[str, dict[str, Any]]:
    """``clusters`` of ``kdrtui status --json``: alias -> its health block."""
    return {alias: health_block(obs) for alias, obs in sorted(seen.items())}


def health_lines(seen: dict[str, ClusterObservation]) -> list[str]:
    """One line per cluster that answered (an unreachable one has its ``!`` line already), e.g. ``dr
    DEGRADED  brokers 2/3 · URP 14 · offline 0 · <minISR 0 · controller 1``, then the partitions that
    refuse ``acks=all`` writes."""
    lines: list[str] = []
    for alias, obs in sorted(seen.items()):
        if not obs.ok:
            continue
        lines.append(f"{alias} {str(state_of(obs)).upper()}  {obs.health_line()}")
        if obs.unwritable_count:
            more = obs.unwritable_count - len(obs.unwritable)
            named = ", ".join(obs.unwritable) + (f", … +{more} more" if more else "")
            lines.append(f"  {obs.unwritable_count} partitions offline or under min.insync.replicas: {named}")
    return lines


def health_exit(seen: dict[str, ClusterObservation]) -> int:
    """0 every cluster UP, 1 any DEGRADED, 2 any unreachable."""
    states = {state_of(obs) for obs in seen.values()}
    if Reachability.UNREACHABLE in states:
        return 2
    return 1 if Reachability.DEGRADED in states else 0
