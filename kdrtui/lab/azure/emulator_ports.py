"""The ports the Azure emulator and the lab-azure plan's resources take: its HTTPS port, each cluster's
broker (client port and controller) and the edge node; and the checks before a start that they may be
used.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from kdrtui.lab.azure import plan
from kdrtui.lab.azure.state import resource_summary
from kdrtui.lab.ports import PortsUnavailable, check_free

BROKER_BASE_OPTION = "--broker-base-port"
EDGE_BASE_OPTION = "--edge-base-port"

PortUses = dict[str, tuple[str, list[int]]]
"""What a group of ports is for -> (the option that chose them, the ports), as :func:`check_free` takes."""


def port_uses(port: int, port_base: int, edge_port_base: int) -> PortUses:
    """The ports the emulator and the lab-azure plan's resources take, as :func:`check_free` wants
    them: its HTTPS port, each cluster's broker (client port and controller) and the edge node."""
    clusters = len(plan.NAMES)  # the plan's clusters take the first slots
    # Client port, controller, the gated listener and its NSG gate (kdrtui.lab.azure.gate).
    brokers = [port_base + 10 * i + offset for i in range(clusters) for offset in (0, 1, 2, 3)]
    edges = [edge_port_base]  # its one edge node, plan.EDGE_NAME
    return {
        "the emulator": ("--azure-port", [port]),
        "the clusters' brokers": (f"{BROKER_BASE_OPTION} {port_base}", brokers),
        "the edge nodes": (f"{EDGE_BASE_OPTION} {edge_port_base}", edges),
    }


def held_resources(state_path: Path) -> list[str]:
    """Clusters and edge-node applications the emulator's state (``state_path``) has (each runs on its
    ports)."""
    try:
        saved = json.loads(state_path.read_text(encoding="utf-8"))["resources"].values()
    except (OSError, ValueError, KeyError, AttributeError):
        return []
    summaries = [resource_summary(r) for r in saved]
    return [str(r["name"]) for r in summaries if r.get("kind") in ("cluster", "application")]


def check_ports(
    port: int, port_base: int, edge_port_base: int, saved: dict[str, Any], held: list[str]
) -> None:
    """Before a start: the port bases may change only while no cluster or edge node exists (they
    keep the ports they were given), and the ports they give must be free.

    ``saved`` is what the emulator last ran with (``emulator.json``), ``held`` its clusters and edge
    nodes (:func:`held_resources`).

    Raises:
        PortsUnavailable: one line naming the port, its use and the option that chose it.
    """
    if held:
        for option, key, value in (
            (BROKER_BASE_OPTION, "port_base", port_base),
            (EDGE_BASE_OPTION, "edge_port_base", edge_port_base),
        ):
            before = saved.get(key)
            if before is not None and before != value:
                raise PortsUnavailable(
                    f"{option} {value}: the emulator already runs {', '.join(held)} on ports from "
                    f"{before}; keep {option} {before}, or delete them first (kdrtui destroy "
                    "--plan lab-azure, or kdrtui lab down --purge)"
                )
    uses = port_uses(port, port_base, edge_port_base)
    check_free(uses, check_in_use=False)
    if not held:  # with resources, their own brokers and edge nodes may hold these ports
        check_free({what: use for what, use in uses.items() if what != "the emulator"})
