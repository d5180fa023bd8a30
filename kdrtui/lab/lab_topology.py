"""The lab's topology: cold standby (``primary -> dr``, the default) or active-active (both ways).

``kdrtui lab up --topology active-active`` (remembered in ``lab.json``) gives ``primary`` an SSH edge node
of its own, ``primary-edge-1`` (home ``<lab>/edge-primary``, SSH port: dr's first edge port +
:data:`PRIMARY_EDGE_OFFSET`, just above the ports ``--edge-nodes`` can give dr), and writes an
``active-active`` plan with two MirrorMaker 2 flows, both with prefixed names:

- ``primary -> dr`` runs on dr's edge node(s): ``orders`` on primary becomes ``dr``'s ``primary.orders``;
- ``dr -> primary`` runs on ``primary-edge-1``: ``orders`` on dr becomes primary's ``dr.orders``.

Nothing loops: each flow excludes the copies its target made (``primary.*`` is never sent back to primary,
``dr.*`` never back to dr), which MirrorMaker 2's default replication policy refuses anyway; the explicit
pattern keeps kdrtui's lag engine and fences from counting those copies as the flow's topics either.

Switching a running lab from active-active back to cold standby stops ``primary-edge-1`` (its MirrorMaker
first) on the next ``lab up``; ``lab down`` stops it whichever topology the lab has now.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Callable, Collection
from pathlib import Path
from typing import Any

from kdrtui.lab.edge import LabEdgeNode
from kdrtui.lab.lab_edges import MAX_EDGE_NODES
from kdrtui.lab.lab_plan import DR, PRIMARY
from kdrtui.lab.lab_processes import stop_edge_server, stop_mirrormakers
from kdrtui.lab.ports import check_port

COLD_STANDBY = "cold-standby"
ACTIVE_ACTIVE = "active-active"
TOPOLOGIES = (COLD_STANDBY, ACTIVE_ACTIVE)
"""What ``kdrtui lab up --topology`` accepts; the first is the default."""

PRIMARY_EDGE_NAME = "primary-edge-1"
"""The SSH edge node of ``primary`` in an active-active lab, where the ``dr -> primary`` flow runs."""
PRIMARY_EDGE_OFFSET = MAX_EDGE_NODES
"""``primary-edge-1`` listens on dr's first edge port + this (12222 -> 12226): past ``dr-edge-1..4``."""


def topology_of(wanted: str | None, saved: object) -> str:
    """The lab's topology: ``wanted`` (``--topology``), else what ``lab.json`` remembers, else cold standby.

    Raises:
        ValueError: not one of :data:`TOPOLOGIES`.
    """
    topology = wanted or (saved if isinstance(saved, str) else None) or COLD_STANDBY
    if topology not in TOPOLOGIES:
        raise ValueError(f"--topology must be one of {', '.join(TOPOLOGIES)}, not {topology!r}")
    return topology


def primary_edge(first: LabEdgeNode, home: Path, taken: Collection[int]) -> LabEdgeNode:
    """``primary-edge-1``: the first dr node's backend and jars, on its port + :data:`PRIMARY_EDGE_OFFSET`.

    Raises:
        ValueError: its port is outside 1024-65535 or one of ``taken`` (the brokers' ports).
    """
    port = first.port + PRIMARY_EDGE_OFFSET
    check_port(port)
    if port in taken:
        raise ValueError(f"edge node {PRIMARY_EDGE_NAME}'s port {port} is also a Kafka port")
    return LabEdgeNode(
        home / "edge-primary",
        port=port,
        backend=first.backend,
        kafka_libs=first.kafka_libs,
        cluster=PRIMARY,
        name=PRIMARY_EDGE_NAME,
    )


def edges_for(
    topology: str, first: LabEdgeNode, home: Path, taken: Collection[int]
) -> tuple[list[LabEdgeNode], list[LabEdgeNode]]:
    """``(extra, retired)``: the edge nodes the topology adds to dr's, and those it no longer wants but
    that were set up (``primary-edge-1`` of a lab switched back to cold standby): ``up`` and ``down`` stop
    them if they run (:func:`retire`), ``down --purge`` deletes them."""
    node = primary_edge(first, home, taken)
    if topology == ACTIVE_ACTIVE:
        return [node], []
    return [], ([node] if node.home.is_dir() else [])


def retire(nodes: Collection[LabEdgeNode], say: Callable[[str], None]) -> None:
    """Stop the MirrorMakers and the SSH server of each of ``nodes`` that still runs."""
    for node in nodes:
        if node.running() is not None or any(node.work_dir.glob("mm/*/mm.pid")):
            stop_mirrormakers(node, say)
        if node.running() is not None:
            stop_edge_server(node, say)
            say(f"{node.name}: not part of a {COLD_STANDBY} lab")


def _exclude_copies_of(flow: dict[str, Any], alias: str) -> None:
    """Add ``<alias>[.].*`` (the copies ``alias`` made) to the flow's ``topics_exclude``."""
    pattern = f"{re.escape(alias).replace('.', '[.]')}[.].*"
    if pattern not in flow["topics_exclude"]:
        flow["topics_exclude"] = [*flow["topics_exclude"], pattern]


def apply_topology(plan: dict[str, Any], topology: str) -> dict[str, Any]:
    """The lab's plan (from :func:`kdrtui.lab.lab_plan.render_plan`) for ``topology``: unchanged for cold
    standby; for active-active, ``topology = "active-active"`` and the ``dr -> primary`` flow beside
    ``primary -> dr`` (same settings, prefixed names), each excluding its target's copies."""
    if topology != ACTIVE_ACTIVE:
        return plan
    plan = copy.deepcopy(plan)
    plan["plan"]["topology"] = ACTIVE_ACTIVE
    (forward,) = (f for f in plan["flows"] if (f["source"], f["target"]) == (PRIMARY, DR))
    forward["naming"] = "prefixed"
    back = copy.deepcopy(forward) | {"source": DR, "target": PRIMARY}
    _exclude_copies_of(forward, DR)
    _exclude_copies_of(back, PRIMARY)
    plan["flows"] = [forward, back]
    return plan
