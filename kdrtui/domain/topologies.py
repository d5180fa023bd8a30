"""The three DR topologies for Kafka on HDInsight, as the wizard and the docs describe them.

From the source document "Apache Kafka Disaster Recovery in Azure HDInsight" (see the README), with its
errors corrected: the cold standby is the cheapest of the three (its DR cluster is small and idle), not
"High" like the others, and its RPO is the schedule interval plus a batch, not a fixed "Medium".
Every string fits a column of an 80-column table.
"""

from __future__ import annotations

from dataclasses import dataclass

from kdrtui.domain.plan import Topology


@dataclass(frozen=True)
class TopologyInfo:
    """One topology: what it is, what it costs and what it asks of the applications."""

    topology: Topology
    title: str
    """A few words, e.g. "Hot standby"."""
    sentence: str
    """One sentence saying how the two sites share the work."""
    rpo: str
    """Data lost in a disaster (recovery point objective)."""
    rto: str
    """Time until the applications run again (recovery time objective)."""
    cost: str
    """Relative running cost."""
    runs_where: str
    """Where MirrorMaker runs, if anywhere."""
    apps_must: str
    """What the applications must do for the topology to work."""


TOPOLOGIES: tuple[TopologyInfo, ...] = (
    TopologyInfo(
        topology=Topology.HOT_STANDBY,
        title="Hot standby, dual ingest",
        sentence="Apps write to both clusters and both process; nothing is mirrored.",
        rpo="~0 (both clusters have every write)",
        rto="Low: move readers to the standby",
        cost="Highest: two full clusters, all work twice",
        runs_where="No MirrorMaker; no edge nodes",
        apps_must="Write every record to both clusters",
    ),
    TopologyInfo(
        topology=Topology.COLD_STANDBY,
        title="Cold standby, batch replication",
        sentence="Apps write to the primary; MirrorMaker copies it in scheduled batches.",
        rpo="Schedule interval + one batch",
        rto="Higher: start and scale the idle DR site",
        cost="Lowest: a smaller, idle DR cluster",
        runs_where="Edge node of the DR cluster, on schedule",
        apps_must="Use the primary only; switch on failover",
    ),
    TopologyInfo(
        topology=Topology.ACTIVE_ACTIVE,
        title="Active-active, bi-directional",
        sentence="Both sites take writes; MirrorMaker mirrors each into the other.",
        rpo="Mirror lag (seconds)",
        rto="Lowest: the other site is already live",
        cost="High: two full clusters + mirroring",
        runs_where="Edge nodes of both clusters, always on",
        apps_must="Use the nearest site; read prefixed topics",
    ),
)
"""The topologies in the order the wizard offers them."""


def topology_info(topology: Topology) -> TopologyInfo:
    """The description of ``topology``."""
    return next(info for info in TOPOLOGIES if info.topology == topology)
