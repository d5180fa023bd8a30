"""The lab's SSH edge nodes of ``dr`` beyond the first (``kdrtui lab up --edge-nodes N``).

Node ``n`` is ``dr-edge-<n>``: an SSH server of the first node's backend on the first node's port + n - 1,
with its own home (``<lab>/edge-<n>``; the first keeps ``<lab>/edge``) and the same Kafka jars. Several
nodes run one MirrorMaker 2 cluster for the lab's flow (KIP-710): the plan gives each its own internal
REST port, ``REST_PORT_BASE`` + its SSH port's distance from 12222 (12222 -> 18083, 12223 -> 18084),
below the ephemeral range like every lab port.
"""

from __future__ import annotations

from collections.abc import Collection
from pathlib import Path
from typing import Any

from kdrtui.lab.edge import EDGE_NAME, LabEdgeNode
from kdrtui.lab.ports import check_port

MAX_EDGE_NODES = 4
"""The most edge nodes ``--edge-nodes`` gives dr (each is an SSH server, each MirrorMaker a JVM)."""
EDGE_NAMES = tuple(f"dr-edge-{n}" for n in range(1, MAX_EDGE_NODES + 1))
"""Every name a lab edge node can have (``dr-edge-1`` is :data:`kdrtui.lab.edge.EDGE_NAME`)."""
REST_PORT_BASE = 18083
"""The internal REST port of the node on SSH port 12222; the others' follow their SSH ports."""

assert EDGE_NAMES[0] == EDGE_NAME


def edge_count(wanted: int | None, saved: object) -> int:
    """How many edge nodes dr gets: ``wanted`` (``--edge-nodes``), else the count ``lab.json`` remembers,
    else 1.

    Raises:
        ValueError: outside 1 to :data:`MAX_EDGE_NODES`.
    """
    count = wanted or (saved if isinstance(saved, int) else None) or 1
    if not 1 <= count <= MAX_EDGE_NODES:
        raise ValueError(f"--edge-nodes must be 1 to {MAX_EDGE_NODES}, not {count}")
    return count


def more_edges(first: LabEdgeNode, count: int, home: Path, taken: Collection[int]) -> list[LabEdgeNode]:
    """``first`` and the ``count - 1`` nodes after it (``dr-edge-2``... in ``home/edge-<n>``).

    Raises:
        ValueError: a node's port is outside 1024-65535 or one of ``taken`` (the brokers' ports), or a node
            beyond ``count`` still runs (the lab had more).
    """
    nodes = [first]
    for n in range(2, count + 1):
        port = first.port + n - 1
        check_port(port)
        if port in taken:
            raise ValueError(f"edge node dr-edge-{n}'s port {port} is also a Kafka port")
        node = LabEdgeNode(
            home / f"edge-{n}",
            port=port,
            backend=first.backend,
            kafka_libs=first.kafka_libs,
            cluster=first.cluster,
            name=f"dr-edge-{n}",
        )
        nodes.append(node)
    for n in range(count + 1, MAX_EDGE_NODES + 1):
        extra = LabEdgeNode(
            home / f"edge-{n}", port=first.port + n - 1, kafka_libs=first.kafka_libs, name=f"dr-edge-{n}"
        )
        # A node left out would run on with nobody to stop it (lab down stops the nodes it knows).
        if extra.home.is_dir() and extra.running() is not None:
            raise ValueError(
                f"dr-edge-{n} is running: `kdrtui lab down` first, then give dr {count} edge node(s)"
            )
    return nodes


def rest_port(node: LabEdgeNode) -> int:
    """The node's MirrorMaker internal REST port (only used with several nodes)."""
    return REST_PORT_BASE + node.port - 12222


def with_rest_ports(entries: list[dict[str, Any]], nodes: list[LabEdgeNode]) -> list[dict[str, Any]]:
    """The plan entries of ``nodes``, each with its own ``mirrormaker_rest_port`` when there are several
    (they all listen on 127.0.0.1)."""
    if len(nodes) == 1:
        return entries
    return [
        {**entry, "mirrormaker_rest_port": rest_port(node)}
        for entry, node in zip(entries, nodes, strict=True)
    ]
