"""The lab's two sites — ``primary`` (eastus) and ``dr`` (westus2) — and its DR plan as data.

:class:`kdrtui.lab.lab.Lab` writes the plan for its clusters and edge node; the Azure emulator's lab
(:mod:`kdrtui.lab.azure.plan`) starts from the same plan.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from kdrtui.lab.cluster import ClusterSpec
from kdrtui.lab.security import LabSecurity

PRIMARY = "primary"
DR = "dr"
ALIASES = (PRIMARY, DR)

#: Default client ports; each controller listens on the next port up (broker n of a larger cluster
#: on ``port + 2 (n - 1)``).
DEFAULT_PORTS = {PRIMARY: 19092, DR: 29092}

#: Brokers a lab cluster may have: one, or three like an HDInsight cluster's worker nodes.
BROKER_COUNTS = (1, 3)

#: The Azure regions and address spaces the lab's clusters stand in for (the HDInsight guides' pair).
SITES: dict[str, dict[str, str]] = {
    PRIMARY: {"region": "eastus", "vnet_cidr": "10.0.0.0/16", "subnet_cidr": "10.0.0.0/24"},
    DR: {"region": "westus2", "vnet_cidr": "10.1.0.0/16", "subnet_cidr": "10.1.0.0/24"},
}


def render_plan(
    specs: dict[str, ClusterSpec],
    kafka_version: str,
    edge_nodes: Sequence[dict[str, Any]] = (),
    security: LabSecurity | None = None,
    *,
    brokers: int = 1,
) -> dict[str, Any]:
    """The lab's DR plan as data: cold standby from ``primary`` to ``dr``, MirrorMaker 2, prefixed names.

    ``edge_nodes`` are ``[[edge_nodes]]`` entries (:meth:`LabEdgeNode.plan_entry`). A secured lab's plan
    has a ``[security]`` table per cluster: kdrtui connects as the lab's ``admin``, MirrorMaker as its
    ``mirrormaker`` user (SCRAM), and the failover fence is the ACL fence its authorizer allows.
    ``brokers`` per cluster: three give the topics MirrorMaker creates three replicas, as on HDInsight.
    """
    clusters: dict[str, dict[str, Any]] = {
        alias: {
            "region": spec.region,
            "resource_group": f"kdrtui-lab-{spec.region}",
            "vnet_name": f"kdrtui-lab-{spec.region}-vnet",
            "vnet_cidr": SITES[alias]["vnet_cidr"],
            "subnet_cidr": SITES[alias]["subnet_cidr"],
            "bootstrap_servers": spec.bootstrap.split(","),
            "kafka_version": kafka_version,
            "brokers": brokers,
            # Single-broker clusters: every topic MirrorMaker creates gets one replica; three: three.
            "replication_factor": 3 if brokers >= 3 else 1,
        }
        for alias, spec in specs.items()
    }
    # None in plaintext: the lab as it always was.
    secured = security.plan_table("admin", mirrormaker="mirrormaker") if security is not None else None
    if secured is not None:
        for table in clusters.values():
            table["security"] = dict(secured)
    plan: dict[str, Any] = {
        "plan": {"name": "kdrtui-lab", "topology": "cold-standby", "primary": PRIMARY, "secondary": DR},
        "clusters": clusters,
    }
    if edge_nodes:
        plan["edge_nodes"] = list(edge_nodes)
    return plan | {
        "flows": [
            {
                "source": PRIMARY,
                "target": DR,
                "topics": [".*"],
                "topics_exclude": ["__.*", "mm2-.*", ".*[.]internal", "heartbeats", ".*[.]heartbeats"],
                "groups": [".*"],
                "naming": "prefixed",
                "mirrormaker": "mm2",
                # Rehearsal-friendly intervals: a new topic mirrors within seconds, not minutes.
                "refresh_seconds": 5,
                "emit_checkpoints_seconds": 5,
                "flush_seconds": 2,
            }
        ],
        "objectives": {
            "rpo_seconds": 60,
            "rto_seconds": 600,
            "lag_warn_seconds": 30,
            "lag_crit_seconds": 120,
        },
        "switch": {"method": "none"},
        # A rehearsal with traffic running: fence the primary so the drain can finish.
        "failover": {"fence": "acl" if secured is not None else "reject-writes", "drain_timeout_seconds": 60},
    }
